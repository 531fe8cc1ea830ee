// Package load is the load generator behind `express load`: it produces IoT
// readings into the daemon's input topic at a target rate (or as fast as the
// broker takes them), consumes the daemon's output and dead-letter topics,
// matches every result to the record it came from (by the
// express-source-topic/-partition/-offset headers the daemon sets), and
// reports throughput in and out, end-to-end latency percentiles (the
// produced record's timestamp to the result record's timestamp, both Kafka
// timestamps with millisecond resolution), the daemon group's consumer lag
// over time, and whether every produced record came back at least once,
// counting duplicates.
//
// It works against any Kafka cluster, including the embedded broker of
// `express serve`. The output topics are read from their end offsets at
// start, so earlier results on them are not counted.
package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/stepstream/express/kafka"
	"github.com/stepstream/express/load/readings"
)

// Options configure Run. Zero values take the defaults in the comments.
type Options struct {
	// ClientOpts connect to the cluster: at least kgo.SeedBrokers; TLS and
	// SASL options as needed.
	ClientOpts []kgo.Opt
	// Topic is the daemon's input topic; OutputTopic and DLQTopic its
	// results. OutputTopic may be empty when the daemon drops outputs (then
	// only dead letters come back and records cannot be checked).
	Topic, OutputTopic, DLQTopic string
	// Group is the daemon's consumer group, whose lag on Topic is sampled;
	// empty: no lag.
	Group string
	// Rate is the target records/s; 0 produces as fast as the producer
	// takes them. Records are produced on a fixed schedule: a producer
	// that fell behind (a stalled machine) catches up in a burst.
	Rate int
	// Records stops producing after this many records; Duration after this
	// long. With neither, Run produces for 30 seconds.
	Records  int64
	Duration time.Duration
	// Devices, PayloadBytes, OutOfRangePercent and Mix shape the readings
	// (see readings.Generator). Seed makes the readings reproducible.
	Devices           int
	PayloadBytes      int
	OutOfRangePercent float64
	Mix               readings.Mix
	Seed              uint64
	// Drain is how long Run waits for the remaining results once everything
	// is produced (default 30s).
	Drain time.Duration
	// Interval is the sampling period of the time series (default 1s).
	Interval time.Duration
	// Warmup leaves the records produced during this first part of the run
	// out of the report's latency percentiles (not out of the counts or
	// the time series): connections, metadata and buffers settle first.
	Warmup time.Duration
	// Progress, when set, is called after each sample (from Run's sampling
	// goroutine) with the sample and the running totals.
	Progress func(s Sample, r *Report)
}

// Sample is one point of the time series.
type Sample struct {
	At          time.Duration // since the start
	InRate      float64       // records/s acknowledged by the broker
	OutRate     float64       // results/s (first result of a record, output or DLQ)
	P50, P99    time.Duration // latency of the results of this interval
	Lag         int64         // the daemon group's lag on the input topic; -1 unknown
	Outstanding int64         // produced and not yet come back
}

// Report is what Run measured.
type Report struct {
	Produced      int64 // records acknowledged by the broker
	ProduceErrors int64 // records the producer gave up on
	Output        int64 // records whose first result is on the output topic
	DLQ           int64 // records whose first result is on the dead-letter topic
	// Missing is the produced records that did not come back: lost, when
	// Options.Group is set (the daemon's group committed past them).
	Missing int64
	// Late is, with Options.Group, the produced records that had not come
	// back when the drain ended and that the daemon had not processed yet
	// (its group's committed offset is before them): late, not lost.
	Late       int64
	Duplicates int64 // extra results for records that already came back
	Foreign    int64 // results for records this run did not produce
	// ProduceTime is the time from the first produce to the last
	// acknowledgement; Elapsed until the last result (or the drain timeout).
	ProduceTime, Elapsed time.Duration
	// InRate is Produced/ProduceTime; OutRate the results per second over
	// Elapsed.
	InRate, OutRate float64
	// Latency percentiles over every record's first result (except the
	// records produced during Options.Warmup).
	P50, P90, P99, P999, Max time.Duration
	PeakLag                  int64
	Series                   []Sample
}

