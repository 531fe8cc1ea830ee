package api

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stepstream/express/internal/jsonv"
)

// metrics are the API's Prometheus metrics; nil fields when no registry
// was given.
type metrics struct {
	requests *prometheus.CounterVec
	syncDur  *prometheus.HistogramVec

	mu       sync.Mutex
	counters map[[2]string]prometheus.Counter // cached children: WithLabelValues hashes every time
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{counters: map[[2]string]prometheus.Counter{}}
	if reg == nil {
		return m, nil
	}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "express_api_requests_total",
		Help: "Step Functions API requests, by operation and outcome (ok, or the AWS error code answered)."}, []string{"operation", "outcome"})
	m.syncDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "express_api_sync_execution_duration_seconds",
		Help:    "Duration of StartSyncExecution executions, by state machine and status.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}}, []string{"state_machine", "status"})
	for _, c := range []prometheus.Collector{m.requests, m.syncDur} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// request counts one request.
func (m *metrics) request(op, outcome string) {
	if m.requests == nil {
		return
	}
	k := [2]string{op, outcome}
	m.mu.Lock()
	c := m.counters[k]
	if c == nil {
		if len(m.counters) >= maxLabelPairs {
			k[1] = "other"
			op, outcome = k[0], k[1]
		}
		if c = m.counters[k]; c == nil {
			c = m.requests.WithLabelValues(op, outcome)
			m.counters[k] = c
		}
	}
	m.mu.Unlock()
	c.Inc()
}

// maxLabelPairs bounds the operation/outcome pairs: operations and error
// codes are a fixed set, this is a guard.
const maxLabelPairs = 512

// syncDone observes a sync execution's duration.
func (m *metrics) syncDone(sm, status string, d time.Duration) {
	if m.syncDur == nil {
		return
	}
	m.syncDur.WithLabelValues(sm, status).Observe(d.Seconds())
}

func appendJSONString(b []byte, s string) []byte { return jsonv.AppendString(b, s) }
