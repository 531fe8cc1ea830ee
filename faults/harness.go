// Package faults is a fault-injection suite for `express serve`: it runs the
// real binary as subprocesses against an in-process kfake broker on
// 127.0.0.1, injects faults (rebalances, kill -9, a broker restart, broker
// errors and latency, oversized dead letters, hung HTTP targets, adversarial
// records) and checks the invariants every scenario must keep:
//
//   - every input record has an output or dead-letter record (0 lost;
//     duplicates are counted, not failed: delivery is at least once);
//   - express_inflight_records is back to 0 on every daemon still running;
//   - /healthz and /readyz answer within 1 s, /readyz is 200 once caught up;
//   - the daemons' peak resident memory (VmHWM) stays under a bound;
//   - SIGTERM stops a daemon within --drain-timeout plus a few seconds.
//
// Scenarios are a table (Scenarios) with a Short size, run by
// faults_test.go, and a Full size, run by faults/cmd/faultsuite.
package faults

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/stepstream/express/daemon"
	"github.com/stepstream/express/kafka"
)

// Header names the daemon sets on output and dead-letter records (the
// constants of package kafka, repeated so that the suite builds even
// while that package is being changed).
const (
	hdrSourcePartition = "express-source-partition"
	hdrSourceOffset    = "express-source-offset"
	hdrError           = "express-error"
)

// Topics and partitions of every scenario's broker.
const (
	TopicIn    = "in"
	TopicOut   = "out"
	TopicDLQ   = "dlq"
	Partitions = 6
)

// ModuleRoot returns the directory of the express module (the nearest
// go.mod above the working directory).
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside a Go module: run from the express repository")
	}
	return filepath.Dir(mod), nil
}

// Build builds cmd/express of the module at root into dir and returns the
// binary's path. FAULTS_EXPRESS_BIN, when set, names a binary to use
// instead (for testing another build; the suite never builds it then).
func Build(root, dir string) (string, error) {
	if b := os.Getenv("FAULTS_EXPRESS_BIN"); b != "" {
		if _, err := os.Stat(b); err != nil {
			return "", fmt.Errorf("FAULTS_EXPRESS_BIN: %v", err)
		}
		return b, nil
	}
	bin := filepath.Join(dir, "express")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/express")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/express: %v\n%s", err, out)
	}
	return bin, nil
}

// Env is what every scenario run shares: the binary, the module root (for
// the reference workflow) and where to log.
type Env struct {
	Bin  string
	Root string
	Logf func(format string, args ...any)
}

// Size is one size of a scenario.
type Size struct {
	Records int           // input records (per phase, where a scenario has phases)
	Rate    int           // records per second produced (0: as fast as possible)
	Rounds  int           // kills, joins/leaves, fault injections
	Settle  time.Duration // how long every input may take to get a result after the last is produced
	// Stall is how long results may stop coming before the stream counts
	// as wedged (default 20 s, at most Settle).
	Stall  time.Duration
	MaxRSS int64 // bound of every daemon's VmHWM, bytes
	// JoinKills makes kill9 kill every other victim while it joins the
	// group (the full size only: see RELIABILITY.md).
	JoinKills bool
}

// Scenario is one named fault scenario.
type Scenario struct {
	Name  string
	About string
	Short Size
	Full  Size
	Run   func(r *Run)
}

// Outcome is what one run of a scenario measured.
type Outcome struct {
	Name        string
	Records     int     // inputs produced (and acknowledged) on the broker counted
	Results     int     // output and dead-letter records read
	Lost        int     // inputs without any result
	Duplicates  int     // inputs with more than one result
	Unknown     int     // results naming no produced input
	MaxInflight float64 // highest express_inflight_records of a running daemon at the end (-1: not scraped)
	HealthOK    bool
	MaxRSS      int64 // highest VmHWM of any daemon, bytes
	Elapsed     time.Duration
	Failures    []string // broken invariants
	Notes       []string // evidence
}

// Pass reports whether no invariant broke.
func (o *Outcome) Pass() bool { return len(o.Failures) == 0 }

// Run is one run of a scenario: the scenario's handle on the harness. Its
// methods record broken invariants (Failf) or stop the scenario (Fatalf);
// Close ends every process and server the run started.
type Run struct {
	Env  *Env
	Size Size
	Dir  string
	Out  Outcome

	mu       sync.Mutex
	cleanups []func()
	daemons  []*Daemon
	broker   *Broker
	health   healthStats
	t0       time.Time
}

type healthStats struct {
	probes, late int
	lateWhat     []string
}

type fatal struct{ msg string }

// Logf logs with the scenario's name.
func (r *Run) Logf(format string, args ...any) {
	r.Env.Logf("%s: %s", r.Out.Name, fmt.Sprintf(format, args...))
}

// Failf records a broken invariant; the scenario goes on.
func (r *Run) Failf(format string, args ...any) { r.record(&r.Out.Failures, "FAIL: ", format, args) }

