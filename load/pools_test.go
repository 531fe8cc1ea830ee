package load

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/load/readings"
)

// TestSlab: readings written into slab memory, across several slabs and
// with keys longer than their room, are the readings fresh buffers get,
// and none overwrites another (all are compared at the end).
func TestSlab(t *testing.T) {
	for _, tc := range []struct {
		name            string
		devices, pad    int
		keyRoom, valRom int
	}{
		{"natural size", 1000, 0, 12, 216},
		{"padded", 50, 3000, 12, 3016},
		{"keys outgrow their room", 1_000_000, 0, 5, 216},
		{"values outgrow their room", 10, 0, 12, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
			a := readings.NewGenerator(7, tc.devices, tc.pad, 5)
			b := readings.NewGenerator(7, tc.devices, tc.pad, 5)
			var mem slab
			var recs []*kgo.Record
			var want [][2][]byte
			for i := range 3 * slabRecords {
				kb, vb := mem.bytes(tc.keyRoom), mem.bytes(tc.valRom)
				k, v, _ := a.Next(kb, vb, int64(i), now)
				mem.trim(v, tc.valRom)
				r := mem.record()
				if r.Topic != "" || r.Key != nil {
					t.Fatal("a slab record is not zero")
				}
				r.Key, r.Value = k, v
				recs = append(recs, r)
				wk, wv, _ := b.Next(nil, nil, int64(i), now)
				want = append(want, [2][]byte{wk, wv})
			}
			for i, r := range recs {
				if !bytes.Equal(r.Key, want[i][0]) || !bytes.Equal(r.Value, want[i][1]) {
					t.Fatalf("record %d: %q %q, want %q %q", i, r.Key, r.Value, want[i][0], want[i][1])
				}
			}
		})
	}
}

// TestFetchPools: a decompression buffer is of the size class of the
// batch decompressed (read from a snappy block's header, guessed for
// other codecs) and comes back for a batch of its class only; record
// slices come back when large enough.
func TestFetchPools(t *testing.T) {
	snappy := func(n int) []byte { return binary.AppendUvarint(nil, uint64(n)) }
	for _, tc := range []struct {
		compressed []byte
		codec      kgo.CompressionCodecType
		cap        int
	}{
		{snappy(1000), kgo.CodecSnappy, 4096},
		{snappy(4096), kgo.CodecSnappy, 4096},
		{snappy(4097), kgo.CodecSnappy, 8192},
		{snappy(300_000), kgo.CodecSnappy, 512 << 10},
		{snappy(100 << 20), kgo.CodecSnappy, 100 << 20}, // beyond the classes: exact, not kept
		{append(append([]byte{}, xerialMagic...), make([]byte, 2000)...), kgo.CodecSnappy, 8192},
		{make([]byte, 3000), kgo.CodecLz4, 16384},
	} {
		p := newFetchPools()
		b := p.GetDecompressBytes(tc.compressed, tc.codec)
		if cap(b) != tc.cap || len(b) != 0 {
			t.Errorf("%d bytes of codec %d: buffer len %d cap %d, want cap %d", len(tc.compressed), tc.codec, len(b), cap(b), tc.cap)
			continue
		}
		p.PutDecompressBytes(b[:cap(b)])
		again := p.GetDecompressBytes(tc.compressed, tc.codec)
		if kept := tc.cap <= 1<<(minBufBits+bufClasses-1); kept != (cap(again) > 0 && &again[:1][0] == &b[:1][0]) {
			t.Errorf("cap %d: lent again %v, want %v", tc.cap, !kept, kept)
		}
	}
	p := newFetchPools()
	p.PutDecompressBytes(make([]byte, 0, 12000)) // grown by the client: serves 8 KiB
	if got := p.GetDecompressBytes(snappy(8000), kgo.CodecSnappy); cap(got) != 12000 {
		t.Errorf("a grown buffer did not serve its class: cap %d", cap(got))
	}
	rs := p.GetRecords(10)
	if cap(rs) < 10 {
		t.Fatalf("records cap %d", cap(rs))
	}
	p.PutRecords(rs)
	if got := p.GetRecords(cap(rs) + 1); cap(got) < cap(rs)+1 {
		t.Errorf("records cap %d for %d", cap(got), cap(rs)+1)
	}
}
