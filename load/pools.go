package load

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	"github.com/twmb/franz-go/pkg/kgo"
)

// fetchPools lends the results' consumer its decompression buffers and
// record slices back (kgo.WithPools): the consumer reads two headers and
// the timestamp of each result and recycles it, so the buffers of one
// fetch serve the next instead of being garbage. Buffers are kept by size
// class (powers of two), since kgo zeroes a buffer's whole capacity when
// it comes back. Free lists are bounded channels: no allocation to put a
// slice back. Safe for concurrent use.
type fetchPools struct {
	bytes [bufClasses]chan []byte
	recs  chan []kgo.Record
}

// Decompression buffers: classes of 1<<minBufBits to 1<<(minBufBits+bufClasses-1) bytes.
const (
	minBufBits = 12
	bufClasses = 13
)

func newFetchPools() *fetchPools {
	p := &fetchPools{recs: make(chan []kgo.Record, 64)}
	for i := range p.bytes {
		p.bytes[i] = make(chan []byte, 8)
	}
	return p
}

// xerialMagic starts a snappy batch in the Java client's framing.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

// decompressedSize is how many bytes the batch will take decompressed: a
// raw snappy block says so in its first bytes; others are guessed (JSON
// readings compress about 3:1; the client grows a buffer too small).
func decompressedSize(compressed []byte, codec kgo.CompressionCodecType) int {
	if codec == kgo.CodecSnappy && !bytes.HasPrefix(compressed, xerialMagic) {
		if n, k := binary.Uvarint(compressed); k > 0 && n <= 1<<30 {
			return int(n)
		}
	}
	return 4 * len(compressed)
}

// class is the size class whose buffers hold n bytes (-1: too large to
// keep).
func class(n int) int {
	c := max(bits.Len(uint(max(n, 1)-1))-minBufBits, 0)
	if c >= bufClasses {
		return -1
	}
	return c
}

// GetDecompressBytes implements kgo.PoolDecompressBytes.
func (p *fetchPools) GetDecompressBytes(compressed []byte, codec kgo.CompressionCodecType) []byte {
	need := decompressedSize(compressed, codec)
	c := class(need)
	if c < 0 {
		return make([]byte, 0, need)
	}
	select {
	case b := <-p.bytes[c]:
		return b[:0]
	default:
		return make([]byte, 0, 1<<(c+minBufBits))
	}
}

// PutDecompressBytes implements kgo.PoolDecompressBytes: a buffer goes
// to the largest class it can serve.
func (p *fetchPools) PutDecompressBytes(b []byte) {
	c := bits.Len(uint(cap(b))) - 1 - minBufBits
	if c < 0 || c >= bufClasses {
		return
	}
	select {
	case p.bytes[c] <- b:
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