// Notef records evidence for the report.
func (r *Run) Notef(format string, args ...any) { r.record(&r.Out.Notes, "", format, args) }

func (r *Run) record(list *[]string, prefix, format string, args []any) {
	msg := fmt.Sprintf(format, args...)
	r.mu.Lock()
	*list = append(*list, msg)
	r.mu.Unlock()
	r.Logf("%s%s", prefix, msg)
}

// Fatalf records a failure and ends the scenario.
func (r *Run) Fatalf(format string, args ...any) {
	r.Failf(format, args...)
	panic(fatal{fmt.Sprintf(format, args...)})
}

// Cleanup registers f to run when the run ends (last registered first).
func (r *Run) Cleanup(f func()) {
	r.mu.Lock()
	r.cleanups = append(r.cleanups, f)
	r.mu.Unlock()
}

// RunScenario runs s at the given size in a new directory under dir and
// returns what it measured. It never panics: a scenario that stops early
// is a failure.
func RunScenario(env *Env, s Scenario, full bool, dir string) (out Outcome) {
	size := s.Short
	if full {
		size = s.Full
	}
	r := &Run{Env: env, Size: size, Dir: dir, t0: time.Now()}
	r.Out = Outcome{Name: s.Name, MaxInflight: -1}
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(fatal); !ok {
				r.Failf("scenario panicked: %v", v)
			}
		}
		r.close()
		r.Out.Elapsed = time.Since(r.t0)
		out = r.Out
	}()
	s.Run(r)
	return
}

func (r *Run) close() {
	r.mu.Lock()
	cs := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
	for _, d := range r.daemons {
		if h := d.PeakRSS(); h > r.Out.MaxRSS {
			r.Out.MaxRSS = h
		}
	}
}

// WriteFile writes a file (a workflow definition) into the run's
// directory and returns its path.
func (r *Run) WriteFile(name, content string) string {
	p := filepath.Join(r.Dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.Fatalf("writing %s: %v", name, err)
	}
	return p
}

// ReferenceWorkflow writes the IoT reference workflow and returns its path
// and the --resource flag its Task needs.
func (r *Run) ReferenceWorkflow() (path, resource string) {
	b, err := os.ReadFile(filepath.Join(r.Env.Root, "kafka", "testdata", "iot-reference.asl.json"))
	if err != nil {
		r.Fatalf("the reference workflow: %v", err)
	}
	return r.WriteFile("iot.asl.json", string(b)),
		`arn:aws:lambda:eu-west-1:123456789012:function:enrich-device=static:{"site":"plant-1","threshold":30}`
}

// ---------------------------------------------------------------------------
// The broker

// BrokerConfig configures a scenario's kfake cluster.
type BrokerConfig struct {
	BrokerConfigs map[string]string            // kfake.BrokerConfigs
	TopicConfigs  map[string]map[string]string // per topic, set with IncrementalAlterConfigs after start
	MaxBatchBytes int32                        // the harness producer's batch limit (default 1 MB)
	// ReadCommitted reads the results as a read_committed consumer
	// (exactly-once daemons); Finish then also fails on a duplicate,
	// unless AllowDuplicates (it is then noted).
	ReadCommitted   bool
	AllowDuplicates bool
}

// Broker is a one-node kfake cluster on 127.0.0.1 with the topics in, out
// and dlq, the inputs produced into it and the results read back from it.
type Broker struct {
	r    *Run
	cfg  BrokerConfig
	Addr string

	mu      sync.Mutex
	c       *kfake.Cluster
	prod    *kgo.Client
	inputs  map[string]string // "partition/offset" of every acknowledged input -> its kind (header faults-kind)
	produce int               // records handed to Produce
	errs    int               // failed produces
	lastErr error
	res     *results
	gen     int
}

// StartBroker starts the run's broker.
func (r *Run) StartBroker(cfg BrokerConfig) *Broker {
	b := &Broker{r: r, cfg: cfg}
	if err := b.start("127.0.0.1:0"); err != nil {
		r.Fatalf("starting kfake: %v", err)
	}
	r.broker = b
	r.Cleanup(b.stop)
	return b
}

func (b *Broker) start(addr string) error {
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.SeedTopics(Partitions, TopicIn, TopicOut, TopicDLQ),
		kfake.GroupMinSessionTimeout(500 * time.Millisecond),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return listenRetry(network, addr) }),
		kfake.MaxVersions(daemon.EmbeddedVersions()), // a kfake panic would kill the harness
	}
	if len(b.cfg.BrokerConfigs) > 0 {
		opts = append(opts, kfake.BrokerConfigs(b.cfg.BrokerConfigs))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return err
	}
	maxBatch := b.cfg.MaxBatchBytes
	if maxBatch == 0 {
		maxBatch = 1 << 20
	}
	a := c.ListenAddrs()[0]
	prod, err := kgo.NewClient(kgo.SeedBrokers(a), kgo.ProducerBatchMaxBytes(maxBatch), kgo.ProducerLinger(2*time.Millisecond),
		kgo.MaxBufferedBytes(256<<20))
	if err != nil {
		c.Close()
		return err
	}
	for topic, cfg := range b.cfg.TopicConfigs {
		if err := alterTopic(prod, topic, cfg); err != nil {
			prod.Close()
			c.Close()
			return fmt.Errorf("configuring %s: %v", topic, err)
		}
	}
	b.mu.Lock()
	b.c, b.prod, b.Addr = c, prod, a
	b.inputs = map[string]string{}
	b.produce, b.errs = 0, 0
	b.gen++
	b.res = newResults(a, b.cfg.ReadCommitted)
	b.mu.Unlock()
	return nil
}