// AllBack reports whether every produced record came back at least once.
func (r *Report) AllBack() bool { return r.Missing == 0 && r.Late == 0 && r.ProduceErrors == 0 }

func (o *Options) fill() error {
	if o.Topic == "" {
		return errors.New("load: Options.Topic is required")
	}
	if o.OutputTopic == "" && o.DLQTopic == "" {
		return errors.New("load: an output or dead-letter topic is required")
	}
	if o.Records <= 0 && o.Duration <= 0 {
		o.Duration = 30 * time.Second
	}
	if o.Drain <= 0 {
		o.Drain = 30 * time.Second
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Rate < 0 {
		return fmt.Errorf("load: rate %d is negative", o.Rate)
	}
	return nil
}

// Run produces until the records are produced, the duration is over or
// ctx is done, then waits until every result came back or Drain passed,
// and reports.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.fill(); err != nil {
		return nil, err
	}
	prod, err := kgo.NewClient(append([]kgo.Opt{kgo.ProducerLinger(time.Millisecond), kgo.MaxBufferedRecords(20000),
		kgo.RecordDeliveryTimeout(30 * time.Second)}, o.ClientOpts...)...)
	if err != nil {
		return nil, err
	}
	defer prod.Close()
	resTopics := []string{}
	for _, t := range []string{o.OutputTopic, o.DLQTopic} {
		if t != "" {
			resTopics = append(resTopics, t)
		}
	}
	mctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	inParts, err := partitions(mctx, prod, o.Topic)
	start := map[string]map[int32]kgo.Offset{}
	consumed := map[string]map[int32]int64{} // next offset per result partition, guarded by mu below
	for _, t := range resTopics {
		if err != nil {
			break
		}
		var ends map[int32]int64
		if ends, err = endOffsets(mctx, prod, t, nil); err == nil {
			start[t], consumed[t] = map[int32]kgo.Offset{}, ends
			for p, off := range ends {
				start[t][p] = kgo.NewOffset().At(off)
			}
		}
	}
	cancel()
	if err != nil {
		return nil, err
	}
	// The results' latency is read from their Kafka timestamps, not from
	// when they are fetched: the consumer may wait for a batch (up to
	// FetchMaxWait) rather than fetch each few records, which costs a
	// request, a response and goroutine wake-ups each.
	cons, err := kgo.NewClient(append([]kgo.Opt{kgo.ConsumePartitions(start), kgo.FetchMaxWait(100 * time.Millisecond),
		kgo.FetchMinBytes(fetchMinBytes), kgo.WithPools(newFetchPools())}, o.ClientOpts...)...)
	if err != nil {
		return nil, err
	}
	defer cons.Close()

	t0 := time.Now()
	var mu sync.Mutex // guards tr
	tr := newTracker(t0)
	tr.warmup = uint32(max(o.Warmup.Milliseconds(), 0))
	var produceErrs, unique atomic.Int64
	var lastAck atomic.Int64
	var firstErr atomic.Pointer[error] // errors differ in type: not an atomic.Value

	// consumer
	cctx, stopCons := context.WithCancel(context.Background())
	consDone := make(chan struct{})
	go func() {
		defer close(consDone)
		for cctx.Err() == nil {
			fs := cons.PollFetches(cctx)
			if fs.IsClientClosed() || cctx.Err() != nil {
				return
			}
			mu.Lock()
			fs.EachRecord(func(r *kgo.Record) {
				if m := consumed[r.Topic]; m != nil {
					m[r.Partition] = max(m[r.Partition], r.Offset+1)
				}
				var topic, part, off []byte
				for _, h := range r.Headers {
					switch h.Key {
					case kafka.HeaderSourceTopic:
						topic = h.Value
					case kafka.HeaderSourcePartition:
						part = h.Value
					case kafka.HeaderSourceOffset:
						off = h.Value
					}
				}
				p, err1 := strconv.ParseInt(string(part), 10, 32)
				of, err2 := strconv.ParseInt(string(off), 10, 64)
				if string(topic) != o.Topic || err1 != nil || err2 != nil {
					tr.other++ // not a result of a record of the input topic
				} else {
					tr.result(int32(p), of, r.Timestamp, r.Topic == o.DLQTopic)
				}
				r.Recycle() // nothing of it is kept: its buffers serve the next fetch
			})
			unique.Store(tr.output + tr.dlq)
			mu.Unlock()
		}
	}()

	// sampler
	rep := &Report{PeakLag: -1}
	sctx, stopSampler := context.WithCancel(context.Background())
	samplerDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		tk := time.NewTicker(o.Interval)
		defer tk.Stop()
		var prevIn, prevOut int64
		prevT := t0
		for {
			select {
			case <-sctx.Done():
				return
			case now := <-tk.C:
				lag := int64(-1)
				if o.Group != "" {
					lctx, c := context.WithTimeout(sctx, o.Interval)
					if l, err := groupLag(lctx, prod, o.Group, o.Topic, inParts); err == nil {
						lag = l
					}
					c()
				}
				mu.Lock()
				in, out := tr.produced, tr.output+tr.dlq
				s := Sample{At: now.Sub(t0).Round(time.Millisecond), InRate: float64(in-prevIn) / now.Sub(prevT).Seconds(),
					OutRate: float64(out-prevOut) / now.Sub(prevT).Seconds(), P50: tr.interval.quantile(0.5), P99: tr.interval.quantile(0.99),
					Lag: lag, Outstanding: in - out}
				tr.interval.reset()
				rep.Series = append(rep.Series, s)
				rep.PeakLag = max(rep.PeakLag, lag)
				rep.Produced, rep.Output, rep.DLQ, rep.Duplicates = tr.produced, tr.output, tr.dlq, tr.duplicates
				mu.Unlock()
				prevIn, prevOut, prevT = in, out, now
				if o.Progress != nil {
					o.Progress(s, rep)
				}
			}
		}
	}()

	// producer
	gen := readings.NewGenerator(o.Seed, o.Devices, o.PayloadBytes, o.OutOfRangePercent)
	gen.Mix = o.Mix
	ack := func(r *kgo.Record, err error) {
		if err != nil {
			produceErrs.Add(1)
			firstErr.CompareAndSwap(nil, &err)
			return
		}
		mu.Lock()
		tr.acked(r.Partition, r.Offset, r.Timestamp)
		mu.Unlock()
		lastAck.Store(int64(time.Since(t0)))
	}
	var deadline time.Time
	if o.Duration > 0 {
		deadline = t0.Add(o.Duration)
	}
	var n int64
	var mem slab
	keyRoom, valRoom := 12, max(o.PayloadBytes, 200)+16
	for ctx.Err() == nil && (o.Records <= 0 || n < o.Records) {
		now := time.Now()
		if !deadline.IsZero() && !now.Before(deadline) {
			break
		}
		if o.Rate > 0 {
			due := t0.Add(time.Duration(float64(n) / float64(o.Rate) * float64(time.Second)))
			if d := due.Sub(now); d > time.Millisecond {
				time.Sleep(d)
				now = time.Now()
			}
		}
		// Kafka timestamps have millisecond resolution: truncate here so
		// that the tracker sees what the broker stores.
		ts := now.Truncate(time.Millisecond)
		kb, vb := mem.bytes(keyRoom), mem.bytes(valRoom)
		key, val, _ := gen.Next(kb, vb, n, now)
		mem.trim(val, valRoom)
		r := mem.record()
		r.Topic, r.Key, r.Value, r.Timestamp = o.Topic, key, val, ts
		prod.Produce(context.Background(), r, ack)
		n++
	}
	_ = prod.Flush(context.Background())
	if e := firstErr.Load(); e != nil && produceErrs.Load() == n && n > 0 {
		stopSampler()
		stopCons()
		<-samplerDone
		<-consDone
		return nil, fmt.Errorf("load: every produce failed: %w", *e)
	}
	produceTime := time.Duration(lastAck.Load())

	// wait for the results
	drain := time.NewTimer(o.Drain)
	defer drain.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		mu.Lock()
		done := tr.output+tr.dlq >= tr.produced
		mu.Unlock()
		if done {
			break
		}
		select {
		case <-drain.C:
			break wait
		case <-tick.C:
		}
	}
	elapsed := time.Since(t0)
	mu.Lock()
	allBack := tr.output+tr.dlq >= tr.produced
	mu.Unlock()
	var committed map[int32]int64
	if !allBack {
		committed = lateOrLost(o, prod, resTopics, &mu, consumed)
	}
	stopSampler()
	<-samplerDone
	stopCons()
	cons.Close()
	<-consDone

	mu.Lock()
	defer mu.Unlock()
	rep.Produced, rep.Output, rep.DLQ, rep.Duplicates = tr.produced, tr.output, tr.dlq, tr.duplicates
	rep.ProduceErrors = produceErrs.Load()
	rep.Missing = tr.produced - tr.output - tr.dlq
	if committed != nil && rep.Missing > 0 {
		rep.Late, rep.Missing = tr.notBack(committed)
	}
	rep.Foreign = tr.foreign()
	rep.ProduceTime, rep.Elapsed = produceTime, elapsed
	if produceTime > 0 {
		rep.InRate = float64(rep.Produced) / produceTime.Seconds()
	}
	rep.OutRate = float64(rep.Output+rep.DLQ) / elapsed.Seconds()
	rep.P50, rep.P90, rep.P99, rep.P999 = tr.total.quantile(0.5), tr.total.quantile(0.9), tr.total.quantile(0.99), tr.total.quantile(0.999)
	rep.Max = time.Duration(tr.total.maxMs) * time.Millisecond
	return rep, nil
}

