package console

import (
	"sort"
	"strconv"

	dto "github.com/prometheus/client_model/go"
)

// figures are one workflow's values read from the metrics registry.
type figures struct {
	exits, errors, retries map[string]float64 // by state
	executions             map[string]float64 // by status
	in, out, dlq           float64
	lag                    []Lag
	pool                   Pool
}

// Lag is one partition's consumer lag.
type Lag struct {
	Topic     string  `json:"topic"`
	Partition int     `json:"partition"`
	Lag       float64 `json:"lag"`
	// Seconds is the age of the oldest unfinished record.
	Seconds float64 `json:"seconds"`
}

// Pool is the worker pool's use.
type Pool struct {
	Busy     float64 `json:"busy"`
	Capacity float64 `json:"capacity"`
	Queued   float64 `json:"queued"`
	InFlight float64 `json:"inflight"`
}

func newFigures() *figures {
	return &figures{exits: map[string]float64{}, errors: map[string]float64{}, retries: map[string]float64{}, executions: map[string]float64{}}
}

// gather reads the series the console shows from the registry, per
// workflow.
func (c *Console) gather() map[string]*figures {
	out := map[string]*figures{}
	if c.o.Gatherer == nil {
		return out
	}
	fams, _ := c.o.Gatherer.Gather() // a partial result is still worth showing
	of := func(labels map[string]string) *figures {
		f := out[labels["workflow"]]
		if f == nil {
			f = newFigures()
			out[labels["workflow"]] = f
		}
		return f
	}
	lags := map[string]map[[2]string]*Lag{}
	for _, fam := range fams {
		name := fam.GetName()
		for _, m := range fam.Metric {
			l := labelMap(m)
			v := value(m)
			switch name {
			case "express_state_exits_total":
				of(l).exits[l["state"]] += v
			case "express_state_errors_total":
				of(l).errors[l["state"]] += v
			case "express_retries_total":
				of(l).retries[l["state"]] += v
			case "express_executions_total":
				of(l).executions[l["status"]] += v
			case "express_records_consumed_total":
				of(l).in += v
			case "express_output_records_total":
				of(l).out += v
			case "express_dlq_records_total":
				of(l).dlq += v
			case "express_pool_busy":
				of(l).pool.Busy = v
			case "express_pool_capacity":
				of(l).pool.Capacity = v
			case "express_pool_queued":
				of(l).pool.Queued = v
			case "express_inflight_records":
				of(l).pool.InFlight = v
			case "express_consumer_lag", "express_consumer_lag_seconds":
				wl := lags[l["workflow"]]
				if wl == nil {
					wl = map[[2]string]*Lag{}
					lags[l["workflow"]] = wl
				}
				k := [2]string{l["topic"], l["partition"]}
				g := wl[k]
				if g == nil {
					p, _ := strconv.Atoi(l["partition"])
					g = &Lag{Topic: l["topic"], Partition: p}
					wl[k] = g
				}
				if name == "express_consumer_lag" {
					g.Lag = v
				} else {
					g.Seconds = v
				}
			}
		}
	}
	for wf, wl := range lags {
		f := of(map[string]string{"workflow": wf})
		for _, g := range wl {
			f.lag = append(f.lag, *g)
		}
		sort.Slice(f.lag, func(i, j int) bool {
			if f.lag[i].Topic != f.lag[j].Topic {
				return f.lag[i].Topic < f.lag[j].Topic
			}
			return f.lag[i].Partition < f.lag[j].Partition
		})
	}
	return out
}

func labelMap(m *dto.Metric) map[string]string {
	l := make(map[string]string, len(m.Label))
	for _, p := range m.Label {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}
