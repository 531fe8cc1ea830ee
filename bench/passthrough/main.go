// Command passthrough is the bare Kafka client that issue 16 measures the
// daemon against: what a user would write with franz-go and no workflow
// engine. In its default mode it joins a consumer group on the input topic
// and, for every record, parses the JSON value, adds a field, serialises
// it and produces it, keyed as it came, to the output topic with
// franz-go's default producer settings; after each poll it waits until
// that poll's records are acknowledged (Flush) and then commits their
// offsets. It stops when it has done -records records and prints one line
// of JSON: records, seconds (from the process's start), records/s, and the
// process's own CPU time (getrusage) in total and per record.
//
// The parser (-parser): ojg (the default) parses into map[string]any and
// writes compact JSON, several times cheaper than encoding/json; it is the
// passthrough of ../shared/bench and of BenchmarkKafka, so the ceiling the
// daemon is held to is the stricter one. encoding/json (Unmarshal into
// map[string]any, Marshal) is what most users would write first.
//
// The records are handled on one goroutine, as in franz-go's examples;
// franz-go's own goroutines fetch, decompress, compress and send.
//
// With -records 0 it runs until SIGINT or SIGTERM (or -timeout) and then
// prints the same line for what it did; with -source-headers every output
// carries the express-source-topic, -partition and -offset headers the
// daemon writes, so that `express load` can match it to its input: that
// is how bench/e2e/run.sh (PASSTHROUGH=1) measures the bare client's peak
// in the three-process setup.
//
// Two more modes measure the client's limits against the same broker:
// -mode consume (consume and commit, nothing parsed or produced) and
// -mode produce (generate -records readings in memory, then produce them
// keyed to -topic with the default settings and wait for every
// acknowledgement; the timing starts after the generation).
//
//	go run ./bench/passthrough -brokers 127.0.0.1:9092 -topic readings -output-topic pt-out -records 1000000
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ohler55/ojg/oj"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/kafka"
	"github.com/stepstream/express/load/readings"
)

// Result is the line the program prints (JSON) when done.
type Result struct {
	Mode               string  `json:"mode"`
	Parser             string  `json:"parser,omitempty"`
	Records            int64   `json:"records"`
	Seconds            float64 `json:"seconds"` // from the process's start (produce: from the first produce)
	RecordsPerSecond   float64 `json:"records_per_s"`
	CPUSeconds         float64 `json:"cpu_s"` // user+system of the whole process (produce: of the producing)
	CPUMicrosPerRecord float64 `json:"cpu_us_per_record"`
	// FetchedRecords and FetchedBytesPerRecord (uncompressed, as the
	// daemon's express_kafka_fetch_bytes_total counts them) are what the
	// client fetched (kgo.HookFetchBatchRead): more than the records when
	// something is fetched twice.
	FetchedRecords        int64   `json:"fetched_records,omitempty"`
	FetchedBytesPerRecord float64 `json:"fetched_bytes_per_record,omitempty"`
}

// fetchCounter counts what the client fetched.
type fetchCounter struct{ records, bytes atomic.Int64 }

func (f *fetchCounter) OnFetchBatchRead(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.FetchBatchMetrics) {
	f.records.Add(int64(m.NumRecords))
	f.bytes.Add(int64(m.UncompressedBytes))
}

