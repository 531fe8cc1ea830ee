package daemon

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Helpers of the embedded broker's tests.

// rawClient connects to c and produces uncompressed batches of at most
// batchBytes, so that the bytes stored are the bytes produced. Close it
// before c.
func rawClient(t *testing.T, c *kfake.Cluster, batchBytes int32, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerBatchMaxBytes(batchBytes)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// produceRandom produces n records of size random bytes to each topic and
// waits for them.
func produceRandom(ctx context.Context, t *testing.T, cl *kgo.Client, n, size int, topics ...string) {
	t.Helper()
	for range n {
		val := make([]byte, size)
		rand.Read(val)
		for _, topic := range topics {
			cl.Produce(ctx, &kgo.Record{Topic: topic, Value: val}, func(_ *kgo.Record, err error) {
				if err != nil {
					t.Error(err)
				}
			})
		}
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// listOffset returns the earliest (ts -2) or latest (ts -1) offset of
// topic's partition p.
func listOffset(ctx context.Context, t *testing.T, cl *kgo.Client, topic string, p int32, ts int64) int64 {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp = p, ts
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0].Offset
}
