package kafka

import (
	"hash/maphash"
	"sync"
	"time"
)

const dedupShards = 64

// dedup is a bounded, time-windowed cache of idempotency keys. A key is
// "running" from the moment its first record starts until that record's
// result is acknowledged, then "done" for the window. It is sharded so that
// no lock is shared by all records.
type dedup struct {
	seed     maphash.Seed
	perShard int
	window   time.Duration
	shards   [dedupShards]dedupShard
}

type dedupShard struct {
	mu   sync.Mutex
	m    map[string]*dedupEntry
	q    []*dedupEntry // insertion order, for eviction
	head int
	_    [40]byte // keep shards on separate cache lines
}

type dedupEntry struct {
	key     string
	done    bool
	at      int64 // completion time (Processor.monoNow)
	waiters []*slot
}

func newDedup(size int, window time.Duration) *dedup {
	d := &dedup{seed: maphash.MakeSeed(), window: window, perShard: max(size/dedupShards, 1)}
	for i := range d.shards {
		d.shards[i].m = make(map[string]*dedupEntry)
	}
	return d
}

func (d *dedup) shard(key string) *dedupShard {
	return &d.shards[maphash.String(d.seed, key)%dedupShards]
}

type dedupVerdict int

const (
	dedupOwner     dedupVerdict = iota // run it
	dedupDuplicate                     // completed recently: skip
	dedupWaiting                       // the same key is running: s waits for it
)

// begin registers s under key.
func (d *dedup) begin(key string, s *slot, now int64) dedupVerdict {
	sh := d.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.m[key]; ok {
		if !e.done {
			e.waiters = append(e.waiters, s)
			return dedupWaiting
		}
		if now-e.at < int64(d.window) {
			return dedupDuplicate
		}
		delete(sh.m, key)
	}
	e := &dedupEntry{key: key}
	sh.m[key] = e
	sh.q = append(sh.q, e)
	sh.evict(d, now)
	return dedupOwner
}

func (sh *dedupShard) evict(d *dedup, now int64) {
	for n := len(sh.q) - sh.head; n > 0 && sh.head < len(sh.q); n-- {
		e := sh.q[sh.head]
		cur, ok := sh.m[e.key]
		switch {
		case !ok || cur != e:
			// stale queue entry
		case !e.done:
			// running keys are bounded by the in-flight limit; keep them
			if len(sh.m) <= d.perShard {
				return
			}
			sh.q = append(sh.q, e)
		case len(sh.m) > d.perShard || now-e.at >= int64(d.window):
			delete(sh.m, e.key)
		default:
			return
		}
		sh.q[sh.head] = nil
		sh.head++
		if sh.head > 1024 && sh.head*2 > len(sh.q) {
			n := copy(sh.q, sh.q[sh.head:])
			clear(sh.q[n:])
			sh.q = sh.q[:n]
			sh.head = 0
		}
	}
}

// finish marks key done and returns the records that waited for it.
func (d *dedup) finish(key string, now int64) []*slot {
	sh := d.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[key]
	if !ok || e.done {
		return nil
	}
	e.done, e.at = true, now
	w := e.waiters
	e.waiters = nil
	return w
}

// abandon forgets a running key whose execution was given up (its partition
// was revoked) and returns the records that waited for it: they must run.
func (d *dedup) abandon(key string) []*slot {
	sh := d.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[key]
	if !ok || e.done {
		return nil
	}
	delete(sh.m, key)
	return e.waiters
}
