package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ohler55/ojg/oj"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/stepstream/express/console"
	"github.com/stepstream/express/daemon"
	"github.com/stepstream/express/daemon/config"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/kafka"
	"github.com/stepstream/express/load/readings"
)

// The Kafka benchmarks share one in-process kfake broker on 127.0.0.1 with
// EXPRESS_BENCH_RECORDS (default 1,000,000) readings pre-loaded into 12
// partitions, keyed by device (1000 devices, snappy): the all-valid stream
// (temperature and humidity, 2% out of range) in topic "readings", and, for
// the -mixed variants, issue 16's realistic mix (five sensor types, 5% out
// of range: about 60% of the reference workflow's executions fail and are
// dead-lettered) in topic "readings-mixed". Every pass reads all of them in
// a new consumer group and ends when every record's result is acknowledged
// and its offset committed.
const benchPartitions = 12

// The benchmarks' input topics.
const (
	topicValid = "readings"
	topicMixed = "readings-mixed"
)

var kafkaBench struct {
	once  sync.Once
	err   error
	addrs []string
	n     int
	// the input topics loaded so far (topicValid, topicMixed)
	loaded map[string]error

	// the latest passthrough pass of this process per input topic, for
	// the fractions: whole records/s and ns
	ptRate, ptCPU sync.Map // topic -> float64
	// the latest at-least-once daemon pass on the all-valid stream, for
	// exactly once's fraction
	alRate atomic.Uint64
	groups atomic.Int64
}

func benchRecords() int {
	if n, err := strconv.Atoi(os.Getenv("EXPRESS_BENCH_RECORDS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// kafkaSetup starts the broker once per process and pre-loads topic with
// the readings (once per topic); it returns the broker addresses and the
// record count.
func kafkaSetup(b *testing.B, topic string) ([]string, int) {
	b.Helper()
	kafkaBench.once.Do(func() {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(benchPartitions, topicValid, topicMixed), kfake.AllowAutoTopicCreation(),
			kfake.DefaultNumPartitions(benchPartitions),
			kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") }))
		if err != nil {
			kafkaBench.err = err
			return
		}
		kafkaBench.addrs, kafkaBench.n = c.ListenAddrs(), benchRecords()
		kafkaBench.loaded = map[string]error{}
	})
	if kafkaBench.err != nil {
		b.Fatal(kafkaBench.err)
	}
	err, ok := kafkaBench.loaded[topic] // sub-benchmarks run one at a time
	if !ok {
		err = preload(kafkaBench.addrs, topic, kafkaBench.n)
		kafkaBench.loaded[topic] = err
	}
	if err != nil {
		b.Fatal(err)
	}
	return kafkaBench.addrs, kafkaBench.n
}

// preload produces n readings into topic: the all-valid stream into
// topicValid, the realistic mix into topicMixed.
func preload(addrs []string, topic string, n int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ProducerBatchCompression(kgo.SnappyCompression()),
		kgo.MaxBufferedRecords(100_000), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	g := readings.NewGenerator(1, 1000, 0, 2)
	if topic == topicMixed {
		g.Mix, g.OutOfRangePercent = readings.MixRealistic, readings.RealisticOutOfRangePercent
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var failed atomic.Pointer[error]
	for i := range n {
		k, v, _ := g.Next(nil, make([]byte, 0, 208), int64(i), now.Add(time.Duration(i)*time.Millisecond))
		cl.Produce(context.Background(), &kgo.Record{Topic: topic, Key: k, Value: v}, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Store(&err)
			}
		})
	}
	if err := cl.Flush(context.Background()); err != nil {
		return err
	}
	if e := failed.Load(); e != nil {
		return *e
	}
	return nil
}

// passthrough is the raw limit: a plain franz-go consumer group that
// consumes, parses each value (ojg), adds a field, serialises and produces
// it, and commits each poll once its records are acknowledged; no
// workflow. With parse false it forwards the bytes unchanged.
func passthrough(b *testing.B, addrs []string, topic string, n int, group string, parse bool) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AllowAutoTopicCreation(), kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(20_000))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	var p oj.Parser
	var wr oj.Writer
	var failed atomic.Int64
	var firstErr atomic.Pointer[error]
	out := "pt-" + group
	for done := 0; done < n; {
		fs := cl.PollRecords(ctx, 10_000)
		var wg sync.WaitGroup
		fs.EachRecord(func(r *kgo.Record) {
			val := r.Value
			if parse {
				v, err := p.Parse(r.Value)
				if err != nil {
					b.Fatal(err)
				}
				v.(map[string]any)["seen"] = true
				val = append([]byte(nil), wr.MustJSON(v)...)
			}
			wg.Add(1)
			cl.Produce(ctx, &kgo.Record{Topic: out, Key: r.Key, Value: val}, func(_ *kgo.Record, err error) {
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, &err)
				}
				wg.Done()
			})
			done++
		})
		wg.Wait()
		if err := cl.CommitRecords(ctx, fs.Records()...); err != nil {
			b.Fatal(err)
		}
	}
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d produces failed: %v", f, *firstErr.Load())
	}
}

