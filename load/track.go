package load

import "time"

// Latencies are Kafka record timestamps, which have millisecond
// resolution: the histogram counts whole milliseconds up to histMax.
const histMax = 120_000

// hist is a histogram of latencies in whole milliseconds.
type hist struct {
	b     []int64 // b[ms], ms < histMax
	over  int64
	n     int64
	maxMs int64
}

func newHist() *hist { return &hist{b: make([]int64, histMax)} }

func (h *hist) add(ms int64) {
	ms = max(ms, 0)
	h.n++
	h.maxMs = max(h.maxMs, ms)
	if ms >= histMax {
		h.over++
		return
	}
	h.b[ms]++
}

func (h *hist) reset() {
	clear(h.b)
	h.over, h.n, h.maxMs = 0, 0, 0
}

// quantile returns the q-quantile (0..1); 0 when empty.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := max(int64(q*float64(h.n)+0.5), 1)
	var acc int64
	for ms, c := range h.b {
		acc += c
		if acc >= rank {
			return time.Duration(ms) * time.Millisecond
		}
	}
	return time.Duration(h.maxMs) * time.Millisecond
}

// The tracker matches results to produced records by their source
// coordinates (partition and offset, from the daemon's result headers).
// Per partition, offsets are grouped in chunks; a chunk keeps one byte per
// offset for the whole run (produced by us, first result kind, times seen)
// and two timestamps per offset until every record of it came back.
const (
	chunkBits = 13
	chunkSize = 1 << chunkBits

	flagProduced = 0x80
	flagDLQ      = 0x40
	seenMask     = 0x3f
)

type chunk struct {
	flags    [chunkSize]uint8
	in, out  []uint32 // ms since the tracker's base + 1; 0 = unknown
	produced int      // offsets produced by us
	matched  int      // of those, seen at least once
}

type partTrack struct {
	chunks      map[int64]*chunk
	maxProduced int64
}

// tracker is not safe for concurrent use; Run guards it with a mutex.
type tracker struct {
	base  time.Time
	parts map[int32]*partTrack

	produced, output, dlq, duplicates int64
	other                             int64 // results without source coordinates of the input topic
	total, interval                   *hist
	warmup                            uint32 // records produced until then (ms since base + 1) stay out of total
}

func newTracker(base time.Time) *tracker {
	return &tracker{base: base, parts: map[int32]*partTrack{}, total: newHist(), interval: newHist()}
}

func (t *tracker) ms(ts time.Time) uint32 {
	return uint32(max(ts.Sub(t.base).Milliseconds(), 0)) + 1
}

func (t *tracker) chunk(part int32, off int64) (*partTrack, *chunk, int) {
	pt := t.parts[part]
	if pt == nil {
		pt = &partTrack{chunks: map[int64]*chunk{}, maxProduced: -1}
		t.parts[part] = pt
	}
	ci := off >> chunkBits
	c := pt.chunks[ci]
	if c == nil {
		c = &chunk{in: make([]uint32, chunkSize), out: make([]uint32, chunkSize)}
		pt.chunks[ci] = c
	}
	return pt, c, int(off & (chunkSize - 1))
}

func (t *tracker) latency(c *chunk, i int) {
	ms := int64(c.out[i]) - int64(c.in[i])
	if c.in[i] > t.warmup {
		t.total.add(ms)
	}
	t.interval.add(ms)
}

// acked records that our record at part/off was acknowledged with
// timestamp ts.
func (t *tracker) acked(part int32, off int64, ts time.Time) {
	pt, c, i := t.chunk(part, off)
	t.produced++
	if c.flags[i]&flagProduced != 0 {
		return // cannot happen: an offset is acknowledged once
	}
	c.flags[i] |= flagProduced
	c.produced++
	if c.in != nil {
		c.in[i] = t.ms(ts)
	}
	if n := int64(c.flags[i] & seenMask); n > 0 { // its result came first
		c.matched++
		t.countFirst(c.flags[i])
		t.duplicates += n - 1
		if c.in != nil {
			t.latency(c, i)
		}
	}
	if off > pt.maxProduced {
		if prev := pt.maxProduced >> chunkBits; pt.maxProduced >= 0 && prev != off>>chunkBits {
			t.maybeFree(pt.chunks[prev], true)
		}
		pt.maxProduced = off
	}
}

func (t *tracker) countFirst(f uint8) {
	if f&flagDLQ != 0 {
		t.dlq++
	} else {
		t.output++
	}
}

// result records a result (output or dead letter) for source part/off
// with timestamp ts.
func (t *tracker) result(part int32, off int64, ts time.Time, dlq bool) {
	pt, c, i := t.chunk(part, off)
	f := c.flags[i]
	n := f & seenMask
	if n < seenMask {
		c.flags[i] = f&^seenMask | (n + 1)
	}
	if n > 0 {
		if f&flagProduced != 0 {
			t.duplicates++
		}
		return
	}
	if dlq {
		c.flags[i] |= flagDLQ
	}
	if c.out != nil {
		c.out[i] = t.ms(ts)
	}
	if f&flagProduced == 0 {
		return // not acknowledged yet, or not ours
	}
	c.matched++
	t.countFirst(c.flags[i])
	if c.in != nil {
		t.latency(c, i)
	}
	t.maybeFree(c, pt.maxProduced>>chunkBits != off>>chunkBits)
}

// maybeFree drops the timestamps of a chunk once no more of our records
// can land in it (closed) and all of them came back.
func (t *tracker) maybeFree(c *chunk, closed bool) {
	if c != nil && closed && c.in != nil && c.matched == c.produced {
		c.in, c.out = nil, nil
	}
}

// foreign counts results for offsets we did not produce.
func (t *tracker) foreign() int64 {
	n := t.other
	for _, pt := range t.parts {
		for _, c := range pt.chunks {
			for _, f := range c.flags {
				if f&flagProduced == 0 {
					n += int64(f & seenMask)
				}
			}
		}
	}
	return n
}

// notBack splits the records we produced that have no result yet:
// behind is those before the group's committed offset of their partition
// (the daemon committed them, so their result was produced and never
// seen: lost), ahead the others (not processed yet: late).
func (t *tracker) notBack(committed map[int32]int64) (ahead, behind int64) {
	for p, pt := range t.parts {
		c0, ok := committed[p]
		for ci, c := range pt.chunks {
			if c.matched == c.produced {
				continue
			}
			for i, f := range c.flags {
				if f&flagProduced == 0 || f&seenMask != 0 {
					continue
				}
				if off := ci<<chunkBits | int64(i); ok && off < c0 {
					behind++
				} else {
					ahead++
				}
			}
		}
	}
	return ahead, behind
}
