// Package percpu provides counters, and histograms of durations, that many
// goroutines increment without writing the same cache line: each counter
// has one copy per P (the runtime's processors, GOMAXPROCS of them), an
// increment adds to the copy of the P it runs on, and a read sums the
// copies. Reads are exact up to the increments running at the same time;
// none is lost.
//
// Hooks on the engine's hot path count per state and per edge with them
// (kafka.Metrics, console.Workflow), and observe Task and execution
// durations (kafka.Metrics): a single atomic counter bumped from every
// core costs a cache-line transfer per increment.
package percpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	_ "unsafe" // go:linkname
)

// procPin pins the goroutine to its P and returns the P's id (sync.Pool
// uses the same runtime function; the runtime keeps it for linkname, see
// go.dev/issue/67401). procUnpin undoes it.
//
//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// lineWords is the number of uint64 in a cache line.
const lineWords = 8

// Block is a fixed number of counters, one copy of them per shard. Safe
// for concurrent use.
type Block struct {
	n      int
	stride int // words between two shards' copies: n rounded up to a line, plus a line
	mask   int // shards-1
	c      []uint64
}

// NewBlock returns n counters at zero, with one copy per P (GOMAXPROCS
// now, rounded up to a power of two). Should GOMAXPROCS grow later, Ps
// share copies: still exact, only slower.
func NewBlock(n int) *Block {
	shards := 1
	for shards < runtime.GOMAXPROCS(0) {
		shards *= 2
	}
	// A whole free line between two shards' copies: they never share a
	// line, however the slice is aligned.
	stride := (n+lineWords-1)/lineWords*lineWords + lineWords
	return &Block{n: n, stride: stride, mask: shards - 1, c: make([]uint64, shards*stride)}
}

// Len is the number of counters.
func (b *Block) Len() int { return b.n }

// Add adds d to counter i (0 <= i < Len), in the copy of the P the
// goroutine runs on (pinned to it meanwhile). The add is atomic, so Ps
// beyond the shards made (GOMAXPROCS grew) may share a copy.
func (b *Block) Add(i int, d uint64) {
	if uint(i) >= uint(b.n) {
		panic("percpu: counter index out of range")
	}
	p := procPin()
	atomic.AddUint64(&b.c[(p&b.mask)*b.stride+i], d)
	procUnpin()
}

// add2 adds di to counter i and dj to counter j of one P's copy: one pin
// for two counters that change together (a histogram's bucket and sum).
func (b *Block) add2(i int, di uint64, j int, dj uint64) {
	p := procPin()
	base := (p & b.mask) * b.stride
	atomic.AddUint64(&b.c[base+i], di)
	atomic.AddUint64(&b.c[base+j], dj)
	procUnpin()
}

// Load returns counter i: the sum of its copies.
func (b *Block) Load(i int) uint64 {
	if uint(i) >= uint(b.n) {
		panic("percpu: counter index out of range")
	}
	var s uint64
	for j := i; j < len(b.c); j += b.stride {
		s += atomic.LoadUint64(&b.c[j])
	}
	return s
}

// Counter is one counter of a Block. The zero Counter is not usable.
type Counter struct {
	b *Block
	i int
}

// Inc adds 1.
func (c Counter) Inc() { c.b.Add(c.i, 1) }

// Add adds d.
func (c Counter) Add(d uint64) { c.b.Add(c.i, d) }

// Load returns the counter's value.
func (c Counter) Load() uint64 { return c.b.Load(c.i) }

// Valid reports whether c was handed out by Cells.New.
func (c Counter) Valid() bool { return c.b != nil }

// cellsPerBlock is how many counters Cells puts in one Block.
const cellsPerBlock = 64

// Cells hands out counters one at a time, cellsPerBlock to a Block. The
// zero Cells is ready to use; safe for concurrent use.
type Cells struct {
	mu   sync.Mutex
	b    *Block
	used int
}

// New returns a new counter at zero.
func (a *Cells) New() Counter {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.b == nil || a.used == a.b.n {
		a.b, a.used = NewBlock(cellsPerBlock), 0
	}
	a.used++
	return Counter{a.b, a.used - 1}
}