// fetchMinBytes is how much the results' consumer asks the broker to
// gather before answering a fetch (FetchMaxWait bounds the wait): at
// 100,000 results/s of ~300 bytes, a fetch every ~2 ms instead of one for
// each few records.
const fetchMinBytes = 64 << 10

// lateGrace bounds how long Run waits, after the drain, for the results
// of the records the daemon committed meanwhile.
const lateGrace = 5 * time.Second

// lateOrLost returns the daemon group's committed offsets of the input
// topic (nil without Options.Group or when they cannot be read), after
// the consumer caught up with the result topics as they were then: the
// result of every committed record is produced before its commit, so a
// record behind them without a result is lost, one ahead of them late.
func lateOrLost(o Options, cl *kgo.Client, resTopics []string, mu *sync.Mutex, consumed map[string]map[int32]int64) map[int32]int64 {
	if o.Group == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), lateGrace)
	defer cancel()
	committed, err := kafka.CommittedOffsets(ctx, cl, o.Group, o.Topic)
	if errors.Is(err, kerr.GroupIDNotFound) {
		committed, err = map[int32]int64{}, nil // the daemon committed nothing yet
	}
	if err != nil {
		return nil
	}
	ends := map[string]map[int32]int64{}
	for _, t := range resTopics {
		if ends[t], err = endOffsets(ctx, cl, t, nil); err != nil {
			return nil
		}
	}
	caughtUp := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for t, m := range ends {
			for p, end := range m {
				if consumed[t][p] < end {
					return false
				}
			}
		}
		return true
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !caughtUp() {
		select {
		case <-ctx.Done():
			return committed // some results may be unseen: counted as lost
		case <-tick.C:
		}
	}
	return committed
}