// listenRetry listens on addr, retrying for a while when the port of a
// just closed broker is not free yet.
func listenRetry(network, addr string) (net.Listener, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ln, err := net.Listen(network, addr)
		if err == nil || time.Now().After(deadline) {
			return ln, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// AlterTopic changes topic configs on the running broker.
func (b *Broker) AlterTopic(topic string, cfg map[string]string) error {
	b.mu.Lock()
	cl := b.prod
	b.mu.Unlock()
	if cl == nil {
		return errors.New("no broker")
	}
	return alterTopic(cl, topic, cfg)
}

func alterTopic(cl *kgo.Client, topic string, cfg map[string]string) error {
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, topic
	for k, v := range cfg {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		res.Configs = append(res.Configs, c)
	}
	req.Resources = append(req.Resources, res)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	for _, r := range resp.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return err
		}
	}
	return nil
}

func (b *Broker) stop() {
	b.mu.Lock()
	c, prod, res := b.c, b.prod, b.res
	b.c, b.prod, b.res = nil, nil, nil
	b.mu.Unlock()
	if res != nil {
		res.close()
	}
	if prod != nil {
		prod.Close()
	}
	if c != nil {
		c.Close()
	}
}

// Cluster returns the running kfake cluster (for faults and controls).
func (b *Broker) Cluster() *kfake.Cluster {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.c
}

// Restart closes the cluster (every record, offset and group with it) and
// starts a new one on the same address with the same topics. Inputs and
// results are counted anew: what the lost broker had is gone.
func (b *Broker) Restart() {
	addr := b.Addr
	b.stop()
	if err := b.start(addr); err != nil {
		b.r.Fatalf("restarting kfake on %s: %v", addr, err)
	}
}

// Produce produces n records made by gen at rate records per second (0:
// as fast as the client takes them), waits for their acknowledgements and
// records where each landed. It stops early when stop is closed (nil:
// never).
func (b *Broker) Produce(stop <-chan struct{}, n, rate int, gen func(i int) *kgo.Record) {
	b.mu.Lock()
	cl := b.prod
	b.mu.Unlock()
	if cl == nil {
		return
	}
	start := time.Now()
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	for i := 0; i < n && !stopped(); i++ {
		if rate > 0 {
			if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
				select {
				case <-time.After(d):
				case <-stop:
				}
			}
		}
		rec := gen(i)
		if rec.Topic == "" {
			rec.Topic = TopicIn
		}
		b.mu.Lock()
		b.produce++
		b.mu.Unlock()
		cl.Produce(context.Background(), rec, func(r *kgo.Record, err error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			if err != nil {
				b.errs++
				b.lastErr = err
				return
			}
			if b.prod == cl { // not a record of a closed broker
				kind := "record"
				for _, h := range r.Headers {
					if h.Key == HeaderKind {
						kind = string(h.Value)
					}
				}
				b.inputs[key(r.Partition, r.Offset)] = kind
			}
		})
	}
	fctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := cl.Flush(fctx); err != nil {
		b.r.Failf("the harness could not flush its inputs: %v", err)
	}
	b.mu.Lock()
	errs, last := b.errs, b.lastErr
	b.mu.Unlock()
	if errs > 0 {
		b.r.Fatalf("%d inputs were not produced (harness problem): %v", errs, last)
	}
}

// Inputs returns how many inputs were acknowledged.
func (b *Broker) Inputs() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.inputs)
}

func key(p int32, o int64) string { return strconv.Itoa(int(p)) + "/" + strconv.FormatInt(o, 10) }

// HeaderKind is the header naming the kind of an input record (set by the
// scenarios, reported for lost records).
const HeaderKind = "faults-kind"

// Tally is the comparison of inputs and results.
type Tally struct {
	Inputs, Results, Lost, Dups, Unknown int
	DLQ                                  int
	DLQErrors                            map[string]int
	LostSample                           []string
	LostKinds                            map[string]int // lost inputs by kind
}

