package kafka

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ohler55/ojg/oj"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fetchCounter counts the records franz-go decodes from fetch responses.
type fetchCounter struct{ n atomic.Int64 }

func (c *fetchCounter) OnFetchBatchRead(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.FetchBatchMetrics) {
	c.n.Add(int64(m.NumRecords))
}

// TestHeldNotRefetched: records polled while their partition has
// MaxInFlightPerPartition records in flight wait in memory (held) instead
// of the partition being paused, which made the client drop what it had
// buffered and fetch it again (each record was fetched ~3 times in the
// end-to-end runs). The per-partition bound still holds for the records
// admitted, the global bound for all of them, keys keep their order, and
// every record is fetched once.
func TestHeldNotRefetched(t *testing.T) {
	const n, perPart, global, poll = 2000, 100, 150, 50
	addrs := startCluster(t, 1, "in", "out", "dlq")
	var rs []*kgo.Record
	for i := range n {
		k := strconv.Itoa(i % 7)
		rs = append(rs, &kgo.Record{Topic: "in", Key: []byte(k), Value: []byte(`{"key":"` + k + `","seq":` + strconv.Itoa(i) + `}`)})
	}
	produceAll(t, newClient(t, addrs), rs)
	fc := &fetchCounter{}
	p, err := New(Options{Workflow: fakeWorkflow("held"), Topics: []string{"in"}, Group: "g", OutputTopic: "out", DLQTopic: "dlq",
		Concurrency: 8, MaxInFlight: global, MaxInFlightPerPartition: perPart, MaxPollRecords: poll,
		ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...), kgo.WithHooks(fc)}})
	if err != nil {
		t.Fatal(err)
	}
	var peakRing, peakTotal, peakHeld atomic.Int64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-done:
				return
			default:
			}
			p.eachPart(func(part *partition) {
				part.mu.Lock()
				peakRing.Store(max(peakRing.Load(), int64(part.n)))
				peakHeld.Store(max(peakHeld.Load(), int64(part.heldLen())))
				part.mu.Unlock()
			})
			peakTotal.Store(max(peakTotal.Load(), p.InFlight()))
			time.Sleep(100 * time.Microsecond)
		}
	}()
	stop := runProcessor(t, p)
	waitFor(t, 60*time.Second, "every record finished", func() bool { return p.Stats().Finished.Load() >= n })
	close(done)
	<-sampled
	stop()
	if got := fc.n.Load(); got != n {
		t.Errorf("fetched %d records for %d", got, n)
	}
	if peakRing.Load() > perPart {
		t.Errorf("%d records admitted to the partition at once, bound %d", peakRing.Load(), perPart)
	}
	if peakHeld.Load() == 0 {
		t.Errorf("no record was ever held: the test did not reach the per-partition bound")
	}
	if peakTotal.Load() > global+poll {
		t.Errorf("in flight peaked at %d, bound %d (+%d for one poll)", peakTotal.Load(), global, poll)
	}
	if p.InFlight() != 0 || p.bytes.Load() != 0 {
		t.Errorf("%d records, %d bytes in flight when done", p.InFlight(), p.bytes.Load())
	}
	last := map[string]int64{}
	for _, r := range consumeN(t, addrs, n, 30*time.Second, "out") {
		v := oj.MustParse(r.Value).(map[string]any)
		k, seq := v["key"].(string), v["seq"].(int64)
		if prev, ok := last[k]; ok && seq < prev {
			t.Fatalf("key %s: record %d after %d", k, seq, prev)
		}
		last[k] = seq
	}
}
