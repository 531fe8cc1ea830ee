package load

import (
	"bytes"
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

// TestFetchPools: a decompression buffer comes back only for a batch it
// suits (kgo zeroes its whole capacity on return); record slices come
// back when large enough.
func TestFetchPools(t *testing.T) {
	p := newFetchPools()
	b := p.GetDecompressBytes(make([]byte, 1000), kgo.CodecSnappy)
	if cap(b) != 4000 || len(b) != 0 {
		t.Fatalf("buffer len %d cap %d", len(b), cap(b))
	}
	p.PutDecompressBytes(b[:cap(b)])
	if got := p.GetDecompressBytes(make([]byte, 900), kgo.CodecSnappy); cap(got) != 4000 || len(got) != 0 {
		t.Errorf("a suitable buffer was not lent again: cap %d", cap(got))
	}
	p.PutDecompressBytes(b)
	if got := p.GetDecompressBytes(make([]byte, 100), kgo.CodecSnappy); cap(got) != 400 {
		t.Errorf("a buffer ten times too large was lent: cap %d", cap(got))
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