// Tally reads every result produced so far and compares them with the
// inputs.
func (b *Broker) Tally(ctx context.Context) (Tally, error) {
	b.mu.Lock()
	res := b.res
	inputs := make(map[string]string, len(b.inputs))
	for k, v := range b.inputs {
		inputs[k] = v
	}
	b.mu.Unlock()
	if res == nil {
		return Tally{}, errors.New("no broker")
	}
	counts, dlq, errs, err := res.sync(ctx)
	if err != nil {
		return Tally{}, err
	}
	t := Tally{Inputs: len(inputs), DLQ: dlq, DLQErrors: errs, LostKinds: map[string]int{}}
	for k, c := range counts {
		t.Results += c
		if _, ok := inputs[k]; !ok {
			t.Unknown++
		} else if c > 1 {
			t.Dups++
		}
	}
	var lost []string
	for k, kind := range inputs {
		if counts[k] == 0 {
			t.Lost++
			t.LostKinds[kind]++
			if len(lost) < 1000 {
				lost = append(lost, k)
			}
		}
	}
	sort.Strings(lost)
	if len(lost) > 5 {
		lost = lost[:5]
	}
	t.LostSample = lost
	return t, nil
}

// results reads the output and dead-letter topics from the start and
// counts results per source partition/offset.
type results struct {
	cl        *kgo.Client
	committed bool        // read_committed: read up to sentinels
	sent      *kgo.Client // writes the sentinels

	mu     sync.Mutex
	counts map[string]int
	dlq    int
	errs   map[string]int
	pos    map[string]int64 // topic/partition -> next offset
}

func newResults(addr string, committed bool) *results {
	opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.ConsumeTopics(TopicOut, TopicDLQ),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(64 << 20), kgo.FetchMaxWait(100 * time.Millisecond)}
	r := &results{committed: committed, counts: map[string]int{}, errs: map[string]int{}, pos: map[string]int64{}}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		r.sent, _ = kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	r.cl, _ = kgo.NewClient(opts...)
	return r
}

func (r *results) close() {
	r.cl.Close()
	if r.sent != nil {
		r.sent.Close()
	}
}

// hdrSentinel marks the records a read_committed reader writes to know how
// far to read: a transaction's last offset is its commit marker, which no
// consumer sees, so the end offset cannot tell when everything before it
// was read.
const hdrSentinel = "faults-sentinel"

// sentinels writes one sentinel to every partition of topics and returns
// the offset just past each.
func (r *results) sentinels(ctx context.Context, topics ...string) (map[string]int64, error) {
	var rs []*kgo.Record
	for _, t := range topics {
		for p := int32(0); p < Partitions; p++ {
			rs = append(rs, &kgo.Record{Topic: t, Partition: p, Headers: []kgo.RecordHeader{{Key: hdrSentinel, Value: []byte("1")}}})
		}
	}
	res := r.sent.ProduceSync(ctx, rs...)
	if err := res.FirstErr(); err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, pr := range res {
		out[pr.Record.Topic+"/"+strconv.Itoa(int(pr.Record.Partition))] = pr.Record.Offset + 1
	}
	return out, nil
}

// sync reads until every result that exists now is counted.
func (r *results) sync(ctx context.Context) (map[string]int, int, map[string]int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ends map[string]int64
	var err error
	if r.committed {
		ends, err = r.sentinels(ctx, TopicOut, TopicDLQ)
	} else {
		ends, err = endOffsets(ctx, r.cl, TopicOut, TopicDLQ)
	}
	if err != nil {
		return nil, 0, nil, err
	}
	behind := func() bool {
		for tp, end := range ends {
			if r.pos[tp] < end {
				return true
			}
		}
		return false
	}
	for behind() {
		if ctx.Err() != nil {
			return nil, 0, nil, fmt.Errorf("reading the results: %w", ctx.Err())
		}
		fs := r.cl.PollFetches(ctx)
		fs.EachRecord(func(rec *kgo.Record) {
			r.pos[rec.Topic+"/"+strconv.Itoa(int(rec.Partition))] = rec.Offset + 1
			var p, o, e string
			for _, h := range rec.Headers {
				switch h.Key {
				case hdrSentinel:
					return
				case hdrSourcePartition:
					p = string(h.Value)
				case hdrSourceOffset:
					o = string(h.Value)
				case hdrError:
					e = string(h.Value)
				}
			}
			r.counts[p+"/"+o]++
			if rec.Topic == TopicDLQ {
				r.dlq++
				r.errs[e]++
			}
		})
	}
	counts := make(map[string]int, len(r.counts))
	for k, v := range r.counts {
		counts[k] = v
	}
	errs := map[string]int{}
	for k, v := range r.errs {
		errs[k] = v
	}
	return counts, r.dlq, errs, nil
}

func endOffsets(ctx context.Context, cl *kgo.Client, topics ...string) (map[string]int64, error) {
	req := kmsg.NewPtrListOffsetsRequest()
	for _, topic := range topics {
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		for p := int32(0); p < Partitions; p++ {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition, rp.Timestamp = p, -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, fmt.Errorf("list offsets %s/%d: %v", rt.Topic, p.Partition, err)
			}
			out[rt.Topic+"/"+strconv.Itoa(int(p.Partition))] = p.Offset
		}
	}
	return out, nil
}

