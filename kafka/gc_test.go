package kafka

import (
	"context"
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
