package kafka

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/resources"
)

func startTxnCluster(t testing.TB, brokers int, partitions int32, topics ...string) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(brokers), kfake.SeedTopics(partitions, topics...), kfake.AllowAutoTopicCreation(),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func newEOS(t testing.TB, addrs []string, m *Metrics, mod func(*Options)) *Processor {
	t.Helper()
	o := Options{Workflow: fakeWorkflow("eos"), Topics: []string{"in"}, Group: "eos", OutputTopic: "out", DLQTopic: "dlq",
		Concurrency: 16, DrainTimeout: 5 * time.Second, Delivery: ExactlyOnce, TransactionalID: "eos-test-0",
		TxnInterval: 50 * time.Millisecond, Metrics: m, ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...)}}
	if mod != nil {
		mod(&o)
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// produceInputs writes inputs from..to-1 to "in"; every 7th fails (DLQ).
func produceInputs(t testing.TB, cl *kgo.Client, from, to int) {
	t.Helper()
	var rs []*kgo.Record
	for i := from; i < to; i++ {
		v := fmt.Sprintf(`{"i":%d}`, i)
		if i%7 == 0 {
			v = fmt.Sprintf(`{"i":%d,"fail":true}`, i)
		}
		rs = append(rs, &kgo.Record{Topic: "in", Key: []byte("k" + strconv.Itoa(i%13)), Value: []byte(v)})
	}
	produceAll(t, cl, rs)
}

// committedTotal is the sum of the group's committed offsets of "in".
func committedTotal(t testing.TB, addrs []string, group string) int64 {
	var n int64
	for _, o := range committed(t, addrs, group, "in") {
		n += o
	}
	return n
}

// readCommitted reads topics with read_committed up to a sentinel written
// to each of their partitions after the daemon stopped, and returns how
// many results each source record (partition/offset of "in") has.
func readCommitted(t testing.TB, addrs []string, parts int32, topics ...string) map[string]int {
	t.Helper()
	return readCommittedBy(t, addrs, parts, "", topics...)
}

// readCommittedBy is readCommitted counting by the value of a header
// (by the source coordinates when header is "").
func readCommittedBy(t testing.TB, addrs []string, parts int32, by string, topics ...string) map[string]int {
	t.Helper()
	var sentinels []*kgo.Record
	for _, tp := range topics {
		for p := range parts {
			sentinels = append(sentinels, &kgo.Record{Topic: tp, Partition: p, Value: []byte("sentinel"),
				Headers: []kgo.RecordHeader{{Key: "sentinel", Value: []byte("1")}}})
		}
	}
	pcl := newClient(t, addrs, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceAll(t, pcl, sentinels)
	ccl := newClient(t, addrs, kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := map[string]int{}
	seen := 0
	for seen < len(sentinels) {
		fs := ccl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d sentinels", seen, len(sentinels))
		}
		fs.EachRecord(func(r *kgo.Record) {
			if header(r, "sentinel") != "" {
				seen++
				return
			}
			if by != "" {
				out[header(r, by)]++
				return
			}
			out[header(r, HeaderSourcePartition)+"/"+header(r, HeaderSourceOffset)]++
		})
	}
	return out
}

// checkOnce fails unless each of the n inputs has exactly one result.
func checkOnce(t testing.TB, got map[string]int, n int) {
	t.Helper()
	total, dups := 0, 0
	for _, c := range got {
		total += c
		if c > 1 {
			dups += c - 1
		}
	}
	if len(got) != n || dups != 0 {
		t.Fatalf("%d inputs: %d have a result (%d lost), %d duplicates", n, len(got), n-len(got), dups)
	}
}

// TestExactlyOnce runs inputs through an exactly-once processor: every
// input has one result (output or dead letter) under read_committed, the
// offsets are committed by transactions, and the metrics count them.
func TestExactlyOnce(t *testing.T) {
	const parts, n = 4, 3000
	c := startTxnCluster(t, 1, parts, "in", "out", "dlq")
	addrs := c.ListenAddrs()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	p := newEOS(t, addrs, m, nil)
	produceInputs(t, newClient(t, addrs), 0, n/2)
	stop := runProcessor(t, p)
	produceInputs(t, newClient(t, addrs), n/2, n)
	waitFor(t, 30*time.Second, "every offset committed", func() bool { return committedTotal(t, addrs, "eos") == n })
	stop()
	checkOnce(t, readCommitted(t, addrs, parts, "out", "dlq"), n)
	if got := counterValue(t, reg, "express_transactions_total", "committed"); got < 1 {
		t.Errorf("express_transactions_total{result=committed} = %v", got)
	}
	if got := histogramSum(t, reg, "express_transaction_records"); got != n {
		t.Errorf("express_transaction_records sums to %v, want %d", got, n)
	}
	if p.Stats().Commits.Load() < 1 {
		t.Error("no transaction counted as a commit")
	}
}

// TestExactlyOnceFaults injects broker faults into the transactional
// requests and produces of a running exactly-once processor: it aborts,
// retries or starts a new session, never crashes, and in the end every
// input has exactly one result under read_committed.
func TestExactlyOnceFaults(t *testing.T) {
	const parts, n = 3, 1500
	for _, tc := range []struct {
		name    string
		brokers int
		pre890  bool // a client of Kafka 3.7: AddPartitionsToTxn and AddOffsetsToTxn are sent (KIP-890 part 2 makes them implicit)
		fault   *kfake.Fault
		act     func(t *testing.T, c *kfake.Cluster, addrs []string)
	}{
		{name: "AddPartitionsToTxn", pre890: true, fault: &kfake.Fault{Keys: []kmsg.Key{kmsg.AddPartitionsToTxn}, Err: kerr.UnknownServerError, Count: 3}},
		{name: "AddPartitionsToTxn-retriable", pre890: true, fault: &kfake.Fault{Keys: []kmsg.Key{kmsg.AddPartitionsToTxn}, Err: kerr.ConcurrentTransactions, Count: 3}},
		{name: "AddOffsetsToTxn", pre890: true, fault: &kfake.Fault{Keys: []kmsg.Key{kmsg.AddOffsetsToTxn}, Err: kerr.UnknownServerError, Count: 3}},
		{name: "TxnOffsetCommit", fault: &kfake.Fault{Keys: []kmsg.Key{kmsg.TxnOffsetCommit}, Err: kerr.UnknownServerError, Count: 3}},
		{name: "TxnOffsetCommit-generation", fault: &kfake.Fault{Keys: []kmsg.Key{kmsg.TxnOffsetCommit}, Err: kerr.IllegalGeneration, Count: 2}},
		{name: "EndTxn", fault: &kfake.Fault{Keys: []kmsg.Key{kmsg.EndTxn}, Err: kerr.UnknownServerError, Count: 3}},
		{name: "EndTxn-fenced-epoch", fault: &kfake.Fault{Keys: []kmsg.Key{kmsg.EndTxn}, Err: kerr.InvalidProducerEpoch, Count: 2}},
		{name: "Produce", fault: &kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "out", Err: kerr.UnknownServerError, Count: 3}},
		{name: "Produce-fenced-epoch", fault: &kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "out", Err: kerr.InvalidProducerEpoch, Count: 2}},
		{name: "coordinator-moves", brokers: 3, act: func(t *testing.T, c *kfake.Cluster, _ []string) {
			c.RehashCoordinators()
		}},
		{name: "fenced-by-new-incarnation", act: func(t *testing.T, _ *kfake.Cluster, addrs []string) {
			// another client takes the transactional id: the processor's
			// producer epoch is fenced; it must start a new session
			// (fencing the other in turn) and commit nothing of the
			// fenced transaction
			z := newClient(t, addrs, kgo.TransactionalID("eos-test-0"))
			if err := z.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := z.ProduceSync(ctx, &kgo.Record{Topic: "unrelated", Value: []byte("x")}).FirstErr(); err != nil {
				t.Logf("the other incarnation's produce: %v", err)
			}
			_ = z.EndTransaction(ctx, kgo.TryAbort)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startTxnCluster(t, max(tc.brokers, 1), parts, "in", "out", "dlq")
			addrs := c.ListenAddrs()
			p := newEOS(t, addrs, nil, func(o *Options) {
				if tc.pre890 {
					o.ClientOpts = append(o.ClientOpts, kgo.MaxVersions(kversion.V3_7_0()))
				}
			})
			cl := newClient(t, addrs)
			produceInputs(t, cl, 0, n/3)
			stop := runProcessor(t, p)
			waitFor(t, 30*time.Second, "a first commit", func() bool { return committedTotal(t, addrs, "eos") > 0 })
			var h *kfake.FaultHandle
			if tc.fault != nil {
				h = c.Fault(*tc.fault)
			}
			if tc.act != nil {
				tc.act(t, c, addrs)
			}
			produceInputs(t, cl, n/3, n)
			if h != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				if err := h.Wait(ctx, 1); err != nil {
					t.Errorf("the fault was never hit: %v", err)
				}
				cancel()
			}
			waitFor(t, 60*time.Second, "every offset committed", func() bool { return committedTotal(t, addrs, "eos") == n })
			if h != nil {
				h.Remove()
			}
			stop()
			checkOnce(t, readCommitted(t, addrs, parts, "out", "dlq"), n)
			t.Logf("transactions: %d committed, %d aborted", p.Stats().Commits.Load(), p.Stats().TxnAborts.Load())
		})
	}
}

