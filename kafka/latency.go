package kafka

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// latency is a lock-free log-linear histogram of durations (4 sub-buckets
// per power of two, so quantiles are within 25%).
type latency struct {
	b [256]atomic.Int64
}

func latIndex(ns int64) int {
	if ns < 4 {
		return int(max(ns, 0))
	}
	u := uint64(ns)
	n := bits.Len64(u) // >= 3
	sub := (u >> (n - 3)) & 3
	return n*4 + int(sub)
}

func latUpper(i int) int64 {
	if i < 4 {
		return int64(i)
	}
	n, sub := i/4, uint64(i%4)
	return int64((4 + sub + 1) << (n - 3))
}

func (l *latency) observe(ns int64) { l.b[latIndex(ns)].Add(1) }

func (l *latency) quantile(q float64, reset bool) time.Duration {
	var counts [256]int64
	var total int64
	for i := range l.b {
		if reset {
			counts[i] = l.b[i].Swap(0)
		} else {
			counts[i] = l.b[i].Load()
		}
		total += counts[i]
	}
	if total == 0 {
		return 0
	}
	rank := int64(q*float64(total) + 0.5)
	rank = max(rank, 1)
	var acc int64
	for i, c := range counts {
		acc += c
		if acc >= rank {
			return time.Duration(latUpper(i))
		}
	}
	return 0
}
