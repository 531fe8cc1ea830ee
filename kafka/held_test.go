package kafka

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
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
// admitted, the global bound for all of them, the records of a key run in
// offset order, and every record is fetched once.
func TestHeldNotRefetched(t *testing.T) {
	// the global bound is reached before a quarter of it is held (holdBound):
	// polling stops and nothing is paused
	const n, perPart, global, poll = 2000, 100, 116, 10
	addrs := startCluster(t, 1, "in", "out", "dlq")
	var rs []*kgo.Record
	for i := range n {
		k := strconv.Itoa(i % 7)
		rs = append(rs, &kgo.Record{Topic: "in", Key: []byte(k), Value: []byte(`{"key":"` + k + `","seq":` + strconv.Itoa(i) + `}`)})
	}
	produceAll(t, newClient(t, addrs), rs)
	fc := &fetchCounter{}
	// the order the executions start in, per key (the guarantee of
	// OrderKey; outputs are produced after the key is handed on)
	type run struct {
		key string
		seq int64
	}
	var mu sync.Mutex
	var ran []run
	wf := express.NewWorkflow(&express.Machine{Blocking: true, States: []*express.State{{
		Name: "Record", Type: "Task",
		Exec: func(_ *express.Scope, in any) (any, int, error) {
			v := jsonv.Plain(in).(map[string]any)
			mu.Lock()
			ran = append(ran, run{v["key"].(string), v["seq"].(int64)})
			mu.Unlock()
			return v, express.End, nil
		},
	}}}, express.Options{Name: "held"})
	p, err := New(Options{Workflow: wf, Topics: []string{"in"}, Group: "g", OutputTopic: "out", DLQTopic: "dlq",
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
	if got := len(consumeN(t, addrs, n, 30*time.Second, "out")); got != n {
		t.Fatalf("%d outputs, want %d", got, n)
	}
	mu.Lock()
	defer mu.Unlock()
	last := map[string]int64{}
	for _, e := range ran {
		if prev, ok := last[e.key]; ok && e.seq < prev {
			t.Fatalf("key %s: record %d ran after %d", e.key, e.seq, prev)
		}
		last[e.key] = e.seq
	}
	if len(ran) != n {
		t.Fatalf("%d executions, want %d", len(ran), n)
	}
}

// TestStuckPartitionHoldsItsShare: a partition stuck on a key admits
// MaxInFlightPerPartition records, holds holdBound more and is then
// paused; the other partition's records all finish meanwhile, and the
// in-flight count stays within MaxInFlight.
func TestStuckPartitionHoldsItsShare(t *testing.T) {
	const perPart, global, poll, others = 50, 200, 20, 500
	addrs := startCluster(t, 2, "in", "out", "dlq")
	rs := []*kgo.Record{{Topic: "in", Partition: 0, Key: []byte("stuck"), Value: []byte(`{"sleepMs":600000}`)}}
	for range 300 {
		rs = append(rs, &kgo.Record{Topic: "in", Partition: 0, Key: []byte("stuck"), Value: []byte(`{}`)})
	}
	for i := range others {
		rs = append(rs, &kgo.Record{Topic: "in", Partition: 1, Key: []byte(strconv.Itoa(i)), Value: []byte(`{}`)})
	}
	produceAll(t, newClient(t, addrs, kgo.RecordPartitioner(kgo.ManualPartitioner())), rs)
	p, err := New(Options{Workflow: fakeWorkflow("stuck"), Topics: []string{"in"}, Group: "g", OutputTopic: "out", DLQTopic: "dlq",
		Concurrency: 8, MaxInFlight: global, MaxInFlightPerPartition: perPart, MaxPollRecords: poll, DrainTimeout: 100 * time.Millisecond,
		ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
	if err != nil {
		t.Fatal(err)
	}
	if hb := holdBound(global, perPart); hb != perPart {
		t.Fatalf("holdBound(%d, %d) = %d", global, perPart, hb)
	}
	stop := runProcessor(t, p)
	waitFor(t, 30*time.Second, "the other partition's records finished", func() bool { return p.Stats().Finished.Load() >= others })
	var stuck *partition
	waitFor(t, 10*time.Second, "the stuck partition paused", func() bool {
		p.eachPart(func(part *partition) {
			if part.id == 0 {
				stuck = part
			}
		})
		if stuck == nil {
			return false
		}
		stuck.mu.Lock()
		defer stuck.mu.Unlock()
		return stuck.paused
	})
	stuck.mu.Lock()
	n, held := stuck.n, stuck.heldLen()
	stuck.mu.Unlock()
	if n != perPart || held < perPart || held > perPart+poll {
		t.Errorf("stuck partition: %d admitted (want %d), %d held (want %d..%d)", n, perPart, held, perPart, perPart+poll)
	}
	if in := p.InFlight(); in != int64(n+held) || in > global+poll {
		t.Errorf("%d in flight, the stuck partition has %d", in, n+held)
	}
	stop()
	if p.InFlight() != 0 || p.bytes.Load() != 0 {
		t.Errorf("%d records, %d bytes in flight after shutdown", p.InFlight(), p.bytes.Load())
	}
}

// TestHoldBound: a partition holds as many records as it admits, at most a
// quarter of MaxInFlight, at least one.
func TestHoldBound(t *testing.T) {
	for _, c := range []struct{ global, per, want int }{
		{DefaultMaxInFlight, DefaultMaxInFlightPerPartition, 2048},
		{32768, 1000, 1000},
		{32768, 32768, 8192},
		{3, 2, 1},
		{1, 1, 1},
	} {
		if got := holdBound(c.global, c.per); got != c.want {
			t.Errorf("holdBound(%d, %d) = %d, want %d", c.global, c.per, got, c.want)
		}
	}
}

// TestSpareTrimmed: spare slots are kept up to the records in flight (at
// least spareBatch) and without large output buffers, so an idle daemon
// does not keep a backlog's worth of slots.
func TestSpareTrimmed(t *testing.T) {
	p := &Processor{o: Options{MaxInFlight: 1000}}
	var ss []*slot
	for i := range 600 {
		s := newSlot(p)
		if i == 0 {
			s.buf = make([]byte, 0, 2*spareBufMax)
		}
		ss = append(ss, s)
	}
	p.putSpare(ss)
	p.putSpare(ss[:500]) // over MaxInFlight: not kept
	if len(p.spare) != 1000 || ss[0].buf != nil {
		t.Fatalf("%d spare slots (want 1000), large buffer kept: %v", len(p.spare), ss[0].buf != nil)
	}
	p.total.Store(300)
	p.trimSpare()
	if len(p.spare) != 300 {
		t.Fatalf("%d spare slots with 300 in flight", len(p.spare))
	}
	p.total.Store(0)
	p.trimSpare()
	if len(p.spare) != spareBatch {
		t.Fatalf("%d spare slots when idle, want %d", len(p.spare), spareBatch)
	}
}
