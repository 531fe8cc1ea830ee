package kafka

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

type tp struct {
	topic string
	part  int32
}

// partition is the state of one assigned partition. Its mutex is taken by
// the poll loop when a record is admitted, by a worker when it hands a key
// over to the next record, and by the produce callback when a record is
// done: never a lock shared by all partitions.
type partition struct {
	topic  string
	id     int32
	prefix []byte          // topic/id/: the start of its records' names (partitionPrefix); read only
	ctx    context.Context // executions of this partition; cancelled when a drain gives up
	stop   context.CancelFunc

	hw atomic.Int64 // high watermark seen on the last fetch

	mu sync.Mutex
	// ring holds the admitted, unfinished records in offset order.
	ring []*slot
	head int
	n    int
	free []*slot // recycled slots
	// held are records polled while the ring had MaxInFlightPerPartition
	// records: they wait here, in offset order, to enter the ring as it
	// drains (admitHeld) instead of being fetched again. They count in the
	// processor's in-flight records and bytes; heldHead is the first.
	held     []heldRec
	heldHead int
	// keys maps a key hash to the last admitted record of that key (the
	// tail of its chain); the chain's head is running. Unused when
	// unordered; partition ordering uses the single hash 0.
	keys      map[uint64]*slot
	running   int   // records executing or waiting for their produce ack
	next      int64 // offset expected next (records below it are stale)
	wm        int64 // commit watermark: every record below it is finished; -1 none
	wmEpoch   int32
	done      int64         // committed watermark
	first     int64         // offset of the first record admitted; -1 none
	paused    bool          // wanted paused
	kgoPaused bool          // paused in the client (guarded by Processor.pauseMu)
	detached  bool          // released: the ring was emptied and no longer advances
	idle      chan struct{} // closed when revoked and running reaches 0

	// revoked is set (under mu) when the partition is released; workers
	// read it without mu to start nothing new.
	revoked atomic.Bool
}

// heldRec is a record polled and not yet admitted to its partition's ring,
// with its poll time.
type heldRec struct {
	r  *kgo.Record
	t0 int64
}

// heldLen is the number of held records. Called with mu held.
func (p *partition) heldLen() int { return len(p.held) - p.heldHead }

// popHeld returns the first held record. Called with mu held, held not
// empty.
func (p *partition) popHeld() heldRec {
	h := p.held[p.heldHead]
	p.held[p.heldHead] = heldRec{}
	p.heldHead++
	switch {
	case p.heldHead == len(p.held):
		p.held, p.heldHead = p.held[:0], 0
	case p.heldHead >= 1024 && 2*p.heldHead >= len(p.held):
		n := copy(p.held, p.held[p.heldHead:])
		clear(p.held[n:])
		p.held, p.heldHead = p.held[:n], 0
	}
	return h
}

// checkIdle closes idle when a revoked partition has nothing running.
// Called with mu held.
func (p *partition) checkIdle() {
	if p.revoked.Load() && p.running == 0 && p.idle != nil {
		close(p.idle)
		p.idle = nil
	}
}

// detach empties the ring and the held records of a released partition and
// returns how many records (and value bytes) there were: they were never finished and are
// subtracted from the processor's in-flight count by the caller. Workers
// still holding one of them finish or discard it without touching the
// ring. Called with mu held.
func (p *partition) detach() (int, int64) {
	if p.detached {
		return 0, 0
	}
	p.detached = true
	n := p.n + p.heldLen()
	var bytes int64
	for i := range p.n {
		k := (p.head + i) % len(p.ring)
		bytes += p.ring[k].size
		p.ring[k] = nil
	}
	for _, h := range p.held[p.heldHead:] {
		bytes += int64(len(h.r.Value))
	}
	p.n, p.head = 0, 0
	p.held, p.heldHead = nil, 0
	p.free = nil
	clear(p.keys)
	return n, bytes
}

func newPartition(parent context.Context, topic string, id int32, ordered bool) *partition {
	p := &partition{topic: topic, id: id, ring: make([]*slot, 64), next: -1, wm: -1, done: -1, first: -1,
		prefix: partitionPrefix(nil, topic, id)}
	p.ctx, p.stop = context.WithCancel(parent)
	if ordered {
		p.keys = make(map[uint64]*slot)
	}
	p.hw.Store(-1)
	return p
}

// push appends s to the ring. Called with mu held.
func (p *partition) push(s *slot) {
	if p.n == len(p.ring) {
		p.ring, p.head = growRing(p.ring, p.head), 0
	}
	p.ring[(p.head+p.n)%len(p.ring)] = s
	p.n++
}

// growRing returns a full ring buffer doubled, its elements moved to the
// front in order (the new head is 0).
func growRing[T any](q []T, head int) []T {
	r := make([]T, 2*len(q))
	k := copy(r, q[head:])
	copy(r[k:], q[:head])
	return r
}

// maxFree bounds a partition's list of recycled slots; the surplus goes to
// the processor's sync.Pool.
const maxFree = 512

// advance pops the finished records at the head of the ring and moves the
// watermark past them. Their slots are reset and kept for the partition's
// next records; those over maxFree are appended to overflow. Called with mu
// held.
func (p *partition) advance(overflow []*slot) (int, int64, []*slot) {
	popped := 0
	var bytes int64
	for p.n > 0 {
		s := p.ring[p.head]
		if !s.done {
			break
		}
		p.wm = s.rec.Offset + 1
		p.wmEpoch = s.rec.LeaderEpoch
		p.ring[p.head] = nil
		p.head = (p.head + 1) % len(p.ring)
		p.n--
		popped++
		bytes += s.size
		s.reset()
		if len(p.free) < maxFree {
			p.free = append(p.free, s)
		} else {
			overflow = append(overflow, s)
		}
	}
	return popped, bytes, overflow
}

// lag is the number of records between the watermark and the high
// watermark: fetched or not, they are not finished.
func (p *partition) lag() int64 {
	hw := p.hw.Load()
	if hw < 0 {
		return 0
	}
	p.mu.Lock()
	wm := p.wm
	if wm < 0 {
		wm = p.next
		if p.n > 0 {
			wm = p.ring[p.head].rec.Offset
		} else if p.heldLen() > 0 {
			wm = p.held[p.heldHead].r.Offset
		}
	}
	p.mu.Unlock()
	if wm < 0 || hw < wm {
		return 0
	}
	return hw - wm
}
