package percpu

import (
	"math"
	"time"
)

// Histogram counts durations into buckets with one copy of its counters
// per P, like Block: an observation from any core adds to its own P's
// copy, where a prometheus.Histogram makes every core write the same
// counters (the hooks observe one per Task call and one per execution).
// The sum is kept in nanoseconds, exactly. Safe for concurrent use.
type Histogram struct {
	bounds []float64 // upper bounds, seconds, ascending (le: inclusive)
	ns     []int64   // the same in nanoseconds
	// b holds a count per bucket (len(bounds), then +Inf) and the sum
	b *Block
}

// NewHistogram returns an empty histogram with the given upper bounds in
// seconds, which must ascend.
func NewHistogram(bounds []float64) *Histogram {
	ns := make([]int64, len(bounds))
	for i, s := range bounds {
		if i > 0 && s <= bounds[i-1] {
			panic("percpu: histogram bounds must ascend")
		}
		ns[i] = int64(math.Round(s * 1e9)) // 0.3 s is 3e8 ns, not 299999999
	}
	return &Histogram{bounds: bounds, ns: ns, b: NewBlock(len(bounds) + 2)}
}

// Observe counts d (a negative d counts as 0) in the first bucket whose
// bound is at least d.
func (h *Histogram) Observe(d time.Duration) {
	n := max(int64(d), 0)
	i := 0
	for i < len(h.ns) && n > h.ns[i] {
		i++ // durations are short: the first buckets are the likely ones
	}
	h.b.add2(i, 1, len(h.ns)+1, uint64(n))
}

// Snapshot is a histogram's state: the observations' count and sum, and
// per bound the cumulative count of observations at most that bound.
type Snapshot struct {
	Count      uint64
	Sum        float64 // seconds
	Cumulative map[float64]uint64
}

// Snapshot reads the histogram. Count is the sum of the buckets read, so
// the two always agree; observations running meanwhile are in it or not.
func (h *Histogram) Snapshot() Snapshot {
	s := Snapshot{Cumulative: make(map[float64]uint64, len(h.bounds))}
	for i, le := range h.bounds {
		s.Count += h.b.Load(i)
		s.Cumulative[le] = s.Count
	}
	s.Count += h.b.Load(len(h.bounds))
	s.Sum = float64(h.b.Load(len(h.bounds)+1)) / 1e9
	return s
}
