package daemon

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestEmbeddedRetention: the embedded broker keeps records in memory, so
// its retention must drop old data: after more than the retention bytes of
// one partition plus a segment, applying retention moves the partition's
// log start offset (its memory is released with the dropped segments).
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
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	val := make([]byte, 64<<10)
	if retention == 0 {
		retention = EmbeddedRetentionBytes
	}
	segment := min(EmbeddedSegmentBytes, retention/4)
	total := retention + 2*segment + 4<<20
	for n := 0; n < total; n += len(val) {
		rand.Read(val)
		cl.Produce(ctx, &kgo.Record{Topic: "ret", Value: append([]byte(nil), val...)}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Error(err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	start := func() int64 {
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "ret"
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Timestamp = -2 // earliest
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0].Offset
	}
	if s := start(); s != 0 {
		t.Fatalf("start offset %d before retention", s)
	}
	c.ApplyRetention()
	// What is left is at most the retention plus the segment being written
	// (and the batch that crossed the limit).
	produced := int64((total + len(val) - 1) / len(val))
	kept := (produced - start()) * int64(len(val))
	if limit := int64(retention + segment + 1<<20); kept > limit {
		t.Fatalf("retention %d: %d bytes kept after retention, want at most %d", retention, kept, limit)
	}
}
