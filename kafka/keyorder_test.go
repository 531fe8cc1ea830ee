package kafka

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/internal/jsonv"
)

// producedCounter counts the records a client buffered for topic.
type producedCounter struct {
	topic string
	n     atomic.Int64
}

func (c *producedCounter) OnProduceRecordBuffered(r *kgo.Record) {
	if r.Topic == c.topic {
		c.n.Add(1)
	}
}

// TestKeyOutputsInOrder: the results of one key reach the output topic in
// the order their records ran, even when the key's next record is polled
// while the first one's worker is between its execution and its produce
// call. The key used to be handed on before the produce call, so the
// second record ran on another worker and was produced first. The first
// record's worker waits (testHookBeforeProduce) until the second record is
// either queued behind it or produced; with the key handed on too early the
// second output is produced first and the test fails every time.
func TestKeyOutputsInOrder(t *testing.T) {
	addrs := startCluster(t, 1, "in", "out", "dlq")
	in := newClient(t, addrs)
	produceAll(t, in, []*kgo.Record{{Topic: "in", Key: []byte("k"), Value: []byte(`{"seq":0}`)}})
	pc := &producedCounter{topic: "out"}
	p, err := New(Options{Workflow: fakeWorkflow("order"), Topics: []string{"in"}, Group: "g", OutputTopic: "out", DLQTopic: "dlq",
		Concurrency: 4, ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...), kgo.WithHooks(pc)}})
	if err != nil {
		t.Fatal(err)
	}
	var hooked atomic.Bool
	testHookBeforeProduce = func(s *slot) {
		if s.rec.Offset != 0 || !hooked.CompareAndSwap(false, true) {
			return
		}
		// on a worker goroutine: t.Error, not produceAll's t.Fatal
		if err := in.ProduceSync(context.Background(), &kgo.Record{Topic: "in", Key: []byte("k"), Value: []byte(`{"seq":1}`)}).FirstErr(); err != nil {
			t.Error(err)
			return
		}
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			s.part.mu.Lock()
			queued := s.next != nil
			s.part.mu.Unlock()
			if queued || pc.n.Load() > 0 {
				return
			}
			time.Sleep(time.Millisecond)
		}
		t.Error("the second record was neither queued behind the first nor produced")
	}
	t.Cleanup(func() { testHookBeforeProduce = nil })
	stop := runProcessor(t, p)
	waitFor(t, 30*time.Second, "both records finished", func() bool { return p.Stats().Finished.Load() >= 2 })
	stop()
	if !hooked.Load() {
		t.Fatal("the first record's produce was never reached")
	}
	outs := consumeN(t, addrs, 2, 30*time.Second, "out")
	if len(outs) != 2 {
		t.Fatalf("%d outputs, want 2", len(outs))
	}
	for i, r := range outs {
		v, err := jsonv.Parse(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		if seq := jsonv.Plain(v).(map[string]any)["seq"]; seq != int64(i) {
			t.Fatalf("output %d is record %v: the key's outputs are out of order", i, seq)
		}
	}
}
