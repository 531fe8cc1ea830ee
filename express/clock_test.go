package express

import (
	"context"
	"testing"
	"time"
)

// TestRealClockStartStop: on the real clock an execution's start and stop
// fall between time.Now read before and after it, on the monotonic clock
// and on the wall clock, and the transitions of the root scope (counted
// without atomic operations) are all counted.
func TestRealClockStartStop(t *testing.T) {
	pass := func(next int) *State {
		return &State{Name: "P", Type: "Pass", Exec: func(s *Scope, in any) (any, int, error) { return in, next, nil }}
	}
	m := &Machine{States: []*State{pass(1), pass(2), pass(End)}}
	w := NewWorkflow(m, Options{Name: "clock"})
	for range 3 {
		t0 := time.Now()
		res := w.Execute(context.Background(), map[string]any{}, ExecOptions{})
		t1 := time.Now()
		if res.Status != Succeeded || res.Transitions != 3 {
			t.Fatalf("%s after %d transitions, want SUCCEEDED after 3", res.Status, res.Transitions)
		}
		if res.Start.Before(t0) || res.Stop.Before(res.Start) || res.Stop.After(t1) {
			t.Errorf("monotonic: start %v stop %v not within %v .. %v", res.Start, res.Stop, t0, t1)
		}
		// the wall readings alone, to the microsecond (time.Now reads the
		// two clocks a few nanoseconds apart)
		w0, w1 := t0.Round(0).Add(-time.Microsecond), t1.Round(0).Add(time.Microsecond)
		if start, stop := res.Start.Round(0), res.Stop.Round(0); start.Before(w0) || stop.After(w1) || stop.Before(start) {
			t.Errorf("wall: start %v stop %v not within %v .. %v", start, stop, w0, w1)
		}
	}
}