// Committed returns the group's committed offsets on the input topic,
// summed over partitions.
func (b *Broker) Committed(ctx context.Context, group string) (int64, error) {
	b.mu.Lock()
	cl := b.prod
	b.mu.Unlock()
	if cl == nil {
		return 0, errors.New("no broker")
	}
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = TopicIn
	for p := int32(0); p < Partitions; p++ {
		rt.Partitions = append(rt.Partitions, p)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return 0, err
	}
	var n int64
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.Offset > 0 {
				n += p.Offset
			}
		}
	}
	return n, nil
}

// ---------------------------------------------------------------------------
// Daemons

// DaemonConfig is one `express serve` process.
type DaemonConfig struct {
	Name       string        // for logs
	Definition string        // path
	Resources  []string      // --resource values
	Group      string        // default "faults"
	Drain      time.Duration // --drain-timeout, default 5s
	Session    time.Duration // --session-timeout, default 2s
	Extra      []string      // more flags
	Env        []string      // more environment
}

// readyBound is how long a caught-up daemon may go without partitions: a
// member that lost its session to a fault rejoins under a new member id,
// and the group's next generation waits for every member it still knows,
// the old id included, until that one's session times out, then up to the
// rebalance timeout to join and again to sync; meanwhile the member that
// holds the partitions drains them before it gives them up (up to
// --drain-timeout, when the faults keep its outputs unacknowledged).
// /readyz is 503 ("no partitions assigned") all that time, rightly; a
// member left without partitions beyond it is a defect.
func (d *Daemon) readyBound() time.Duration {
	return max(10*time.Second, d.cfg.Session+2*kafka.RebalanceTimeout(d.cfg.Drain)+2*time.Second)
}

// Daemon is a running `express serve`.
type Daemon struct {
	r       *Run
	cfg     DaemonConfig
	Name    string
	cmd     *exec.Cmd
	logPath string
	Metrics string // host:port of /metrics, /healthz, /readyz

	done     chan struct{}
	waitErr  error
	signaled bool // stopped by the harness
	// paused by Pause (SIGSTOP) until, and probes ignored for a moment
	// after, Resume
	pausedTill time.Time

	mu   sync.Mutex
	peak int64 // highest VmHWM seen, bytes
}

var metricsLine = regexp.MustCompile(`express: metrics on http://([0-9.:]+)/metrics`)

// StartDaemon starts a daemon on the run's broker and waits until its
// metrics address is known.
func (r *Run) StartDaemon(cfg DaemonConfig) *Daemon {
	if cfg.Group == "" {
		cfg.Group = "faults"
	}
	if cfg.Drain == 0 {
		cfg.Drain = 5 * time.Second
	}
	if cfg.Session == 0 {
		cfg.Session = 2 * time.Second
	}
	if cfg.Name == "" {
		cfg.Name = fmt.Sprintf("d%d", len(r.daemons)+1)
	}
	args := []string{"serve", "--brokers", r.broker.Addr, "--definition", cfg.Definition, "--topic", TopicIn,
		"--group", cfg.Group, "--output-topic", TopicOut, "--dlq-topic", TopicDLQ, "--metrics-addr", "127.0.0.1:0",
		"--progress", "0", "--drain-timeout", cfg.Drain.String(), "--session-timeout", cfg.Session.String()}
	for _, res := range cfg.Resources {
		args = append(args, "--resource", res)
	}
	args = append(args, cfg.Extra...)
	logPath := filepath.Join(r.Dir, fmt.Sprintf("%s-%d.log", cfg.Name, len(r.daemons)))
	f, err := os.Create(logPath)
	if err != nil {
		r.Fatalf("daemon log: %v", err)
	}
	cmd := exec.Command(r.Env.Bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), cfg.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		r.Fatalf("starting %s: %v", cfg.Name, err)
	}
	f.Close()
	d := &Daemon{r: r, cfg: cfg, Name: cfg.Name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		d.waitErr = cmd.Wait()
		close(d.done)
	}()
	stopSampler := make(chan struct{})
	go d.sample(stopSampler)
	r.mu.Lock()
	r.daemons = append(r.daemons, d)
	r.mu.Unlock()
	r.Cleanup(func() {
		close(stopSampler)
		d.killGroup()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := metricsLine.FindStringSubmatch(d.Log()); m != nil {
			d.Metrics = m[1]
			break
		}
		if d.Exited() {
			r.Fatalf("%s exited at start: %v\n%s", d.Name, d.waitErr, d.LogTail(20))
		}
		if time.Now().After(deadline) {
			r.Fatalf("%s printed no metrics address within 30s\n%s", d.Name, d.LogTail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.Logf("started %s (pid %d, metrics %s)", d.Name, cmd.Process.Pid, d.Metrics)
	go d.probe(stopSampler)
	return d
}

// Pid returns the daemon's process id.
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (d *Daemon) Exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// Log returns the daemon's output so far.
func (d *Daemon) Log() string {
	b, _ := os.ReadFile(d.logPath)
	return string(b)
}

// LogTail returns the last n lines of the daemon's output.
func (d *Daemon) LogTail(n int) string {
	lines := strings.Split(strings.TrimRight(d.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

// LogLines returns the lines of the daemon's output containing s.
func (d *Daemon) LogLines(s string, max int) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(d.Log()))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			out = append(out, sc.Text())
		}
	}
	if len(out) > max {
		out = append(out[:max], fmt.Sprintf("... %d more", len(out)-max))
	}
	return out
}

// CountLog counts the lines of the daemon's output containing s.
func (d *Daemon) CountLog(s string) int {
	return strings.Count(d.Log(), s)
}

// every calls f every interval while the daemon runs, until stop is
// closed or f returns false.
func (d *Daemon) every(stop chan struct{}, interval time.Duration, f func() bool) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for f() {
		select {
		case <-stop:
			return
		case <-d.done:
			return
		case <-t.C:
		}
	}
}

func (d *Daemon) sample(stop chan struct{}) {
	d.every(stop, 200*time.Millisecond, func() bool { d.RSS(); return true })
}

// probe asks /healthz and /readyz every half second while the daemon runs
// and counts the answers that took longer than a second (or none).
func (d *Daemon) probe(stop chan struct{}) {
	first := true
	d.every(stop, 500*time.Millisecond, func() bool {
		if first { // the daemon has just started: probe from the next tick
			first = false
			return true
		}
		for _, path := range []string{"/healthz", "/readyz"} {
			if d.isPaused() {
				return true
			}
			_, _, err := d.get(path)
			if d.Exited() || d.isSignaled() {
				return false
			}
			if d.isPaused() {
				return true
			}
			d.r.mu.Lock()
			d.r.health.probes++
			if err != nil {
				d.r.health.late++
				if len(d.r.health.lateWhat) < 5 {
					d.r.health.lateWhat = append(d.r.health.lateWhat, fmt.Sprintf("%s %s at %v: %v", d.Name, path, time.Since(d.r.t0).Round(time.Millisecond), err))
				}
			}
			d.r.mu.Unlock()
		}
		return true
	})
}

func (d *Daemon) isSignaled() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.signaled
}

