package kafka

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ohler55/ojg/oj"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/testutil"
	"github.com/stepstream/express/resources"
)

const benchDir = "testdata/" // copies of /work/shared/bench

func referenceWorkflow(t testing.TB) *express.Workflow {
	t.Helper()
	def, err := os.ReadFile(benchDir + "iot-reference.asl.json")
	if err != nil {
		testutil.Missing(t, "reference workflow not available: %v", err)
	}
	tg, err := resources.ParseTarget(`static:{"site":"plant-1","threshold":30}`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := resources.New(resources.Config{Routes: map[string][]resources.Target{
		"arn:aws:lambda:eu-west-1:123456789012:function:enrich-device": {tg}}})
	if err != nil {
		t.Fatal(err)
	}
	wf, err := compile.Compile(def, compile.Options{Name: "iot", Invoker: res, CheckResource: res.CheckResource})
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

func iotReading(i int, dev string, value float64) []byte {
	return []byte(fmt.Sprintf(`{"deviceId":%q,"ts":"2026-11-22T10:00:%02dZ","type":"temperature","value":%g,"unit":"C","battery":0.83,"tags":["roof","north"],"i":%d}`,
		dev, i%60, value, i))
}

// TestReferenceWorkflow runs the compiled reference IoT workflow end to end:
// the bench reading's output equals the expected output, out-of-range
// readings fail into the DLQ, every record has exactly one result.
func TestReferenceWorkflow(t *testing.T) {
	const n = 2000
	wf := referenceWorkflow(t)
	addrs := startCluster(t, 4, "readings", "out", "dlq")
	reading, err := os.ReadFile(benchDir + "iot-reading.json")
	if err != nil {
		testutil.Missing(t, "%v", err)
	}
	rs := []*kgo.Record{{Topic: "readings", Key: []byte("dev-42"), Value: reading}}
	for i := 1; i < n; i++ {
		v := 20.0
		if i%10 == 0 {
			v = 500
		}
		dev := "dev-" + strconv.Itoa(i%100)
		rs = append(rs, &kgo.Record{Topic: "readings", Key: []byte(dev), Value: iotReading(i, dev, v)})
	}
	produceAll(t, newClient(t, addrs), rs)
	p, err := New(Options{Workflow: wf, Topics: []string{"readings"}, Group: "iot", OutputTopic: "out", DLQTopic: "dlq",
		ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
	if err != nil {
		t.Fatal(err)
	}
	stop := runProcessor(t, p)
	waitFor(t, 30*time.Second, "all records", func() bool { return p.Stats().Finished.Load() >= n })
	stop()
	out := consumeN(t, addrs, n, 10*time.Second, "out", "dlq")
	if len(out) != n {
		t.Fatalf("%d results, want %d", len(out), n)
	}
	want := oj.MustParse(mustRead(t, benchDir+"iot-expected-output.json"))
	var nDLQ, found int
	for _, r := range out {
		if r.Topic == "dlq" {
			nDLQ++
			if header(r, HeaderError) != "Reading.OutOfRange" {
				t.Fatalf("DLQ error %q", header(r, HeaderError))
			}
			continue
		}
		if string(r.Key) == "dev-42" && header(r, HeaderSourceOffset) == strconv.FormatInt(rs[0].Offset, 10) && header(r, HeaderSourcePartition) == strconv.Itoa(int(rs[0].Partition)) {
			found++
			if got := oj.MustParse(r.Value); !reflect.DeepEqual(got, want) {
				t.Fatalf("output\n%s\nwant\n%s", r.Value, oj.JSON(want))
			}
		}
	}
	if found != 1 || nDLQ != (n-1)/10 {
		t.Fatalf("found %d, DLQ %d", found, nDLQ)
	}
}

func mustRead(t testing.TB, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestThroughput measures the daemon against a raw franz-go passthrough on
// the same preloaded records. Set EXPRESS_KAFKA_BENCH=N (records) to run.
func TestThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("EXPRESS_KAFKA_BENCH"))
	if n <= 0 {
		t.Skip("set EXPRESS_KAFKA_BENCH=records to measure throughput")
	}
	wf := referenceWorkflow(t)
	addrs := startCluster(t, 12, "readings")
	cl := newClient(t, addrs, kgo.ProducerBatchCompression(kgo.SnappyCompression()), kgo.MaxBufferedRecords(100000))
	var rs []*kgo.Record
	for i := 0; i < n; i++ {
		dev := "dev-" + strconv.Itoa(i%1000)
		v := 20.0 + float64(i%15)
		rs = append(rs, &kgo.Record{Topic: "readings", Key: []byte(dev), Value: iotReading(i, dev, v)})
	}
	produceAll(t, cl, rs)
	rs = nil

	for round := 0; round < 2; round++ {
		// passthrough: consume, parse, add a field, serialise, produce, commit after ack
		t0, c0 := time.Now(), cpuTime()
		if os.Getenv("EXPRESS_KAFKA_BENCH_NOPT") == "" {
			passthrough(t, addrs, n, fmt.Sprintf("pt-%d", round))
		}
		pt, ptCPU := time.Since(t0), cpuTime()-c0

		p, err := New(Options{Workflow: wf, Topics: []string{"readings"}, Group: fmt.Sprintf("daemon-%d", round), OutputTopic: fmt.Sprintf("out-%d", round),
			DLQTopic: "dlq", ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...), kgo.AllowAutoTopicCreation()},
			Ordering: benchOrdering(), MaxInFlight: envInt("EXPRESS_KAFKA_BENCH_INFLIGHT"), MaxInFlightPerPartition: envInt("EXPRESS_KAFKA_BENCH_PERPART"),
			DedupSize: envInt("EXPRESS_KAFKA_BENCH_DEDUP"), Concurrency: envInt("EXPRESS_KAFKA_BENCH_CONC")})
		if err != nil {
			t.Fatal(err)
		}
		t0, c0 = time.Now(), cpuTime()
		stop := runProcessor(t, p)
		if os.Getenv("EXPRESS_KAFKA_BENCH_DEBUG") != "" {
			go func() {
				for p.Stats().Finished.Load() < int64(n) {
					time.Sleep(500 * time.Millisecond)
					paused := 0
					p.eachPart(func(pt *partition) {
						pt.mu.Lock()
						if pt.paused {
							paused++
						}
						pt.mu.Unlock()
					})
					t.Logf("consumed %d finished %d inflight %d running %d paused %d", p.Stats().Consumed.Load(), p.Stats().Finished.Load(), p.InFlight(), p.pool.live.Load(), paused)
				}
			}()
		}
		waitFor(t, 10*time.Minute, "daemon", func() bool { return p.Stats().Finished.Load() >= int64(n) })
		stop()
		d, dCPU := time.Since(t0), cpuTime()-c0
		t.Logf("round %d: passthrough %.0f rec/s (%.1f us CPU/rec), daemon %.0f exec/s (%.1f us CPU/rec): %.0f%%", round,
			float64(n)/pt.Seconds(), float64(ptCPU.Microseconds())/float64(n), float64(n)/d.Seconds(), float64(dCPU.Microseconds())/float64(n), 100*pt.Seconds()/d.Seconds())
	}
}

func passthrough(t testing.TB, addrs []string, n int, group string) {
	cl := newClient(t, addrs, kgo.ConsumerGroup(group), kgo.ConsumeTopics("readings"), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AllowAutoTopicCreation(), kgo.ProducerLinger(5*time.Millisecond))
	ctx := context.Background()
	done := 0
	var wr oj.Writer
	for done < n {
		fs := cl.PollRecords(ctx, 10000)
		var wg sync.WaitGroup
		fs.EachRecord(func(r *kgo.Record) {
			v, err := oj.Parse(r.Value)
			if err != nil {
				t.Fatal(err)
			}
			v.(map[string]any)["seen"] = true
			b := append([]byte(nil), wr.MustJSON(v)...)
			wg.Add(1)
			cl.Produce(ctx, &kgo.Record{Topic: "pt-" + group, Key: r.Key, Value: b}, func(_ *kgo.Record, err error) { wg.Done() })
			done++
		})
		wg.Wait()
		if err := cl.CommitRecords(ctx, fs.Records()...); err != nil {
			t.Fatal(err)
		}
	}
}

// cpuTime is the process's user+system CPU time (the broker included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func envInt(k string) int { n, _ := strconv.Atoi(os.Getenv(k)); return n }

func benchOrdering() Ordering {
	o, _ := ParseOrdering(os.Getenv("EXPRESS_KAFKA_BENCH_ORDERING"))
	return o
}
