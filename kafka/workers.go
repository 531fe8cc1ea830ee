package kafka

import (
	"sync"
	"sync/atomic"

	"github.com/stepstream/express/express"
)

// workers is the processor's execution pool: a fixed number of goroutines
// taking slots from an unbounded FIFO. Submitting never blocks, so the poll
// loop can admit records while holding the partition map's read lock even
// when every worker is stuck in a Task that never answers: a rebalance, a
// shutdown or a metrics scrape then still gets the lock. The queue's length
// is bounded by the admission limits (MaxInFlight), not by the pool.
type workers struct {
	run func(*slot, *express.Result)

	mu     sync.Mutex
	cond   sync.Cond
	q      []*slot // ring
	head   int
	n      int
	closed bool

	size int
	busy atomic.Int64
	live atomic.Int64
}

// newWorkers makes a pool of size workers; start starts them.
func newWorkers(size int, run func(*slot, *express.Result)) *workers {
	w := &workers{run: run, size: size, q: make([]*slot, 256)}
	w.cond.L = &w.mu
	return w
}

// start starts the workers.
func (w *workers) start() {
	for range w.size {
		w.live.Add(1)
		go w.loop()
	}
}

// submit queues s; it reports false when the pool is closed.
func (w *workers) submit(s *slot) bool {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return false
	}
	if w.n == len(w.q) {
		w.q, w.head = growRing(w.q, w.head), 0
	}
	w.q[(w.head+w.n)%len(w.q)] = s
	w.n++
	w.mu.Unlock()
	w.cond.Signal()
	return true
}

// submitAll queues every slot of ss; it reports false (queuing none) when
// the pool is closed.
func (w *workers) submitAll(ss []*slot) bool {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return false
	}
	for _, s := range ss {
		if w.n == len(w.q) {
			w.q, w.head = growRing(w.q, w.head), 0
		}
		w.q[(w.head+w.n)%len(w.q)] = s
		w.n++
	}
	w.mu.Unlock()
	for range min(len(ss), w.size) {
		w.cond.Signal()
	}
	return true
}

// queued is the number of slots waiting for a worker.
func (w *workers) queued() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

func (w *workers) loop() {
	defer w.live.Add(-1)
	// the worker's executions' results: one, reused (a slot's would be
	// memory last touched MaxInFlight records ago)
	res := new(express.Result)
	for {
		w.mu.Lock()
		for w.n == 0 && !w.closed {
			w.cond.Wait()
		}
		if w.n == 0 {
			w.mu.Unlock()
			return
		}
		s := w.q[w.head]
		w.q[w.head] = nil
		w.head = (w.head + 1) % len(w.q)
		w.n--
		w.mu.Unlock()
		w.busy.Add(1)
		w.run(s, res)
		w.busy.Add(-1)
	}
}

// close refuses further submissions; workers exit once the queue is empty
// (a worker stuck in an execution exits when it returns). It does not wait.
func (w *workers) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cond.Broadcast()
}