// daemonPassWith runs the daemon's full path (kafka.Processor configured
// as `express serve` configures it: the reference workflow with its static
// Enrich resource, metrics and hooks, key ordering) until every record is
// finished, then stops it, which commits the rest. It returns the number
// of dead letters and, exactly once, the p99 of the committed
// transactions' durations (0 at least once). delivery is "" or
// exactly-once, txnInterval the transaction interval (0: the default).
// withConsole adds the console as the daemon wires it (transition hook,
// sampled histories, failures and dead letters, the registry read every
// second) and a page open on it (its figures fetched every second).
func daemonPassWith(b *testing.B, addrs []string, topic string, n int, group, delivery string, txnInterval time.Duration, withConsole bool) (int64, time.Duration) {
	w := config.Workflow{Name: "iot-reference", Definition: "demo", DefinitionBytes: daemon.DemoDefinition, Topics: []string{topic},
		Group: group, OutputTopic: "out-" + group, DLQTopic: "dlq-" + group, Resources: map[string]config.Targets{}}
	for k, v := range daemon.DemoResources {
		w.Resources[k] = config.Targets{v}
	}
	if delivery != "" {
		w.Delivery, w.TxnInterval = delivery, config.Duration(txnInterval)
	}
	reg := prometheus.NewRegistry()
	metrics, err := kafka.NewMetrics(reg)
	if err != nil {
		b.Fatal(err)
	}
	hooks := metrics.Hooks
	var cw *console.Workflow
	if withConsole {
		c := console.New(console.Options{Gatherer: reg})
		cw = c.Workflow(w.Name)
		if err := cw.SetDefinition(w.DefinitionBytes); err != nil {
			b.Fatal(err)
		}
		hooks = func(name string) express.Hooks { return cw.Hooks(metrics.Hooks(name)) }
		cctx, stop := context.WithCancel(context.Background())
		defer stop()
		go c.Run(cctx)
		go openPage(cctx, c.Handler(), "/ui/api/workflows/"+w.Name+"/stats")
	}
	resolved, err := config.Check(&config.File{Workflows: []config.Workflow{w}, InstanceID: "bench"}, config.CompileOptions{Hooks: hooks})
	if err != nil {
		b.Fatal(err)
	}
	o := resolved[0].Options
	if cw != nil {
		o.Observer = cw
	}
	o.ClientOpts = []kgo.Opt{kgo.SeedBrokers(addrs...), kgo.AllowAutoTopicCreation()}
	o.Metrics = metrics
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := kafka.New(o)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Minute)
	for p.Stats().Finished.Load() < int64(n) {
		if time.Now().After(deadline) {
			b.Fatalf("daemon finished %d of %d records in 10 minutes", p.Stats().Finished.Load(), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	if got := p.Stats().Output.Load() + p.Stats().DLQ.Load(); got != int64(n) {
		b.Fatalf("%d results for %d records", got, n)
	}
	return p.Stats().DLQ.Load(), histQuantile(b, reg, "express_transaction_duration_seconds", 0.99)
}

// histQuantile is the q-quantile of a histogram on reg, interpolated in
// its bucket as Prometheus's histogram_quantile does (0 when empty).
func histQuantile(b *testing.B, reg *prometheus.Registry, name string, q float64) time.Duration {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) == 0 {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		rank := q * float64(h.GetSampleCount())
		lo, below := 0.0, 0.0
		for _, bk := range h.GetBucket() {
			if c := float64(bk.GetCumulativeCount()); c >= rank && c > below {
				v := lo + (bk.GetUpperBound()-lo)*(rank-below)/(c-below)
				return time.Duration(v * float64(time.Second))
			}
			lo, below = bk.GetUpperBound(), float64(bk.GetCumulativeCount())
		}
		return time.Duration(lo * float64(time.Second))
	}
	return 0
}

// kafkaPasses times b.N passes of run over the pre-loaded records and
// reports records/s, ns/record, cpu-ns/record and allocs/record (the
// in-process broker's share included); it returns records/s and
// cpu-ns/record.
func kafkaPasses(b *testing.B, topic string, run func(addrs []string, n int, group string)) (float64, float64) {
	addrs, n := kafkaSetup(b, topic)
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(200)) // as express serve
	}
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		g := fmt.Sprintf("bench-%d", kafkaBench.groups.Add(1))
		run(addrs, n, g)
		b.StopTimer()
		// the broker keeps records in memory: drop this pass's results so
		// that every pass starts with the same heap
		deleteTopics(b, addrs, "pt-"+g, "out-"+g, "dlq-"+g)
		runtime.GC()
		b.StartTimer()
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	recs := float64(b.N) * float64(n)
	rate := recs / b.Elapsed().Seconds()
	cpuNs := float64(cpu.Nanoseconds()) / recs
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(rate, "records/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/recs, "ns/record")
	b.ReportMetric(cpuNs, "cpu-ns/record")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/recs, "allocs/record")
	return rate, cpuNs
}