// histogramSum is the sum of the observations of a histogram on reg.
func histogramSum(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetHistogram().GetSampleSum()
		}
	}
	return 0
}

// lateTxnProducer hands Task records to a processor made after the
// workflow.
type lateTxnProducer struct{ p atomic.Pointer[TxnProducer] }

func (l *lateTxnProducer) ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	return l.p.Load().ProduceSync(ctx, rs...)
}

// TestExactlyOnceTaskRecords runs a workflow whose Task publishes to a
// kafka: target before the execution succeeds or fails, while produces
// of the output fail now and then (aborted transactions): under
// read_committed every input has exactly one Task record and one result.
func TestExactlyOnceTaskRecords(t *testing.T) {
	const parts, n = 3, 1200
	c := startTxnCluster(t, 1, parts, "in", "out", "dlq", "side")
	addrs := c.ListenAddrs()
	wf, late := sideTaskWorkflow(t, `{"StartAt":"Pub","States":{
		"Pub":{"Type":"Task","Resource":"side","ResultPath":null,"Next":"Check"},
		"Check":{"Type":"Choice","Choices":[{"Variable":"$.fail","IsPresent":true,"Next":"Boom"}],"Default":"Done"},
		"Boom":{"Type":"Fail","Error":"Test.Fail"},
		"Done":{"Type":"Succeed"}}}`)
	p := newEOS(t, addrs, nil, func(o *Options) { o.Workflow = wf })
	late.p.Store(p.Producer())
	cl := newClient(t, addrs)
	produceInputs(t, cl, 0, n/3)
	stop := runProcessor(t, p)
	waitFor(t, 30*time.Second, "a first commit", func() bool { return committedTotal(t, addrs, "eos") > 0 })
	h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "out", Err: kerr.UnknownServerError, Count: 3})
	produceInputs(t, cl, n/3, n)
	waitFor(t, 60*time.Second, "every offset committed", func() bool { return committedTotal(t, addrs, "eos") == n })
	h.Remove()
	stop()
	if h.Hits() == 0 {
		t.Error("the fault was never hit")
	}
	if p.Stats().TxnAborts.Load() == 0 {
		t.Error("no transaction aborted")
	}
	checkOnce(t, readCommitted(t, addrs, parts, "out", "dlq"), n)
	side := map[string]int{}
	for k, c := range readCommittedBy(t, addrs, parts, "Idempotency-Key", "side") {
		side[k] = c
	}
	checkOnce(t, side, n)
}

