package daemon

import (
	"context"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		live, floor uint64
		want        int
	}{
		{4 * mib, 64 * mib, 1500},  // goal 4 MiB * 16 = 64 MiB
		{16 * mib, 64 * mib, 300},  // goal 64 MiB
		{21 * mib, 64 * mib, 204},  // just above the floor's reach
		{32 * mib, 64 * mib, 200},  // never below DaemonGCPercent
		{500 * mib, 64 * mib, 200}, // a backlog: GOGC=200 as without a floor
		{0, 64 * mib, 9900},        // before the first collection
	} {
		if got := gcPercentFor(tc.live, tc.floor); got != tc.want {
			t.Errorf("gcPercentFor(%d MiB, %d MiB) = %d, want %d", tc.live/mib, tc.floor/mib, got, tc.want)
		}
	}
}

// TestKeepHeapFloor: with a live heap far below the floor the GC percent is
// raised; when the loop stops it is back at DaemonGCPercent.
func TestKeepHeapFloor(t *testing.T) {
	prev := debug.SetGCPercent(DaemonGCPercent)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	runtime.GC() // a live heap of a few MiB at most
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { keepHeapFloor(ctx, 1<<30, time.Millisecond); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p := gogc()
		if p > 1000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GC percent %d: the floor was not applied", p)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if p := gogc(); p != DaemonGCPercent {
		t.Errorf("GC percent %d after the loop stopped, want %d", p, DaemonGCPercent)
	}
}

func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// TestReleaserDue: free heap memory is handed back once it has stayed over
// the bound for releaseAfter, and at most every releaseEvery.
func TestReleaserDue(t *testing.T) {
	const mib = 1 << 20
	var r releaser
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at   time.Duration
		free uint64
		want bool
	}{
		{0, 10 * mib, false},                // under the bound
		{time.Second, 500 * mib, false},     // over it, since now
		{3 * time.Second, 500 * mib, false}, // not for releaseAfter yet
		{4 * time.Second, 10 * mib, false},  // back under: starts over
		{5 * time.Second, 500 * mib, false},
		{10 * time.Second, 500 * mib, true}, // over for 5 s
		{11 * time.Second, 500 * mib, false},
		{20 * time.Second, 500 * mib, false}, // over again, but released 10 s ago
		{41 * time.Second, 500 * mib, true},  // 31 s after the last release
	}
	for i, s := range steps {
		if got := r.due(t0.Add(s.at), s.free, 128*mib); got != s.want {
			t.Fatalf("step %d (%v, %d MiB free): due %v, want %v", i, s.at, s.free/mib, got, s.want)
		}
	}
}

// TestEmbeddedLiftsMemoryLimit: an embedded broker keeps its records in the
// process's heap, so starting one removes the soft memory limit TuneGC set
// (below it the collector would run without pause); a limit the user set
// (GOMEMLIMIT, or any other value) stays.
func TestEmbeddedLiftsMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	for _, tc := range []struct {
		name   string
		env    string
		before int64
		want   int64
	}{
		{"TuneGC's limit", "", DaemonMemoryLimit, math.MaxInt64},
		{"GOMEMLIMIT set", "768MiB", DaemonMemoryLimit, DaemonMemoryLimit},
		{"another limit", "", 2 << 30, 2 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMEMLIMIT", tc.env)
			debug.SetMemoryLimit(tc.before)
			c, err := StartEmbedded(Embedded{Partitions: 1}, "t")
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			if got := debug.SetMemoryLimit(-1); got != tc.want {
				t.Errorf("memory limit %d, want %d", got, tc.want)
			}
		})
	}
}