func deleteTopics(b *testing.B, addrs []string, topics ...string) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TimeoutMillis = 10_000
	for _, t := range topics {
		req.TopicNames = append(req.TopicNames, t)
		rt := kmsg.NewDeleteTopicsRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := req.RequestWith(ctx, cl); err != nil {
		b.Fatal(err)
	}
}

// openPage fetches a console page's figures every second, as its script
// does, until ctx is done.
func openPage(ctx context.Context, ui http.Handler, path string) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			ui.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
		}
	}
}

// BenchmarkKafka measures, in one process on the same pre-loaded records:
//
//   - passthrough: the raw limit (consume, parse, add a field, serialise,
//     produce, commit after ack; no workflow), as in ../shared/bench;
//   - passthrough-bytes: the same forwarding the bytes unparsed;
//   - daemon: the daemon's full path with the reference workflow, with
//     its fraction of the latest passthrough pass: of-passthrough
//     (records/s over records/s) and cpu-of-passthrough (CPU per record of
//     the passthrough over the daemon's, which the other processes of a
//     shared machine disturb less);
//   - daemon-console: the same with the console on and a page open on it;
//   - passthrough-mixed and daemon-mixed: the same two on issue 16's
//     realistic mix, where about 60% of the executions fail and go to the
//     dead-letter topic (daemon-mixed reports dlq-share).
//
// Run it with -count to pair several passthrough and daemon passes.
func BenchmarkKafka(b *testing.B) {
	pt := func(topic string, parse bool) func(b *testing.B) {
		return func(b *testing.B) {
			rate, cpu := kafkaPasses(b, topic, func(addrs []string, n int, g string) { passthrough(b, addrs, topic, n, g, parse) })
			if parse {
				kafkaBench.ptRate.Store(topic, rate)
				kafkaBench.ptCPU.Store(topic, cpu)
			}
		}
	}
	dm := func(topic string, withConsole bool) func(b *testing.B) {
		return func(b *testing.B) {
			var dlq, recs int64
			rate, cpu := kafkaPasses(b, topic, func(addrs []string, n int, g string) {
				d, _ := daemonPassWith(b, addrs, topic, n, g, "", 0, withConsole)
				dlq += d
				recs += int64(n)
			})
			if topic == topicValid && !withConsole {
				kafkaBench.alRate.Store(uint64(rate))
			}
			if ptRate, ok := kafkaBench.ptRate.Load(topic); ok {
				ptCPU, _ := kafkaBench.ptCPU.Load(topic)
				b.ReportMetric(rate/ptRate.(float64), "of-passthrough")
				b.ReportMetric(ptCPU.(float64)/cpu, "cpu-of-passthrough")
			}
			if topic == topicMixed {
				b.ReportMetric(float64(dlq)/float64(recs), "dlq-share")
			}
		}
	}
	b.Run("passthrough", pt(topicValid, true))
	b.Run("passthrough-bytes", pt(topicValid, false))
	b.Run("daemon", dm(topicValid, false))
	b.Run("daemon-console", dm(topicValid, true))
	b.Run("passthrough-mixed", pt(topicMixed, true))
	b.Run("daemon-mixed", dm(topicMixed, false))
	for _, iv := range []time.Duration{kafka.DefaultTxnInterval, 20 * time.Millisecond, 500 * time.Millisecond} {
		b.Run("daemon-exactly-once/txn="+iv.String(), func(b *testing.B) {
			var p99 time.Duration
			rate, _ := kafkaPasses(b, topicValid, func(addrs []string, n int, g string) {
				_, q := daemonPassWith(b, addrs, topicValid, n, g, "exactly-once", iv, false)
				p99 = max(p99, q)
			})
			if al := kafkaBench.alRate.Load(); al > 0 {
				b.ReportMetric(rate/float64(al), "of-at-least-once")
			}
			b.ReportMetric(float64(p99.Microseconds())/1000, "txn-p99-ms")
		})
	}
}