// Pause stops the daemon with SIGSTOP (a zombie: alive, holding its
// connections, doing nothing) until Resume; its health is not probed then.
func (d *Daemon) Pause() {
	d.mu.Lock()
	d.pausedTill = time.Now().Add(24 * time.Hour)
	d.mu.Unlock()
	_ = d.cmd.Process.Signal(syscall.SIGSTOP)
}

// Resume continues a paused daemon (SIGCONT); its probes count again two
// seconds later.
func (d *Daemon) Resume() {
	_ = d.cmd.Process.Signal(syscall.SIGCONT)
	d.mu.Lock()
	d.pausedTill = time.Now().Add(2 * time.Second)
	d.mu.Unlock()
}

func (d *Daemon) isPaused() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return time.Now().Before(d.pausedTill)
}

// RSS reads VmHWM and VmRSS of the process (bytes) and remembers the peak.
func (d *Daemon) RSS() (hwm, rss int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmHWM:":
			hwm = v << 10
		case "VmRSS:":
			rss = v << 10
		}
	}
	d.mu.Lock()
	if hwm > d.peak {
		d.peak = hwm
	}
	d.mu.Unlock()
	return hwm, rss
}

// PeakRSS is the highest VmHWM seen.
func (d *Daemon) PeakRSS() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.peak
}

var probeClient = &http.Client{Timeout: time.Second}

// get asks an endpoint of the daemon; it fails when no answer comes within
// a second.
func (d *Daemon) get(path string) (int, string, error) {
	resp, err := probeClient.Get("http://" + d.Metrics + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	return resp.StatusCode, string(b), nil
}

// Health returns the status codes of /healthz and /readyz (an error when
// either took longer than a second).
func (d *Daemon) Health() (healthz, readyz int, body string, err error) {
	h, hb, err := d.get("/healthz")
	if err != nil {
		return 0, 0, "", fmt.Errorf("/healthz: %v", err)
	}
	rd, rb, err := d.get("/readyz")
	if err != nil {
		return h, 0, "", fmt.Errorf("/readyz: %v", err)
	}
	return h, rd, strings.TrimSpace(hb + " " + rb), nil
}

// Metric returns the sum of a metric's series on /metrics (within a
// second).
func (d *Daemon) Metric(name string) (float64, error) {
	code, body, err := d.get("/metrics")
	if err != nil {
		return 0, fmt.Errorf("/metrics: %v", err)
	}
	if code != 200 {
		return 0, fmt.Errorf("/metrics: status %d", code)
	}
	return metricSum(body, name)
}

func metricSum(body, name string) (float64, error) {
	var sum float64
	found := false
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return 0, fmt.Errorf("metric line %q: %v", line, err)
		}
		sum += v
		found = true
	}
	if !found {
		return 0, fmt.Errorf("no %s on /metrics", name)
	}
	return sum, nil
}

