package daemon

import (
	"context"
	"testing"
	"time"
)

// TestEmbeddedRetention: the embedded broker keeps records in memory, so
// its retention must drop old data: after more than the retention bytes of
// one partition plus a segment, applying retention leaves at most the
// retention and the segment being written (its memory is released with
// the dropped segments).
func TestEmbeddedRetention(t *testing.T) {
	for _, retention := range []int{0, 4 << 20} { // the default, and set
		testRetention(t, retention)
	}
}

func testRetention(t *testing.T, retention int) {
	c, err := StartEmbedded(Embedded{Partitions: 1, RetentionBytes: retention}, "ret")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl := rawClient(t, c, 1<<20)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const size = 64 << 10
	if retention == 0 {
		retention = EmbeddedRetentionBytes
	}
	segment := min(EmbeddedSegmentBytes, retention/4)
	n := (retention + 2*segment + 4<<20) / size
	produceRandom(ctx, t, cl, n, size, "ret")
	if s := listOffset(ctx, t, cl, "ret", 0, -2); s != 0 {
		t.Fatalf("start offset %d before retention", s)
	}
	c.ApplyRetention()
	// What is left is at most the retention plus the segment being written
	// (and the batch that crossed the limit).
	kept := (int64(n) - listOffset(ctx, t, cl, "ret", 0, -2)) * size
	if limit := int64(retention + segment + 1<<20); kept > limit {
		t.Fatalf("retention %d: %d bytes kept after retention, want at most %d", retention, kept, limit)
	}
}