// sideTaskWorkflow compiles def (workflow "eos") with the resource "side",
// a kafka:side target that publishes through the returned producer: give
// it the processor's (Processor.Producer) once made.
func sideTaskWorkflow(t testing.TB, def string) (*express.Workflow, *lateTxnProducer) {
	t.Helper()
	late := &lateTxnProducer{}
	res, err := resources.New(resources.Config{Routes: map[string][]resources.Target{"side": {mustTarget(t, "kafka:side")}}, Producer: late})
	if err != nil {
		t.Fatal(err)
	}
	wf, err := compile.Compile([]byte(def), compile.Options{Name: "eos", Invoker: res, CheckResource: res.CheckResource})
	if err != nil {
		t.Fatal(err)
	}
	return wf, late
}

func mustTarget(t testing.TB, s string) resources.Target {
	t.Helper()
	tg, err := resources.ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// TestExactlyOnceRebalance runs one, then two, then three exactly-once
// processors in one group (each its own transactional id), then stops the
// first, while inputs keep coming: every revoke aborts or commits cleanly,
// and under read_committed every input has exactly one result.
func TestExactlyOnceRebalance(t *testing.T) {
	const parts, n = 6, 6000
	c := startTxnCluster(t, 1, parts, "in", "out", "dlq")
	addrs := c.ListenAddrs()
	cl := newClient(t, addrs)
	var procs []*Processor
	var stops []func()
	start := func(id string) {
		p := newEOS(t, addrs, nil, func(o *Options) { o.TransactionalID = id })
		procs = append(procs, p)
		stops = append(stops, runProcessor(t, p))
	}
	finished := func() int64 {
		var f int64
		for _, p := range procs {
			f += p.Stats().Finished.Load()
		}
		return f
	}
	step := n / 5
	for i, id := range []string{"a", "b", "c"} {
		produceInputs(t, cl, i*step, (i+1)*step)
		start(id)
		waitFor(t, 30*time.Second, "the new member to work", func() bool { return procs[i].Stats().Commits.Load() > 0 || finished() >= int64((i+1)*step) })
	}
	produceInputs(t, cl, 3*step, 4*step)
	stops[0]() // leaves mid-stream
	produceInputs(t, cl, 4*step, n)
	waitFor(t, 60*time.Second, "every offset committed", func() bool { return committedTotal(t, addrs, "eos") == n })
	for _, stop := range stops {
		stop()
	}
	var aborts int64
	for _, p := range procs {
		aborts += p.Stats().TxnAborts.Load()
	}
	t.Logf("aborted transactions: %d", aborts)
	checkOnce(t, readCommitted(t, addrs, parts, "out", "dlq"), n)
}

// TestExactlyOnceSlowBacklog drains a backlog of slow records with a short
// drain timeout: the first transactions cannot finish in time and abort,
// the processor shrinks its transactions until they do, and every input
// ends with exactly one result (no livelock).
func TestExactlyOnceSlowBacklog(t *testing.T) {
	const parts, n = 3, 600
	c := startTxnCluster(t, 1, parts, "in", "out", "dlq")
	addrs := c.ListenAddrs()
	var rs []*kgo.Record
	for i := range n {
		rs = append(rs, &kgo.Record{Topic: "in", Key: []byte("k" + strconv.Itoa(i)), Value: []byte(fmt.Sprintf(`{"i":%d,"sleepMs":20}`, i))})
	}
	produceAll(t, newClient(t, addrs), rs)
	p := newEOS(t, addrs, nil, func(o *Options) {
		o.Concurrency, o.DrainTimeout, o.TxnMaxRecords, o.Ordering = 4, 500*time.Millisecond, 5000, OrderUnordered
	})
	stop := runProcessor(t, p)
	waitFor(t, 60*time.Second, "every offset committed", func() bool { return committedTotal(t, addrs, "eos") == n })
	stop()
	if p.Stats().TxnAborts.Load() == 0 {
		t.Error("no transaction aborted: the test does not exercise the shrinking")
	}
	t.Logf("transactions: %d committed, %d aborted", p.Stats().Commits.Load(), p.Stats().TxnAborts.Load())
	checkOnce(t, readCommitted(t, addrs, parts, "out", "dlq"), n)
}