var start = time.Now()

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "passthrough:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("passthrough", flag.ContinueOnError)
	var (
		brokers    = fs.String("brokers", "127.0.0.1:9092", "Kafka `host:port,...`")
		mode       = fs.String("mode", "passthrough", "passthrough, consume or produce")
		topic      = fs.String("topic", "readings", "input topic (produce: the topic produced to)")
		output     = fs.String("output-topic", "passthrough-out", "output topic (passthrough)")
		group      = fs.String("group", "passthrough", "consumer group (passthrough, consume)")
		records    = fs.Int64("records", 1_000_000, "records to handle (consume, passthrough: the input's count, 0 until SIGINT or SIGTERM; produce: how many)")
		srcHeaders = fs.Bool("source-headers", false, "passthrough: add the daemon's express-source-topic/-partition/-offset headers to every output")
		parser     = fs.String("parser", "ojg", "ojg or encoding/json (passthrough)")
		mixName    = fs.String("mix", "realistic", "readings of -mode produce: valid or realistic (see load/readings)")
		seed       = fs.Uint64("seed", 1, "seed of the readings (produce)")
		timeout    = fs.Duration("timeout", 10*time.Minute, "give up after this long")
		cpuprofile = fs.String("cpuprofile", "", "write a CPU profile of the run to `FILE`")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *records < 0 || *records == 0 && *mode == "produce" {
		return fmt.Errorf("-records %d: must be positive (0: until stopped, not with -mode produce)", *records)
	}
	if *parser != "ojg" && *parser != "encoding/json" {
		return fmt.Errorf("-parser %q: want ojg or encoding/json", *parser)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	// stop, set by a signal when -records is 0, ends the loop after the
	// poll in hand (ctx would cut its produces and commit short)
	stop, stopNow := context.WithCancel(context.Background())
	defer stopNow()
	if *records == 0 {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sig)
		go func() {
			select {
			case <-sig:
				stopNow()
			case <-stop.Done():
			}
		}()
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	seeds := kgo.SeedBrokers(strings.Split(*brokers, ",")...)
	var res Result
	var err error
	switch *mode {
	case "passthrough", "consume":
		res, err = consume(ctx, stop, seeds, *mode, *topic, *output, *group, *records, *parser, *srcHeaders)
	case "produce":
		mix, perr := readings.ParseMix(*mixName)
		if perr != nil {
			return perr
		}
		res, err = produce(ctx, seeds, *topic, *records, mix, *seed)
	default:
		return fmt.Errorf("-mode %q: want passthrough, consume or produce", *mode)
	}
	if err != nil {
		return err
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	return nil
}

// consume is the passthrough (and, with mode "consume", the consume-only
// limit): poll, handle every record, wait for the produces, commit.
func consume(ctx, stop context.Context, seeds kgo.Opt, mode, topic, output, group string, n int64, parser string, srcHeaders bool) (Result, error) {
	var fetched fetchCounter
	cl, err := kgo.NewClient(seeds, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.WithHooks(&fetched))
	if err != nil {
		return Result{}, err
	}
	defer cl.Close()
	var failed atomic.Int64
	var firstErr atomic.Pointer[error]
	onAck := func(_ *kgo.Record, err error) {
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, &err)
		}
	}
	var p oj.Parser
	var done int64
	var part, off []byte // source header values
	// polls end when stop is done too; produces and commits only with ctx
	pollCtx, cancelPolls := context.WithCancel(ctx)
	defer cancelPolls()
	context.AfterFunc(stop, cancelPolls)
	for n == 0 || done < n {
		fs := cl.PollFetches(pollCtx)
		if stop.Err() != nil && fs.NumRecords() == 0 {
			break
		}
		if err := ctx.Err(); err != nil {
			if n == 0 {
				break
			}
			return Result{}, fmt.Errorf("%d of %d records after the timeout", done, n)
		}
		var ferr error
		fs.EachError(func(t string, part int32, err error) { ferr = errors.Join(ferr, fmt.Errorf("%s/%d: %w", t, part, err)) })
		if ferr != nil {
			return Result{}, ferr
		}
		if mode == "passthrough" {
			var herr error
			fs.EachRecord(func(r *kgo.Record) {
				if herr != nil {
					return
				}
				var out []byte
				if out, herr = transform(&p, parser, r.Value); herr == nil {
					o := &kgo.Record{Topic: output, Key: r.Key, Value: out}
					if srcHeaders {
						part = strconv.AppendInt(part[:0], int64(r.Partition), 10)
						off = strconv.AppendInt(off[:0], r.Offset, 10)
						o.Headers = []kgo.RecordHeader{{Key: kafka.HeaderSourceTopic, Value: []byte(r.Topic)},
							{Key: kafka.HeaderSourcePartition, Value: bytes.Clone(part)}, {Key: kafka.HeaderSourceOffset, Value: bytes.Clone(off)}}
					}
					cl.Produce(ctx, o, onAck)
				}
			})
			if herr != nil {
				return Result{}, herr
			}
			if err := cl.Flush(ctx); err != nil {
				return Result{}, err
			}
			if f := failed.Load(); f > 0 {
				return Result{}, fmt.Errorf("%d produces failed: %w", f, *firstErr.Load())
			}
		}
		if err := cl.CommitRecords(ctx, fs.Records()...); err != nil {
			return Result{}, err
		}
		done += int64(fs.NumRecords())
	}
	el := time.Since(start)
	cpu := cpuTime()
	if mode == "consume" {
		parser = ""
	}
	res := result(mode, parser, done, el, cpu)
	res.FetchedRecords, res.FetchedBytesPerRecord = fetched.records.Load(), float64(fetched.bytes.Load())/float64(done)
	return res, nil
}

// transform is the passthrough's work on one value: parse, add a field,
// serialise.
func transform(p *oj.Parser, parser string, value []byte) ([]byte, error) {
	if parser == "encoding/json" {
		var m map[string]any
		if err := json.Unmarshal(value, &m); err != nil {
			return nil, err
		}
		m["processed"] = true
		return json.Marshal(m)
	}
	v, err := p.Parse(value)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("value is not a JSON object: %.40s", value)
	}
	m["processed"] = true
	return oj.Marshal(m)
}

// produce generates n readings, then produces them keyed to topic with
// the default producer settings and waits for every acknowledgement.
func produce(ctx context.Context, seeds kgo.Opt, topic string, n int64, mix readings.Mix, seed uint64) (Result, error) {
	g := readings.NewGenerator(seed, 1000, 0, 2)
	if g.Mix = mix; mix == readings.MixRealistic {
		g.OutOfRangePercent = readings.RealisticOutOfRangePercent
	}
	recs := make([]kgo.Record, n)
	ts := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for i := range recs {
		k, v, _ := g.Next(nil, make([]byte, 0, 224), int64(i), ts.Add(time.Duration(i)*time.Millisecond))
		recs[i] = kgo.Record{Topic: topic, Key: k, Value: v}
	}
	cl, err := kgo.NewClient(seeds)
	if err != nil {
		return Result{}, err
	}
	defer cl.Close()
	var failed atomic.Int64
	var firstErr atomic.Pointer[error]
	t0, cpu0 := time.Now(), cpuTime()
	for i := range recs {
		cl.Produce(ctx, &recs[i], func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, &err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return Result{}, err
	}
	if f := failed.Load(); f > 0 {
		return Result{}, fmt.Errorf("%d of %d produces failed: %w", f, n, *firstErr.Load())
	}
	return result("produce", "", n, time.Since(t0), cpuTime()-cpu0), nil
}

func result(mode, parser string, n int64, el, cpu time.Duration) Result {
	return Result{Mode: mode, Parser: parser, Records: n, Seconds: el.Seconds(), RecordsPerSecond: float64(n) / el.Seconds(),
		CPUSeconds: cpu.Seconds(), CPUMicrosPerRecord: float64(cpu.Microseconds()) / float64(n)}
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