// Inflight returns express_inflight_records.
func (d *Daemon) Inflight() (float64, error) { return d.Metric("express_inflight_records") }

// Kill sends SIGKILL to the daemon's process group and waits for it.
func (d *Daemon) Kill() {
	d.RSS()
	d.mu.Lock()
	d.signaled = true
	d.mu.Unlock()
	d.killGroup()
	<-d.done
}

func (d *Daemon) killGroup() {
	if d.cmd.Process != nil {
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// Term sends SIGTERM and waits up to bound for the process to exit. It
// returns how long the exit took and whether it happened; a daemon still
// running at the bound is killed.
func (d *Daemon) Term(bound time.Duration) (time.Duration, bool) {
	d.RSS()
	d.mu.Lock()
	d.signaled = true
	d.mu.Unlock()
	t0 := time.Now()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return time.Since(t0), true
	case <-time.After(bound):
		d.killGroup()
		<-d.done
		return time.Since(t0), false
	}
}

// Stop sends SIGTERM and records a failure when the daemon takes longer
// than its drain timeout plus 5 seconds or exits with an error.
func (d *Daemon) Stop() {
	bound := d.cfg.Drain + 5*time.Second
	took, ok := d.Term(bound)
	if !ok {
		d.r.Failf("%s did not exit within %v of SIGTERM (--drain-timeout %v); last lines:\n%s", d.Name, bound, d.cfg.Drain, d.LogTail(8))
		return
	}
	if d.waitErr != nil {
		d.r.Failf("%s exited after SIGTERM with %v; last lines:\n%s", d.Name, d.waitErr, d.LogTail(8))
	}
	d.r.Logf("%s stopped in %v", d.Name, took.Round(time.Millisecond))
}

// Running returns the daemons the harness has not stopped.
func (r *Run) Running() []*Daemon {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Daemon
	for _, d := range r.daemons {
		if !d.isSignaled() {
			out = append(out, d)
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Waiting and the final checks

// WaitFor polls cond every 100 ms until it is true or timeout passes.
func WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitResults waits until at least n results exist (for "mid-stream"
// moments); false when timeout passes first.
func (r *Run) WaitResults(n int, timeout time.Duration) bool {
	return WaitFor(timeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		t, err := r.broker.Tally(ctx)
		return err == nil && t.Results >= n
	})
}

// Finish runs the end-of-scenario checks on the broker's inputs and every
// daemon still running, then stops those daemons with SIGTERM:
// no input lost, in-flight back to 0, health endpoints answering and
// truthful, resident memory under the bound, a prompt exit.
func (r *Run) Finish() {
	b := r.broker
	r.checkUnexpectedExits()
	// 1. Every input has a result.
	var t Tally
	var lastErr error
	finish0 := time.Now()
	deadline := finish0.Add(r.Size.Settle)
	stall := min(r.Size.Settle, cmp.Or(r.Size.Stall, 20*time.Second))
	lastProgress, lastResults := time.Now(), -1
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		t, lastErr = b.Tally(ctx)
		cancel()
		if lastErr == nil && t.Lost == 0 {
			break
		}
		if t.Results != lastResults {
			lastProgress, lastResults = time.Now(), t.Results
		}
		// Give up early when nothing moved for a long while: wedged.
		if time.Now().After(deadline) || time.Since(lastProgress) > stall {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	r.Out.Records, r.Out.Results, r.Out.Lost, r.Out.Duplicates, r.Out.Unknown = t.Inputs, t.Results, t.Lost, t.Dups, t.Unknown
	if lastErr != nil {
		r.Failf("could not read the results: %v", lastErr)
	}
	if t.Lost > 0 && time.Since(lastProgress) < stall {
		r.Failf("too slow (not wedged): %d of %d inputs still without a result at the %v bound while results still come (lost by kind %v)",
			t.Lost, t.Inputs, r.Size.Settle, t.LostKinds)
	} else if t.Lost > 0 {
		r.Failf("lost: %d of %d inputs have no output or dead-letter record %v after the last input (no new result for %v; lost by kind %v; e.g. partition/offset %v)",
			t.Lost, t.Inputs, time.Since(finish0).Round(time.Second), time.Since(lastProgress).Round(time.Second), t.LostKinds, t.LostSample)
	}
	if t.Unknown > 0 {
		r.Failf("%d results name a source partition/offset that was never produced", t.Unknown)
	}
	if b.cfg.ReadCommitted && b.cfg.AllowDuplicates {
		r.Notef("duplicates: %d inputs have more than one result (at least once)", t.Dups)
	} else if b.cfg.ReadCommitted && t.Dups > 0 {
		r.Failf("duplicates: %d inputs have more than one result under read_committed (exactly once)", t.Dups)
	}
	if t.DLQ > 0 {
		r.Notef("dead letters: %d %v", t.DLQ, t.DLQErrors)
	}
	running := r.Running()
	// Caught up means committed: every input's offset is committed by the
	// group (only checked when no input is lost).
	if t.Lost == 0 && len(running) > 0 && lastErr == nil {
		var committed int64
		var err error
		ok := WaitFor(10*time.Second, func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			committed, err = b.Committed(ctx, "faults")
			return err == nil && committed >= int64(t.Inputs)
		})
		if !ok {
			r.Failf("committed offsets: %d of %d inputs committed 10s after every input had a result (err %v)", committed, t.Inputs, err)
		}
	}
	// 2. In-flight back to 0 on every daemon.
	if len(running) > 0 {
		r.Out.MaxInflight = 0
	}
	for _, d := range running {
		var v float64
		var err error
		ok := WaitFor(10*time.Second, func() bool {
			v, err = d.Inflight()
			return err == nil && v == 0
		})
		if v > r.Out.MaxInflight {
			r.Out.MaxInflight = v
		}
		if !ok {
			if err != nil {
				r.Failf("%s: in-flight unknown: %v", d.Name, err)
			} else {
				r.Failf("%s: express_inflight_records is %v, not 0, 10s after the results were counted (leak)", d.Name, v)
			}
		}
	}
	// 3. Health: both endpoints answer within 1 s, /healthz 200, /readyz 200
	// once caught up (it may take a rebalance to give every member
	// partitions, see readyBound).
	healthOK := true
	for _, d := range running {
		var h, rd int
		var body string
		var err error
		ok := WaitFor(d.readyBound(), func() bool {
			h, rd, body, err = d.Health()
			return err == nil && h == 200 && rd == 200
		})
		if !ok {
			healthOK = false
			if err != nil {
				r.Failf("%s: health endpoint did not answer within 1s: %v", d.Name, err)
			} else {
				r.Failf("%s: caught up but /healthz %d, /readyz %d after %v: %s; last lines:\n%s", d.Name, h, rd, d.readyBound(), strings.TrimSpace(body), d.LogTail(12))
			}
		}
	}
	r.mu.Lock()
	hs := r.health
	r.mu.Unlock()
	if hs.late > 0 {
		healthOK = false
		r.Failf("%d of %d health probes during the run got no answer within 1s: %v", hs.late, hs.probes, hs.lateWhat)
	}
	r.Out.HealthOK = healthOK
	// 4. Memory.
	for _, d := range r.daemons {
		if !d.Exited() {
			d.RSS()
		}
		if p := d.PeakRSS(); p > r.Out.MaxRSS {
			r.Out.MaxRSS = p
		}
	}
	if r.Size.MaxRSS > 0 && r.Out.MaxRSS > r.Size.MaxRSS {
		r.Failf("peak resident memory %s over the bound of %s", MiB(r.Out.MaxRSS), MiB(r.Size.MaxRSS))
	}
	// 5. Prompt, clean exit.
	for _, d := range running {
		d.Stop()
	}
}

// checkUnexpectedExits fails for every daemon that ended without the
// harness stopping it.
func (r *Run) checkUnexpectedExits() {
	for _, d := range r.Running() {
		if d.Exited() {
			d.mu.Lock()
			d.signaled = true
			d.mu.Unlock()
			r.Failf("%s exited on its own (%v); last lines:\n%s", d.Name, d.waitErr, d.LogTail(10))
		}
	}
}

// MiB formats bytes as MiB.
func MiB(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

// ---------------------------------------------------------------------------
// Records

// Reading returns the i-th IoT reading for the reference workflow; every
// 20th is out of range (a dead letter).
func Reading(i int) *kgo.Record {
	dev := "dev-" + strconv.Itoa(i%50)
	v := 20 + i%10
	if i%20 == 0 {
		v = 999
	}
	return &kgo.Record{Key: []byte(dev), Value: []byte(fmt.Sprintf(
		`{"deviceId":%q,"ts":"2026-11-22T10:00:00Z","type":"temperature","value":%d,"unit":"C","battery":0.5,"tags":[],"i":%d}`, dev, v, i))}
}

// Markdown returns the results table of outcomes.
func Markdown(outs []Outcome) string {
	var b bytes.Buffer
	b.WriteString("| scenario | records | lost | duplicates | max in-flight after | health ok | max RSS | time | result |\n")
	b.WriteString("|---|---:|---:|---:|---:|---|---:|---:|---|\n")
	for _, o := range outs {
		res := "pass"
		if !o.Pass() {
			res = "FAIL: " + strings.ReplaceAll(firstLine(o.Failures[0]), "|", "\\|")
			if len(o.Failures) > 1 {
				res += fmt.Sprintf(" (+%d more)", len(o.Failures)-1)
			}
		}
		infl := "-"
		if o.MaxInflight >= 0 {
			infl = strconv.FormatFloat(o.MaxInflight, 'f', -1, 64)
		}
		health := "yes"
		if !o.HealthOK {
			health = "no"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %s | %s | %s | %s | %s |\n", o.Name, o.Records, o.Lost, o.Duplicates, infl, health,
			MiB(o.MaxRSS), o.Elapsed.Round(100*time.Millisecond), res)
	}
	return b.String()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
