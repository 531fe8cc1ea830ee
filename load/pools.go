package load

import "github.com/twmb/franz-go/pkg/kgo"

// fetchPools lends the results' consumer its decompression buffers and
// record slices back (kgo.WithPools): the consumer reads two headers and
// the timestamp of each result and recycles it, so the buffers of one
// fetch serve the next instead of being garbage. Free lists are bounded
// channels: no allocation to put a slice back. Safe for concurrent use.
type fetchPools struct {
	bytes chan []byte
	recs  chan []kgo.Record
}

func newFetchPools() *fetchPools {
	return &fetchPools{bytes: make(chan []byte, 64), recs: make(chan []kgo.Record, 64)}
}

// GetDecompressBytes implements kgo.PoolDecompressBytes. kgo zeroes a
// buffer's whole capacity when it comes back: one much larger than the
// batch needs is dropped rather than lent (the client grows one too
// small).
func (p *fetchPools) GetDecompressBytes(compressed []byte, _ kgo.CompressionCodecType) []byte {
	need := 4 * len(compressed) // JSON readings compress about 3:1
	select {
	case b := <-p.bytes:
		if cap(b) >= need && cap(b) <= 2*need {
			return b[:0]
		}
	default:
	}
	return make([]byte, 0, need)
}

// PutDecompressBytes implements kgo.PoolDecompressBytes.
func (p *fetchPools) PutDecompressBytes(b []byte) {
	select {
	case p.bytes <- b:
	default:
	}
}

// GetRecords implements kgo.PoolRecords.
func (p *fetchPools) GetRecords(n int) []kgo.Record {
	select {
	case rs := <-p.recs:
		if cap(rs) >= n {
			return rs[:0]
		}
	default:
	}
	return make([]kgo.Record, 0, max(n, 256))
}

// PutRecords implements kgo.PoolRecords.
func (p *fetchPools) PutRecords(rs []kgo.Record) {
	select {
	case p.recs <- rs:
	default:
	}
}

// slab hands out the produced records and their key and value bytes from
// large allocations, a few hundred records each: the producer holds a
// record until it is acknowledged, and a slab is garbage once all of its
// records are.
type slab struct {
	recs []kgo.Record
	buf  []byte
}

const (
	slabRecords = 512
	slabBytes   = 128 << 10
)

// record returns a zero record.
func (s *slab) record() *kgo.Record {
	if len(s.recs) == 0 {
		s.recs = make([]kgo.Record, slabRecords)
	}
	r := &s.recs[0]
	s.recs = s.recs[1:]
	return r
}

// bytes returns an empty slice with room for n bytes, carved from the
// current slab (a new one when it has less left).
func (s *slab) bytes(n int) []byte {
	if cap(s.buf)-len(s.buf) < n {
		s.buf = make([]byte, 0, max(slabBytes, n))
	}
	b := s.buf[len(s.buf) : len(s.buf) : len(s.buf)+n]
	s.buf = s.buf[:len(s.buf)+n]
	return b
}

// trim gives back the part of the last bytes(n) that b did not use (b
// must be that slice, grown within its capacity).
func (s *slab) trim(b []byte, n int) {
	if unused := n - len(b); unused > 0 && cap(b) == n {
		s.buf = s.buf[:len(s.buf)-unused]
	}
}
