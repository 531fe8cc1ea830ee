package kafka

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestRevokeLeavesNoInFlight: records still queued or running when a
// partition is revoked leave the in-flight count with it. Before, each
// revoke leaked them, and once the leak reached MaxInFlight the poll loop
// waited forever.
func TestRevokeLeavesNoInFlight(t *testing.T) {
	const parts, n = 4, 400
	addrs := startCluster(t, parts, "in", "out", "dlq")
	var rs []*kgo.Record
	for i := range n {
		// few keys: most records wait behind their key when the revoke comes
		rs = append(rs, &kgo.Record{Topic: "in", Key: []byte(strconv.Itoa(i % 8)), Value: []byte(`{"sleepMs":50}`)})
	}
	produceAll(t, newClient(t, addrs), rs)
	newProc := func() *Processor {
		p, err := New(Options{Workflow: fakeWorkflow("leak"), Topics: []string{"in"}, Group: "leak", OutputTopic: "out", DLQTopic: "dlq",
			Concurrency: 8, CommitInterval: 50 * time.Millisecond, DrainTimeout: 50 * time.Millisecond,
			ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := newProc(), newProc()
	runProcessor(t, a)
	waitFor(t, 20*time.Second, "a to admit everything", func() bool { return a.Stats().Consumed.Load() >= n })
	runProcessor(t, b) // a's partitions are revoked with most records unfinished
	waitFor(t, 60*time.Second, "every offset committed", func() bool {
		var total int64
		for _, o := range committed(t, addrs, "leak", "in") {
			total += o
		}
		return total == n
	})
	waitFor(t, 10*time.Second, "in flight back to 0 on both members", func() bool {
		return a.InFlight() == 0 && b.InFlight() == 0 && a.bytes.Load() == 0 && b.bytes.Load() == 0
	})
	if a.Partitions()+b.Partitions() != parts {
		t.Fatalf("assigned %d+%d partitions", a.Partitions(), b.Partitions())
	}
}

// TestHungTasksDoNotWedge: with every worker stuck in a Task that does not
// return, admission does not block (it used to block in the pool while
// holding the partition map's lock), so a second member gets partitions,
// the metrics answer, and shutdown takes the drain timeout, not the Tasks'
// time; records queued behind the stuck ones are not started after the
// signal.
func TestHungTasksDoNotWedge(t *testing.T) {
	const parts = 4
	addrs := startCluster(t, parts, "in", "out", "dlq")
	var rs []*kgo.Record
	for i := range 200 {
		rs = append(rs, &kgo.Record{Topic: "in", Value: []byte(`{"sleepMs":120000,"i":` + strconv.Itoa(i) + `}`)})
	}
	produceAll(t, newClient(t, addrs), rs)
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	newProc := func(metrics *Metrics) *Processor {
		p, err := New(Options{Workflow: fakeWorkflow("hung"), Topics: []string{"in"}, Group: "hung", OutputTopic: "out", DLQTopic: "dlq",
			Concurrency: 4, Ordering: OrderUnordered, DrainTimeout: time.Second, Metrics: metrics,
			ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...), kgo.SessionTimeout(6 * time.Second), kgo.RebalanceTimeout(10 * time.Second)}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := newProc(m)
	stopA := runProcessor(t, a)
	waitFor(t, 20*time.Second, "all workers stuck and records queued", func() bool {
		return a.pool.busy.Load() == 4 && a.Stats().Consumed.Load() >= 100
	})
	scrape := make(chan error, 1)
	go func() { _, err := reg.Gather(); scrape <- err }()
	select {
	case err := <-scrape:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("metrics did not answer within a second")
	}
	b := newProc(nil)
	runProcessor(t, b)
	waitFor(t, 30*time.Second, "the second member to get partitions", func() bool { return b.Partitions() > 0 })
	started := a.Stats().Consumed.Load()
	t0 := time.Now()
	stopA()
	if d := time.Since(t0); d > 8*time.Second {
		t.Fatalf("shutdown took %v with a 1s drain timeout", d)
	}
	if a.InFlight() != 0 {
		t.Fatalf("%d records still counted in flight after shutdown", a.InFlight())
	}
	if got := a.Stats().Consumed.Load(); got != started {
		t.Fatalf("%d records admitted after the shutdown began", got-started)
	}
	if a.Stats().Finished.Load() != 0 || a.Stats().DLQ.Load() != 0 {
		t.Fatal("a hung execution was finished or dead-lettered instead of abandoned")
	}
}

// setTopicConfig sets one topic config on the broker.
func setTopicConfig(t *testing.T, addrs []string, topic, name, value string) {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType = kmsg.ConfigResourceTypeTopic
	res.ResourceName = topic
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Value = name, &value
	res.Configs = append(res.Configs, c)
	req.Resources = append(req.Resources, res)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, newClient(t, addrs))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.Resources {
		if r.ErrorCode != 0 {
			t.Fatalf("alter configs: error %d %v", r.ErrorCode, r.ErrorMessage)
		}
	}
}

// TestOversizedDeadLetter: a dead letter the broker (or the client's own
// batch limit) refuses as too large is sent truncated, with the original
// size, so that its offset is committed; it was retried every second
// forever.
func TestOversizedDeadLetter(t *testing.T) {
	addrs := startCluster(t, 1, "in", "out", "dlq")
	setTopicConfig(t, addrs, "dlq", "max.message.bytes", "3000")
	incompressible := make([]byte, 6000)
	for i := range incompressible {
		incompressible[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[rand.IntN(36)]
	}
	huge := `{"pad":"` + strings.Repeat("y", 1_200_000) + `"}` // over the client's 1,000,012-byte batch limit
	produceAll(t, newClient(t, addrs, kgo.ProducerBatchMaxBytes(2<<20)), []*kgo.Record{
		{Topic: "in", Value: incompressible, Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-abc-def-01")}}},
		{Topic: "in", Value: []byte(huge)},
		{Topic: "in", Value: []byte(`{"fail":true}`)},
	})
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{Workflow: fakeWorkflow("big"), Topics: []string{"in"}, Group: "g", OutputTopic: "out", DLQTopic: "dlq",
		MaxRecordBytes: 4000, CommitInterval: 50 * time.Millisecond, Metrics: m,
		ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...), kgo.FetchMaxPartitionBytes(4 << 20)}})
	if err != nil {
		t.Fatal(err)
	}
	runProcessor(t, p)
	waitFor(t, 30*time.Second, "3 records committed", func() bool { return committed(t, addrs, "g", "in")[0] == 3 })
	dlq := consumeN(t, addrs, 3, 10*time.Second, "dlq")
	if len(dlq) != 3 {
		t.Fatalf("DLQ has %d records", len(dlq))
	}
	// in source order: the resends may land in any order
	slices.SortFunc(dlq, func(a, b *kgo.Record) int {
		return strings.Compare(header(a, HeaderSourceOffset), header(b, HeaderSourceOffset))
	})
	for i, want := range []int{len(incompressible), len(huge)} {
		r := dlq[i]
		if header(r, HeaderTruncated) != "true" || header(r, HeaderOriginalSize) != strconv.Itoa(want) || header(r, HeaderError) != ErrRecordTooLarge {
			t.Fatalf("dead letter %d: headers %v", i, r.Headers)
		}
		if len(r.Value) == 0 || len(r.Value) >= want {
			t.Fatalf("dead letter %d: %d bytes of %d", i, len(r.Value), want)
		}
	}
	if !strings.HasPrefix(string(incompressible), string(dlq[0].Value)) || header(dlq[0], "traceparent") == "" {
		t.Fatalf("the truncated dead letter is not the record's first bytes with its headers")
	}
	if header(dlq[2], HeaderTruncated) != "" || header(dlq[2], HeaderError) != "Test.Fail" {
		t.Fatalf("a small dead letter was changed: %v", dlq[2].Headers)
	}
	if got := p.Stats().DLQ.Load(); got != 3 {
		t.Fatalf("stats count %d dead letters, want 3", got)
	}
	text := gatherText(t, reg)
	for _, want := range []string{
		`express_dlq_truncated_total{result="truncated",workflow="big"} 2`,
		`express_dlq_records_total{reason="rejected",workflow="big"} 2`,
		`express_dlq_records_total{reason="failed",workflow="big"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// gatherText returns the registry's metrics as `name{labels} value` lines.
func gatherText(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			fmt.Fprintf(&b, "%s{%s} %g\n", mf.GetName(), strings.Join(labels, ","), v)
		}
	}
	return b.String()
}

// TestInFlightBytesBound: fetching waits while the value bytes in flight
// reach MaxInFlightBytes (one poll may go over it).
func TestInFlightBytesBound(t *testing.T) {
	addrs := startCluster(t, 2, "in", "out", "dlq")
	val := `{"sleepMs":20,"pad":"` + strings.Repeat("z", 1000) + `"}`
	var rs []*kgo.Record
	for range 300 {
		rs = append(rs, &kgo.Record{Topic: "in", Value: []byte(val)})
	}
	produceAll(t, newClient(t, addrs), rs)
	const limit, poll = 10_000, 4
	p, err := New(Options{Workflow: fakeWorkflow("bytes"), Topics: []string{"in"}, Group: "g", OutputTopic: "out", DLQTopic: "dlq",
		Concurrency: 100, Ordering: OrderUnordered, MaxInFlightBytes: limit, MaxPollRecords: poll,
		ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
	if err != nil {
		t.Fatal(err)
	}
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if b := p.bytes.Load(); b > peak.Load() {
				peak.Store(b)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	runProcessor(t, p)
	waitFor(t, 60*time.Second, "300 records", func() bool { return p.Stats().Finished.Load() >= 300 })
	close(done)
	if max := int64(limit + poll*len(val)); peak.Load() > max || peak.Load() == 0 {
		t.Fatalf("peak in-flight bytes %d, want at most %d", peak.Load(), max)
	}
	if p.bytes.Load() != 0 || p.InFlight() != 0 {
		t.Fatalf("%d bytes, %d records in flight when idle", p.bytes.Load(), p.InFlight())
	}
}

// TestOldestInFlightMetric: the age of a partition's oldest unfinished
// record is exposed (a stuck key shows here), measured from its
// admission: at least a second once one has passed, and no more than the
// test has run.
func TestOldestInFlightMetric(t *testing.T) {
	addrs := startCluster(t, 1, "in", "out", "dlq")
	produceAll(t, newClient(t, addrs), []*kgo.Record{{Topic: "in", Key: []byte("k"), Value: []byte(`{"sleepMs":30000}`)}})
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{Workflow: fakeWorkflow("old"), Topics: []string{"in"}, Group: "g", OutputTopic: "out", DLQTopic: "dlq",
		DrainTimeout: 100 * time.Millisecond, Metrics: m, ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	runProcessor(t, p)
	waitFor(t, 20*time.Second, "the record admitted", func() bool { return p.InFlight() == 1 })
	waitFor(t, 20*time.Second, "an oldest in-flight age of a second", func() bool {
		for _, line := range strings.Split(gatherText(t, reg), "\n") {
			if strings.HasPrefix(line, "express_oldest_inflight_seconds{") {
				v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
				if limit := time.Since(began).Seconds(); v > limit {
					t.Fatalf("oldest in flight %v s, more than the %v s the test has run", v, limit)
				}
				return v >= 1
			}
		}
		return false
	})
}

// TestBrokerRestartedEmpty: a broker restarted empty on the same address
// has new topic ids; the processor used to stall on UNKNOWN_TOPIC_ID for
// ever. It now reads the topics anew and processes what the new broker
// gets, and its in-flight count is exact.
func TestBrokerRestartedEmpty(t *testing.T) {
	start := func(addr string) *kfake.Cluster {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "in", "out", "dlq"),
			kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, addr) }))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := start("127.0.0.1:0")
	addr := c.ListenAddrs()[0]
	records := func() []*kgo.Record {
		var rs []*kgo.Record
		for i := range 50 {
			rs = append(rs, &kgo.Record{Topic: "in", Key: []byte(strconv.Itoa(i)), Value: []byte(`{"n":1}`)})
		}
		return rs
	}
	produceAll(t, newClient(t, []string{addr}), records())
	p, err := New(Options{Workflow: fakeWorkflow("restart"), Topics: []string{"in"}, Group: "g", OutputTopic: "out", DLQTopic: "dlq",
		CommitInterval: 50 * time.Millisecond, DrainTimeout: time.Second,
		ClientOpts: []kgo.Opt{kgo.SeedBrokers(addr), kgo.SessionTimeout(6 * time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
	runProcessor(t, p)
	waitFor(t, 20*time.Second, "the first broker's records", func() bool { return p.Stats().Output.Load() >= 50 })
	c.Close()
	var c2 *kfake.Cluster
	waitFor(t, 10*time.Second, "the address to be free", func() bool {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return false
		}
		ln.Close()
		c2 = start(addr)
		return true
	})
	t.Cleanup(c2.Close)
	produceAll(t, newClient(t, []string{addr}), records())
	waitFor(t, 60*time.Second, "the new broker's records processed", func() bool { return p.Stats().Output.Load() >= 100 })
	waitFor(t, 10*time.Second, "in flight back to 0", func() bool { return p.InFlight() == 0 })
	if out := consumeN(t, []string{addr}, 50, 10*time.Second, "out"); len(out) < 50 {
		t.Fatalf("the new broker has %d outputs, want 50", len(out))
	}
}
