package kafka

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stepstream/express/internal/percpu"
)

// durationVec is a Prometheus histogram of durations by label values, like
// a prometheus.HistogramVec, whose children count per P
// (percpu.Histogram) and are read at scrape time. The hooks observe one
// Task duration per Task call and one execution duration per record, from
// every core: a prometheus.Histogram makes them all write the same
// counters (4.3% of the daemon's CPU at 140,000 records/s, BENCHMARKS.md).
type durationVec struct {
	desc   *prometheus.Desc
	bounds []float64

	mu   sync.Mutex
	kids map[string]*durationKid // by label values joined with "\xff"
}

type durationKid struct {
	values []string
	h      *percpu.Histogram
}

func newDurationVec(name, help string, bounds []float64, labels ...string) *durationVec {
	return &durationVec{desc: prometheus.NewDesc(name, help, labels, nil), bounds: bounds, kids: map[string]*durationKid{}}
}

// with returns the child of the label values, made on first use; callers
// keep it (a lookup takes the lock).
func (v *durationVec) with(values ...string) *percpu.Histogram {
	k := strings.Join(values, "\xff")
	v.mu.Lock()
	defer v.mu.Unlock()
	kid := v.kids[k]
	if kid == nil {
		kid = &durationKid{values: append([]string(nil), values...), h: percpu.NewHistogram(v.bounds)}
		v.kids[k] = kid
	}
	return kid.h
}

// Describe implements prometheus.Collector.
func (v *durationVec) Describe(ch chan<- *prometheus.Desc) { ch <- v.desc }

// Collect implements prometheus.Collector.
func (v *durationVec) Collect(ch chan<- prometheus.Metric) {
	v.mu.Lock()
	kids := make([]*durationKid, 0, len(v.kids))
	for _, k := range v.kids {
		kids = append(kids, k)
	}
	v.mu.Unlock()
	for _, k := range kids {
		s := k.h.Snapshot()
		ch <- prometheus.MustNewConstHistogram(v.desc, s.Count, s.Sum, s.Cumulative, k.values...)
	}
}
