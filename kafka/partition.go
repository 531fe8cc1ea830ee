package kafka

import (
	"context"
	"sync"
	"sync/atomic"
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
	topic string
	id    int32
	ctx   context.Context // executions of this partition; cancelled when a drain gives up
	stop  context.CancelFunc

	hw atomic.Int64 // high watermark seen on the last fetch

	mu sync.Mutex
	// ring holds the admitted, unfinished records in offset order.
	ring []*slot
	head int
	n    int
	free []*slot // recycled slots
	// keys maps a key hash to the last admitted record of that key (the
	// tail of its chain); the chain's head is running. Unused when
	// unordered; partition ordering uses the single hash 0.
	keys      map[uint64]*slot
	running   int   // records executing or waiting for their produce ack
	next      int64 // offset expected next (records below it are stale)
	wm        int64 // commit watermark: every record below it is finished; -1 none
	wmEpoch   int32
	done      int64 // committed watermark
	paused    bool  // wanted paused
	kgoPaused bool  // paused in the client (guarded by Processor.pauseMu)
	revoked   bool
	idle      chan struct{} // closed when revoked and running reaches 0
}

func newPartition(parent context.Context, topic string, id int32, ordered bool) *partition {
	p := &partition{topic: topic, id: id, ring: make([]*slot, 64), next: -1, wm: -1, done: -1}
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
		r := make([]*slot, 2*len(p.ring))
		k := copy(r, p.ring[p.head:])
		copy(r[k:], p.ring[:p.head])
		p.ring, p.head = r, 0
	}
	p.ring[(p.head+p.n)%len(p.ring)] = s
	p.n++
}

// maxFree bounds a partition's list of recycled slots; the surplus goes to
// the processor's sync.Pool.
const maxFree = 512

// advance pops the finished records at the head of the ring and moves the
// watermark past them. Their slots are reset and kept for the partition's
// next records; those over maxFree are appended to overflow. Called with mu
// held.
func (p *partition) advance(overflow []*slot) (int, []*slot) {
	popped := 0
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
		s.reset()
		if len(p.free) < maxFree {
			p.free = append(p.free, s)
		} else {
			overflow = append(overflow, s)
		}
	}
	return popped, overflow
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
		}
	}
	p.mu.Unlock()
	if wm < 0 || hw < wm {
		return 0
	}
	return hw - wm
}
