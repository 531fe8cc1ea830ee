package kafka

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ohler55/ojg/oj"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/express"
)

// TestEndToEnd: N records in, exactly N results out (output + DLQ), every
// offset committed, failures and malformed records in the DLQ with their
// headers while the rest flows.
func TestEndToEnd(t *testing.T) {
	const parts, n = 6, 3000
	addrs := startCluster(t, parts, "in", "out", "dlq")
	var rs []*kgo.Record
	bad := map[string]bool{}
	nBad := 0
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("dev-%d", i%40)
		v := reading(i, key)
		switch {
		case i%97 == 5:
			v = []byte(fmt.Sprintf(`{"deviceId":%q,"seq":%d,"fail":true}`, key, i))
			bad[string(v)] = true
			nBad++
		case i == 13 || i == 1500:
			v = []byte(`{"deviceId": not json`)
			bad[string(v)] = true
			nBad++
		}
		rs = append(rs, &kgo.Record{Topic: "in", Key: []byte(key), Value: v, Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("t1")}}})
	}
	produceAll(t, newClient(t, addrs), rs)

	p, err := New(Options{Workflow: fakeWorkflow("echo"), Topics: []string{"in"}, Group: "g1", OutputTopic: "out", DLQTopic: "dlq",
		Concurrency: 32, CommitInterval: 100 * time.Millisecond, ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Truncate(time.Millisecond)
	stop := runProcessor(t, p)
	waitFor(t, 30*time.Second, "all records finished", func() bool { return p.Stats().Finished.Load() >= n })
	after := time.Now()
	// admission to acknowledgement, measured on the monotonic clock
	if q50, q100 := p.LatencyQuantile(0.5, false), p.LatencyQuantile(1, false); q50 <= 0 || q100 > after.Sub(before)*5/4 {
		t.Errorf("latency p50 %v, max %v, in a run of %v", q50, q100, after.Sub(before))
	}
	stop()

	out := consumeN(t, addrs, n, 10*time.Second, "out", "dlq")
	if len(out) != n {
		t.Fatalf("got %d results, want %d", len(out), n)
	}
	var nOut, nDLQ int
	for _, r := range out {
		// outputs and dead letters are stamped with the end of their
		// execution (or, rejected unparsed, their produce)
		if r.Timestamp.Before(before) || r.Timestamp.After(after) {
			t.Fatalf("record timestamp %v, outside the run (%v to %v)", r.Timestamp, before, after)
		}
		switch r.Topic {
		case "out":
			nOut++
			v, err := oj.Parse(r.Value)
			if err != nil {
				t.Fatal(err)
			}
			m := v.(map[string]any)
			if m["processed"] != true {
				t.Fatalf("output not processed: %s", r.Value)
			}
			src := header(r, HeaderSourceTopic) + "/" + header(r, HeaderSourcePartition) + "/" + header(r, HeaderSourceOffset)
			if m["execution"] != src || header(r, HeaderExecution) != src || header(r, HeaderWorkflow) != "echo" {
				t.Fatalf("execution name %v, headers %v", m["execution"], r.Headers)
			}
			if !strings.HasPrefix(string(r.Key), "dev-") {
				t.Fatalf("output key %q", r.Key)
			}
		case "dlq":
			nDLQ++
			if !bad[string(r.Value)] {
				t.Fatalf("unexpected DLQ record %s", r.Value)
			}
			if header(r, "trace") != "t1" || header(r, HeaderSourceTopic) != "in" || header(r, HeaderKey) != string(r.Key) {
				t.Fatalf("DLQ headers %v", r.Headers)
			}
			e := header(r, HeaderError)
			if strings.Contains(string(r.Value), "not json") {
				if e != ErrInvalidJSON || header(r, HeaderStatus) != "REJECTED" {
					t.Fatalf("malformed record: error %q", e)
				}
			} else if e != "Test.Fail" || header(r, HeaderCause) != "asked to fail" || header(r, HeaderStatus) != "FAILED" {
				t.Fatalf("failed record: error %q cause %q", e, header(r, HeaderCause))
			}
		}
	}
	if nDLQ != nBad {
		t.Fatalf("DLQ has %d records, want %d", nDLQ, nBad)
	}
	// every partition committed up to its end
	ends := map[int32]int64{}
	for _, r := range rs {
		if r.Offset+1 > ends[r.Partition] {
			ends[r.Partition] = r.Offset + 1
		}
	}
	got := committed(t, addrs, "g1", "in")
	for part, end := range ends {
		if got[part] != end {
			t.Fatalf("partition %d committed %d, want %d (all: %v)", part, got[part], end, got)
		}
	}
}

func runOrdering(t *testing.T, ordering Ordering) (outOfOrder int, maxRunning int64) {
	const keys, per = 16, 40
	addrs := startCluster(t, 3, "in", "out", "dlq")
	var rs []*kgo.Record
	for i := 0; i < per; i++ {
		for k := 0; k < keys; k++ {
			key := fmt.Sprintf("k%d", k)
			rs = append(rs, &kgo.Record{Topic: "in", Key: []byte(key),
				Value: []byte(fmt.Sprintf(`{"key":%q,"seq":%d,"sleepMs":%d}`, key, i, (i*7+k)%3))})
		}
	}
	produceAll(t, newClient(t, addrs, kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil))), rs)
	var running, peak atomic.Int64
	wf := fakeWorkflow("order")
	base := wf.Machine.States[0].Exec
	m := &express.Machine{Blocking: true, States: []*express.State{{Name: "Echo", Type: "Task",
		Exec: func(s *express.Scope, in any) (any, int, error) {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			defer running.Add(-1)
			return base(s, in)
		}}}}
	p, err := New(Options{Workflow: express.NewWorkflow(m, express.Options{Name: "order"}), Topics: []string{"in"}, Group: "g",
		OutputTopic: "out", DLQTopic: "dlq", Ordering: ordering, Concurrency: 32, ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
	if err != nil {
		t.Fatal(err)
	}
	stop := runProcessor(t, p)
	waitFor(t, 30*time.Second, "all records finished", func() bool { return p.Stats().Finished.Load() >= keys*per })
	stop()
	out := consumeN(t, addrs, keys*per, 10*time.Second, "out")
	if len(out) != keys*per {
		t.Fatalf("got %d outputs, want %d", len(out), keys*per)
	}
	last := map[string]int64{}
	for _, r := range out {
		v := oj.MustParse(r.Value).(map[string]any)
		k, seq := v["key"].(string), v["seq"].(int64)
		if prev, ok := last[k]; ok && seq < prev {
			outOfOrder++
		}
		last[k] = seq
	}
	return outOfOrder, peak.Load()
}

// TestOrderingKey: records of one key run one after another while
// different keys run in parallel.
func TestOrderingKey(t *testing.T) {
	bad, peak := runOrdering(t, OrderKey)
	if bad != 0 {
		t.Fatalf("%d records out of order", bad)
	}
	if peak < 2 {
		t.Fatalf("at most %d executions ran at once: keys did not run in parallel", peak)
	}
}

// TestOrderingPartition: strict offset order per partition (3 partitions:
// at most 3 executions at once).
func TestOrderingPartition(t *testing.T) {
	bad, peak := runOrdering(t, OrderPartition)
	if bad != 0 {
		t.Fatalf("%d records out of order", bad)
	}
	if peak > 3 {
		t.Fatalf("%d executions ran at once with 3 partitions", peak)
	}
}

// TestBackpressure: in-flight records stay bounded when executions are slow.
func TestBackpressure(t *testing.T) {
	const n = 600
	addrs := startCluster(t, 2, "in", "out", "dlq")
	var rs []*kgo.Record
	for i := 0; i < n; i++ {
		rs = append(rs, &kgo.Record{Topic: "in", Key: []byte(fmt.Sprint(i)), Value: []byte(`{"sleepMs":1}`)})
	}
	produceAll(t, newClient(t, addrs), rs)
	p, err := New(Options{Workflow: fakeWorkflow("bp"), Topics: []string{"in"}, Group: "g", OutputTopic: "out", DLQTopic: "dlq",
		Ordering: OrderUnordered, Concurrency: 8, MaxInFlight: 32, MaxInFlightPerPartition: 16, MaxPollRecords: 16,
		ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
	if err != nil {
		t.Fatal(err)
	}
	stop := runProcessor(t, p)
	var peak int64
	deadline := time.Now().Add(30 * time.Second)
	for p.Stats().Finished.Load() < n && time.Now().Before(deadline) {
		peak = max(peak, p.InFlight())
		time.Sleep(time.Millisecond)
	}
	stop()
	if got := p.Stats().Finished.Load(); got != n {
		t.Fatalf("finished %d of %d", got, n)
	}
	if peak > 32+16 {
		t.Fatalf("in-flight peaked at %d, bound is 32 (+16 for one poll)", peak)
	}
}

// TestTooLargeAndTimeout: an oversized record and a timed-out execution go
// to the DLQ.
func TestTooLargeAndTimeout(t *testing.T) {
	addrs := startCluster(t, 1, "in", "out", "dlq")
	big := `{"pad":"` + strings.Repeat("x", 300) + `"}`
	produceAll(t, newClient(t, addrs), []*kgo.Record{
		{Topic: "in", Value: []byte(big)},
		{Topic: "in", Value: []byte(`{"sleepMs":2000}`)},
		{Topic: "in", Value: []byte(`{"ok":1}`)},
	})
	wf := fakeWorkflow("t")
	wf = express.NewWorkflow(wf.Machine, express.Options{Name: "t", Timeout: 100 * time.Millisecond})
	p, err := New(Options{Workflow: wf, Topics: []string{"in"}, Group: "g", OutputTopic: "out", DLQTopic: "dlq",
		MaxRecordBytes: 200, ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
	if err != nil {
		t.Fatal(err)
	}
	stop := runProcessor(t, p)
	waitFor(t, 20*time.Second, "3 records", func() bool { return p.Stats().Finished.Load() >= 3 })
	stop()
	dlq := consumeN(t, addrs, 2, 10*time.Second, "dlq")
	if len(dlq) != 2 {
		t.Fatalf("DLQ has %d records", len(dlq))
	}
	if header(dlq[0], HeaderError) != ErrRecordTooLarge || string(dlq[0].Value) != big {
		t.Fatalf("first DLQ record: %v", dlq[0].Headers)
	}
	if header(dlq[1], HeaderError) != express.ErrTimeout || header(dlq[1], HeaderStatus) != "TIMED_OUT" {
		t.Fatalf("second DLQ record: %v", dlq[1].Headers)
	}
	if got := committed(t, addrs, "g", "in"); got[0] != 3 {
		t.Fatalf("committed %v", got)
	}
}

// TestDedup: records sharing an idempotency key run once.
func TestDedup(t *testing.T) {
	addrs := startCluster(t, 2, "in", "out", "dlq")
	var rs []*kgo.Record
	for i := 0; i < 200; i++ {
		rs = append(rs, &kgo.Record{Topic: "in", Key: []byte(fmt.Sprint(i % 7)), Value: []byte(fmt.Sprintf(`{"eventId":"e%d","sleepMs":%d}`, i%50, i%2))})
	}
	produceAll(t, newClient(t, addrs), rs)
	ks, err := ParseKeySource("$.eventId")
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{Workflow: fakeWorkflow("d"), Topics: []string{"in"}, Group: "g", OutputTopic: "out", DLQTopic: "dlq",
		IdempotencyKey: ks, Ordering: OrderUnordered, ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
	if err != nil {
		t.Fatal(err)
	}
	stop := runProcessor(t, p)
	waitFor(t, 20*time.Second, "200 records", func() bool { return p.Stats().Finished.Load() >= 200 })
	stop()
	if got := p.Stats().Output.Load(); got != 50 {
		t.Fatalf("%d outputs, want 50", got)
	}
	if got := p.Stats().Duplicates.Load(); got != 150 {
		t.Fatalf("%d duplicates, want 150", got)
	}
	out := consumeN(t, addrs, 50, 5*time.Second, "out")
	seen := map[string]bool{}
	for _, r := range out {
		id := header(r, HeaderExecution)
		if seen[id] {
			t.Fatalf("execution %s produced twice", id)
		}
		seen[id] = true
	}
}

// TestDrainTimeout: shutdown waits for in-flight executions only up to the
// drain timeout; an execution given up is neither committed nor
// dead-lettered, so the next owner runs it again.
func TestDrainTimeout(t *testing.T) {
	addrs := startCluster(t, 1, "in", "out", "dlq")
	produceAll(t, newClient(t, addrs), []*kgo.Record{
		{Topic: "in", Key: []byte("a"), Value: []byte(`{"n":1}`)},
		{Topic: "in", Key: []byte("b"), Value: []byte(`{"sleepMs":10000}`)},
		{Topic: "in", Key: []byte("c"), Value: []byte(`{"n":3}`)},
	})
	p, err := New(Options{Workflow: fakeWorkflow("slow"), Topics: []string{"in"}, Group: "g", OutputTopic: "out", DLQTopic: "dlq",
		DrainTimeout: 300 * time.Millisecond, CommitInterval: 50 * time.Millisecond, ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
	if err != nil {
		t.Fatal(err)
	}
	stop := runProcessor(t, p)
	waitFor(t, 20*time.Second, "the fast records", func() bool { return p.Stats().Finished.Load() >= 2 })
	t0 := time.Now()
	stop()
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("shutdown took %v with a 300ms drain timeout", d)
	}
	if got := committed(t, addrs, "g", "in"); got[0] != 1 {
		t.Fatalf("committed %v, want 1 (the slow record at offset 1 is unfinished)", got)
	}
	if p.Stats().DLQ.Load() != 0 {
		t.Fatal("an abandoned execution went to the DLQ")
	}
}