// partitions returns the partition ids of topic.
func partitions(ctx context.Context, cl *kgo.Client, topic string) ([]int32, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("load: metadata of %q: %w", topic, err)
	}
	for _, t := range resp.Topics {
		if t.ErrorCode != 0 || len(t.Partitions) == 0 {
			return nil, fmt.Errorf("load: topic %q does not exist (error code %d)", topic, t.ErrorCode)
		}
		var ps []int32
		for _, p := range t.Partitions {
			ps = append(ps, p.Partition)
		}
		return ps, nil
	}
	return nil, fmt.Errorf("load: topic %q does not exist", topic)
}

// endOffsets returns the high watermark of each of topic's partitions
// (all of them when parts is nil).
func endOffsets(ctx context.Context, cl *kgo.Client, topic string, parts []int32) (map[int32]int64, error) {
	if parts == nil {
		var err error
		if parts, err = partitions(ctx, cl, topic); err != nil {
			return nil, err
		}
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for _, p := range parts {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition = p
		rp.Timestamp = -1 // latest
		rp.CurrentLeaderEpoch = -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("load: end offsets of %q: %w", topic, err)
	}
	out := map[int32]int64{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return nil, fmt.Errorf("load: end offset of %s/%d: error code %d", topic, p.Partition, p.ErrorCode)
			}
			out[p.Partition] = p.Offset
		}
	}
	return out, nil
}

