// Package machtab keeps a small table per compiled machine for hooks on
// the engine's hot path (kafka's state counts, the console's edge
// counts): a hook finds the table of the machine it is called for with
// one atomic load and one pointer comparison, and indexes it by
// State.ID, with no map lookup.
//
// The tables are bounded: at most Max are kept, the one made current
// least recently is dropped first. A server that recompiles a machine on
// every UpdateStateMachine therefore keeps at most Max machines (and
// their tables) reachable from here, not one per compile. A table must
// hold no count of its own, only references to counters kept elsewhere
// (by state name, by pair of names): dropping it then loses nothing, and
// an execution of a dropped machine still running simply makes its table
// again.
package machtab

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// DefaultMax is the number of tables kept when Tables.Max is 0: more
// versions of one machine than that running at once are unusual (each
// UpdateStateMachine's executions end within the Express five minutes).
const DefaultMax = 8

// Tables holds the tables of the machines of type M, each a T made by
// New. Safe for concurrent use once New (and Max) are set; the zero
// Tables with New set is ready to use.
type Tables[M, T any] struct {
	// New makes the table of machine m. It is called with the Tables'
	// lock held, so a caller may take its own lock inside it (the order
	// is always Tables first).
	New func(m *M) T
	// Max bounds the tables kept (0: DefaultMax).
	Max int

	cur  unsafe.Pointer // *Entry[M, T]: atomic.Pointer's generic Load would keep Get from being inlined
	mu   sync.Mutex
	list []*Entry[M, T] // the one made current most recently last
	made int
}

// Entry is the table T of machine M. Both are set once and never
// changed; T's own fields may be (copy-on-write slices, atomics).
type Entry[M, T any] struct {
	M *M
	T T
}

// Cur returns the entry made current last (nil before the first Get).
// A hook calls Get only when Cur's machine is not its own: small enough
// to be inlined, it costs an atomic load and a comparison; Get, a
// generic method with a slow path, is a call.
func (s *Tables[M, T]) Cur() *Entry[M, T] {
	return (*Entry[M, T])(atomic.LoadPointer(&s.cur))
}

// Get returns the entry of machine m, making its table on first use, and
// makes it the one tried first. Lock-free when m is the machine of the
// previous call.
func (s *Tables[M, T]) Get(m *M) *Entry[M, T] {
	if e := (*Entry[M, T])(atomic.LoadPointer(&s.cur)); e != nil && e.M == m {
		return e
	}
	return s.get(m)
}

func (s *Tables[M, T]) get(m *M) *Entry[M, T] {
	s.mu.Lock()
	defer s.mu.Unlock()
	var e *Entry[M, T]
	for i, x := range s.list {
		if x.M == m {
			e = x
			copy(s.list[i:], s.list[i+1:])
			s.list = s.list[:len(s.list)-1]
			break
		}
	}
	if e == nil {
		e = &Entry[M, T]{M: m, T: s.New(m)}
		s.made++
		if n := len(s.list) - s.max() + 1; n > 0 {
			// drop the n least recent; the array keeps no reference to
			// their machines
			k := copy(s.list, s.list[n:])
			clear(s.list[k:])
			s.list = s.list[:k]
		}
	}
	s.list = append(s.list, e)
	atomic.StorePointer(&s.cur, unsafe.Pointer(e))
	return e
}

func (s *Tables[M, T]) max() int {
	if s.Max > 0 {
		return s.Max
	}
	return DefaultMax
}

// Len returns the number of tables kept and the number made so far (a
// table made again after it was dropped counts again).
func (s *Tables[M, T]) Len() (kept, made int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.list), s.made
}