// BenchmarkKafkaDelivery alternates at-least-once and exactly-once daemon
// passes over the same pre-loaded records, so that both see the same
// machine, at three transaction intervals (sub-benchmarks txn=D), and
// reports the median of each one's records/s, the median of the pairs'
// ratios (eos-of-alo) and the highest p99 of the transactions' durations.
// Each b.N is one pair.
func BenchmarkKafkaDelivery(b *testing.B) {
	for _, iv := range []time.Duration{kafka.DefaultTxnInterval, 20 * time.Millisecond, 500 * time.Millisecond} {
		b.Run("txn="+iv.String(), func(b *testing.B) { deliveryPairs(b, iv) })
	}
}

func deliveryPairs(b *testing.B, interval time.Duration) {
	addrs, n := kafkaSetup(b, topicValid)
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(200))
	}
	var alo, eos, ratio []float64
	var p99 time.Duration
	pass := func(delivery string) float64 {
		g := fmt.Sprintf("bench-%d", kafkaBench.groups.Add(1))
		runtime.GC()
		t0 := time.Now()
		_, q := daemonPassWith(b, addrs, topicValid, n, g, delivery, interval, false)
		p99 = max(p99, q)
		rate := float64(n) / time.Since(t0).Seconds()
		deleteTopics(b, addrs, "out-"+g, "dlq-"+g)
		return rate
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a := pass("")
		e := pass("exactly-once")
		alo, eos, ratio = append(alo, a), append(eos, e), append(ratio, e/a)
	}
	b.StopTimer()
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(median(alo), "alo-records/s")
	b.ReportMetric(median(eos), "eos-records/s")
	b.ReportMetric(median(ratio), "eos-of-alo")
	b.ReportMetric(float64(p99.Microseconds())/1000, "txn-p99-ms")
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