// groupLag is the sum over topic's partitions of the high watermark minus
// group's committed offset (the whole partition when nothing is committed).
func groupLag(ctx context.Context, cl *kgo.Client, group, topic string, parts []int32) (int64, error) {
	ends, err := endOffsets(ctx, cl, topic, parts)
	if err != nil {
		return 0, err
	}
	committed, err := kafka.CommittedOffsets(ctx, cl, group, topic)
	if err != nil {
		return 0, fmt.Errorf("load: %w", err)
	}
	var lag int64
	for p, end := range ends {
		c := committed[p]
		lag += end - max(c, 0)
	}
	return lag, nil
}

// WriteTable writes the final report as a table.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "\n%-28s %s\n", "records produced", group(r.Produced))
	if r.ProduceErrors > 0 {
		fmt.Fprintf(w, "%-28s %s\n", "produce errors", group(r.ProduceErrors))
	}
	fmt.Fprintf(w, "%-28s %s (output %s, dead letters %s)\n", "came back", group(r.Output+r.DLQ), group(r.Output), group(r.DLQ))
	fmt.Fprintf(w, "%-28s %s\n", "missing", group(r.Missing))
	if r.Late > 0 {
		fmt.Fprintf(w, "%-28s %s (not processed by the daemon when --drain ended: not lost)\n", "late", group(r.Late))
	}
	fmt.Fprintf(w, "%-28s %s\n", "duplicates", group(r.Duplicates))
	if r.Foreign > 0 {
		fmt.Fprintf(w, "%-28s %s (not produced by this run)\n", "other results", group(r.Foreign))
	}
	fmt.Fprintf(w, "%-28s %s rec/s (%s)\n", "throughput in", group(int64(r.InRate)), r.ProduceTime.Round(time.Millisecond))
	fmt.Fprintf(w, "%-28s %s rec/s (%s)\n", "throughput out", group(int64(r.OutRate)), r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "%-28s p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n", "latency (produce→result)", r.P50, r.P90, r.P99, r.P999, r.Max)
	if r.PeakLag >= 0 {
		fmt.Fprintf(w, "%-28s %s\n", "peak consumer lag", group(r.PeakLag))
	}
	verdict := "yes: every produced record came back at least once"
	if !r.AllBack() {
		verdict = fmt.Sprintf("NO: %d missing, %d not produced", r.Missing, r.ProduceErrors)
		if r.Late > 0 {
			verdict += fmt.Sprintf(", %d late (a longer --drain waits for them)", r.Late)
		}
	}
	fmt.Fprintf(w, "%-28s %s\n", "all back", verdict)
}

// WriteCSV writes the time series with a header line.
func (r *Report) WriteCSV(w io.Writer) error {
	if _, err := fmt.Fprintln(w, "seconds,in_per_s,out_per_s,p50_ms,p99_ms,lag,outstanding"); err != nil {
		return err
	}
	for _, s := range r.Series {
		if _, err := fmt.Fprintf(w, "%.3f,%.0f,%.0f,%d,%d,%d,%d\n", s.At.Seconds(), s.InRate, s.OutRate,
			s.P50.Milliseconds(), s.P99.Milliseconds(), s.Lag, s.Outstanding); err != nil {
			return err
		}
	}
	return nil
}

// group formats n with thousands separators.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	if neg {
		return "-" + string(b)
	}
	return string(b)
}
