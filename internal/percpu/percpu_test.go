package percpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// TestExact: concurrent increments from more goroutines than Ps, on
// counters of several blocks, are all counted, and reads while they run
// never go backwards.
func TestExact(t *testing.T) {
	var cells Cells
	cs := make([]Counter, 3*cellsPerBlock/2)
	for i := range cs {
		cs[i] = cells.New()
	}
	if cs[0].b == cs[len(cs)-1].b {
		t.Fatal("one block for more than cellsPerBlock counters")
	}
	const goroutines, per = 16, 2000
	var wg sync.WaitGroup
	var done atomic.Bool
	reads := make(chan error, 1)
	go func() {
		last := uint64(0)
		for !done.Load() {
			v := cs[7].Load()
			if v < last {
				reads <- errBackwards
				return
			}
			last = v
			runtime.Gosched()
		}
		reads <- nil
	}()
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range per {
				cs[(g+k)%len(cs)].Inc()
				cs[7].Add(2)
			}
		}()
	}
	wg.Wait()
	done.Store(true)
	if err := <-reads; err != nil {
		t.Fatal(err)
	}
	total := uint64(0)
	for i, c := range cs {
		v := c.Load()
		if i == 7 {
			v -= 2 * goroutines * per
		}
		total += v
	}
	if total != goroutines*per {
		t.Errorf("counted %d increments, want %d", total, goroutines*per)
	}
}

type backwards struct{}

func (backwards) Error() string { return "a read went backwards" }

var errBackwards error = backwards{}

// TestShardsApart: two shards' copies of a block never share a cache
// line, and a block of n counters has exactly n.
func TestShardsApart(t *testing.T) {
	for _, n := range []int{1, 7, 8, 9, 64} {
		b := NewBlock(n)
		if b.Len() != n || b.stride < n+lineWords || b.stride%lineWords != 0 {
			t.Errorf("n %d: stride %d", n, b.stride)
		}
		if len(b.c) != (b.mask+1)*b.stride {
			t.Errorf("n %d: %d words for %d shards", n, len(b.c), b.mask+1)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("no panic for an index out of range")
		}
	}()
	NewBlock(3).Add(3, 1)
}

// BenchmarkInc compares a Counter with one atomic counter, both bumped
// from every P; cpu-ns/op is the process's CPU time per increment (the
// machine may be shared: wall time per op says little).
func BenchmarkInc(b *testing.B) {
	b.Run("percpu", func(b *testing.B) {
		var cells Cells
		c := cells.New()
		parallelCPU(b, c.Inc)
	})
	b.Run("atomic", func(b *testing.B) {
		var c atomic.Uint64
		parallelCPU(b, func() { c.Add(1) })
	})
}

func parallelCPU(b *testing.B, f func()) {
	t0 := cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f()
		}
	})
	b.ReportMetric(float64(cpuTime(b)-t0)/float64(b.N), "cpu-ns/op")
}

func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
