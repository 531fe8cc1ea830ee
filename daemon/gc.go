package daemon

import (
	"context"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// DaemonGCPercent is the smallest garbage collector target `express serve`
// runs with unless GOGC is set: the live heap is small (memory is bounded
// by the in-flight limits) while the allocation rate is high, so collecting
// less often trades a little memory for much less GC work per record.
const DaemonGCPercent = 200

// DaemonMinHeap is the heap size below which `express serve` does not
// collect. A daemon keeping up holds a few MiB of live data while it
// allocates 200 MB/s or more: with GOGC=200 alone the collector would run
// some 25 times a second and the process's size would follow every small
// change of its live heap. With a floor the collector runs a few times a
// second and the resident size stays about the floor plus the runtime's own.
const DaemonMinHeap = 64 << 20

// DaemonMemoryLimit is the soft memory limit `express serve` sets unless
// GOMEMLIMIT is set: with GOGC=200 the heap may grow to three times the
// live data before a collection, so a burst of large records (bounded by
// the in-flight and build limits) could take the process past a GiB; near
// the limit the collector runs more often instead (it never takes more
// than half the CPU for it). A daemon keeping up stays far below it.
const DaemonMemoryLimit = 768 << 20

// liftMemoryLimit removes the soft memory limit TuneGC set
// (DaemonMemoryLimit; a GOMEMLIMIT of the user's stays): an embedded
// broker keeps its records in this process's heap, up to its retention
// per partition of every topic, so the live heap may pass the limit, and
// the collector would then run without pause (measured in bench/e2e/run.sh:
// the broker, holding 1–2 GB, went from under half a core to a whole one,
// its profile mostly the collector's, and ten minutes at 45,000 records/s
// had a p99 of 97 ms with the limit and 58 ms without).
func liftMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" && debug.SetMemoryLimit(-1) == DaemonMemoryLimit {
		debug.SetMemoryLimit(math.MaxInt64)
	}
}

// gcTuneInterval is how often the live heap is read to keep the floor.
const gcTuneInterval = 100 * time.Millisecond

// TuneGC applies the daemon's GC setting unless the GOGC environment
// variable is set: a GC percent of DaemonGCPercent, raised while the live
// heap is small so that the heap goal stays at least DaemonMinHeap (the GC
// percent is re-read from the live heap every 100 ms until ctx is done,
// then reset to DaemonGCPercent). GOMEMLIMIT, when set, still caps the
// heap. The daemon calls it at start; the benchmarks call it too, so that
// they measure the engine as the daemon runs it.
func TuneGC(ctx context.Context) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(DaemonMemoryLimit)
	}
	if os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(DaemonGCPercent)
	go keepHeapFloor(ctx, DaemonMinHeap, gcTuneInterval)
}

// keepHeapFloor sets the GC percent from the live heap every interval
// until ctx is done.
func keepHeapFloor(ctx context.Context, floor uint64, interval time.Duration) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/free:bytes"}}
	var rel releaser
	t := time.NewTicker(interval)
	defer t.Stop()
	cur := DaemonGCPercent
	defer func() { debug.SetGCPercent(DaemonGCPercent) }()
	for {
		metrics.Read(sample)
		// Zero until the first collection: the runtime's first goal
		// (4 MiB at 100%) times a percent made for a zero heap would be
		// hundreds of MiB.
		if sample[0].Value.Kind() == metrics.KindUint64 && sample[0].Value.Uint64() > 0 {
			// change it only when it moves by a tenth: each change
			// recomputes the collector's pacing
			if p := gcPercentFor(sample[0].Value.Uint64(), floor); p > cur+cur/10 || p < cur-cur/10 {
				debug.SetGCPercent(p)
				cur = p
			}
			if sample[1].Value.Kind() == metrics.KindUint64 && rel.due(time.Now(), sample[1].Value.Uint64(), 2*floor) {
				debug.FreeOSMemory()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// gcPercentFor returns the GC percent whose heap goal, for a live heap of
// live bytes, is floor: never less than DaemonGCPercent, and at most 9900
// (a goal of 100 times the live heap).
func gcPercentFor(live, floor uint64) int {
	live = max(live, floor/100)
	return max(int(floor*100/live)-100, DaemonGCPercent)
}

// releaser decides when to hand the heap's free memory back to the system
// at once: after a backlog (or one large record) the heap holds hundreds of
// MiB it no longer uses, which the runtime's background scavenger returns
// only slowly, so the resident size would stay at the peak for many
// minutes.
type releaser struct {
	since, last time.Time // free over the bound since; last release
}

// releaseAfter is how long free memory must stay over the bound, and
// releaseEvery the least time between two releases (each is a full
// collection).
const (
	releaseAfter = 5 * time.Second
	releaseEvery = 30 * time.Second
)

// due reports whether to release now, given the heap's free bytes.
func (r *releaser) due(now time.Time, free, floor uint64) bool {
	if free <= floor {
		r.since = time.Time{}
		return false
	}
	if r.since.IsZero() {
		r.since = now
	}
	if now.Sub(r.since) < releaseAfter || now.Sub(r.last) < releaseEvery {
		return false
	}
	r.last, r.since = now, time.Time{}
	return true
}
