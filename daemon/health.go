package daemon

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/stepstream/express/kafka"
)

// watchdog tells whether a processor is stuck: it has work (lag or records
// in flight) but has neither admitted nor finished a record for longer
// than the bound. An idle processor, or one not yet connected, is healthy.
type watchdog struct {
	procs []*kafka.Processor
	after time.Duration
	now   func() time.Time

	mu    sync.Mutex
	state []progressMark
}

type progressMark struct {
	consumed, finished int64
	at                 time.Time
}

func newWatchdog(procs []*kafka.Processor, after time.Duration) *watchdog {
	w := &watchdog{procs: procs, after: after, now: time.Now, state: make([]progressMark, len(procs))}
	w.check()
	return w
}

// run samples the processors until ctx is done.
func (w *watchdog) run(ctx context.Context) {
	t := time.NewTicker(min(time.Second, w.after/4))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.check()
		}
	}
}

// check records progress: the time of the last change of each processor's
// counters, or now when it is idle or not connected.
func (w *watchdog) check() {
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, p := range w.procs {
		s := p.Stats()
		c, f := s.Consumed.Load(), s.Finished.Load()
		m := &w.state[i]
		idle := !p.Ready() || (p.InFlight() == 0 && p.Lag() == 0)
		if idle || c != m.consumed || f != m.finished || m.at.IsZero() {
			m.consumed, m.finished, m.at = c, f, now
		}
	}
}

// stuck returns why a processor is stuck, or "".
func (w *watchdog) stuck() string {
	w.check()
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, p := range w.procs {
		if d := now.Sub(w.state[i].at); d > w.after {
			return fmt.Sprintf("workflow %q is stuck: no record admitted or finished for %s with %d in flight and a lag of %d",
				p.Workflow().Name(), d.Round(time.Second), p.InFlight(), p.Lag())
		}
	}
	return ""
}
