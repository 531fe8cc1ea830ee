// Package daemon assembles `express serve`: it checks a config, starts an
// embedded broker when no brokers are given, compiles the workflows with
// their resources and metrics hooks, runs one kafka.Processor per workflow,
// serves /metrics (the kafka package metrics, franz-go's kprom metrics per
// client, the Go and process collectors; listed in docs/metrics.md),
// /healthz (fails when a workflow with work makes no progress) and /readyz
// (connected and partitions assigned), writes the execution logs, and
// prints a progress line.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/stepstream/express/console"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/kafka"
	"github.com/stepstream/express/resources"
)

// Options configure Run beyond the config file.
type Options struct {
	// Out receives the startup lines and the progress line; nil is
	// io.Discard.
	Out io.Writer
	// Progress is the interval of the progress line; 0 disables it.
	Progress time.Duration
	// Demo starts a generator of IoT readings into the first workflow's
	// first topic, at DemoRate records/s (0: as fast as possible).
	Demo     bool
	DemoRate int
	// EmbeddedPartitions is the partition count of topics created in the
	// embedded broker (default 12).
	EmbeddedPartitions int32
	// EmbeddedPort is the embedded broker's port on 127.0.0.1; 0 (or a
	// busy port) means any free port.
	EmbeddedPort int
	// EmbeddedRetentionBytes is how much of each partition other than the
	// workflows' inputs (kept until committed) the embedded broker keeps
	// in memory (0: EmbeddedRetentionBytes).
	EmbeddedRetentionBytes int
	// Logger receives the daemon's operational logs (broker warnings,
	// produce failures); nil is slog.Default().
	Logger *slog.Logger
	// LogLevel is the execution log level (kafka.LogOff: none), written
	// as JSON lines to LogOut (nil: os.Stderr); LogExecutionData adds
	// inputs and outputs; LogMaxPerSecond bounds the lines per second and
	// level (see kafka.ExecutionLogOptions.MaxPerSecond).
	LogLevel         kafka.LogLevel
	LogOut           io.Writer
	LogExecutionData bool
	LogMaxPerSecond  int
	// StuckAfter is how long the consumer may go without progress (a
	// record admitted or finished) while it has work (lag or records in
	// flight) before /healthz fails; 0 means DefaultStuckAfter.
	StuckAfter time.Duration
	// Pprof serves Go's profiles (net/http/pprof) under /debug/pprof/ on
	// the metrics address. Off by default: a profile costs CPU while it
	// runs, and the address may be reachable by more than the operators.
	Pprof bool
	// NoConsole turns off the web console, otherwise served under /ui on
	// the metrics address (package console); ConsoleSamplePerSecond bounds
	// the executions per workflow and second that record their history for
	// it (0: console.DefaultSamplePerSecond); ConsoleStateMachines lists
	// further state machines to show (those of the Step Functions API).
	NoConsole              bool
	ConsoleSamplePerSecond int
	ConsoleStateMachines   console.StateMachines
	// Ready, when set, is called with the broker addresses and metrics
	// address once everything is running.
	Ready func(brokers []string, metricsAddr string)
	// APIFallback makes the Step Functions API listen on a free port of
	// the same host when its address is busy (serve --demo's default).
	APIFallback bool
	// APIReady, when set, is called with the Step Functions API's address
	// once it listens.
	APIReady func(addr string)
}

// DefaultMaxBuildBytesTotal is the default of the config's
// max_build_bytes_total: what all running executions' JSONata expressions
// and intrinsic functions may have built together. With 256 executions at
// once, each one's own limit (express.DefaultMaxBuildBytes, 64 MiB) adds up
// to 16 GiB; the shared one keeps a daemon fed adversarial records within
// well under a GiB (with the in-flight bytes and DaemonMemoryLimit), and
// only executions that build that much are failed.
const DefaultMaxBuildBytesTotal = 384 << 20

// DefaultStuckAfter is the default of Options.StuckAfter: a minute more
// than the Express execution limit, so that a long but live execution
// (a Wait, a slow Task) never makes a healthy daemon look stuck.
const DefaultStuckAfter = express.MaxExecutionTime + time.Minute

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// The embedded broker's retention, for the topics other than the
// workflows' inputs (outputs, dead letters, Task topics). It holds records
// in memory, so each partition keeps at most about its retention bytes plus
// one segment (kfake drops whole segments) and nothing older than
// EmbeddedRetention. Input topics have no retention: what the workflows'
// groups have committed is deleted instead (see janitor), so unprocessed
// input is never dropped.
const (
	EmbeddedRetention      = 10 * time.Minute
	EmbeddedRetentionBytes = 8 << 20
	EmbeddedSegmentBytes   = 2 << 20
)

// EmbeddedVersions are the API versions the embedded broker offers (and
// the fault suite's): every one kfake has, but Produce only up to v12
// (topics by name). kfake panics on a v13 Produce (topics by id) naming two
// topics it does not know, which a client sends after a broker restarted
// empty; a panic of the embedded broker would end the daemon.
func EmbeddedVersions() *kversion.Versions {
	v := kversion.Stable()
	v.SetMaxKeyVersion(kmsg.Produce.Int16(), 12)
	return v
}

// Embedded configures StartEmbedded.
type Embedded struct {
	// Port on 127.0.0.1; 0 (or a busy port) means any free port.
	Port int
	// Partitions of the topics it creates (0: 12).
	Partitions int32
	// RetentionBytes per partition of topics with retention (0:
	// EmbeddedRetentionBytes).
	RetentionBytes int
}

// StartEmbedded starts an in-process Kafka-protocol broker (kfake) on
// 127.0.0.1 with the given topics. It lifts the soft memory limit that
// TuneGC set (liftMemoryLimit).
func StartEmbedded(e Embedded, topics ...string) (*kfake.Cluster, error) {
	liftMemoryLimit()
	partitions, port := e.Partitions, e.Port
	if partitions <= 0 {
		partitions = 12
	}
	retention := e.RetentionBytes
	if retention <= 0 {
		retention = EmbeddedRetentionBytes
	}
	segment := min(EmbeddedSegmentBytes, max(retention/4, 64<<10))
	listen := func(addr string) (*kfake.Cluster, error) {
		return kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, uniq(topics)...),
			// kfake deletes whole segments only: with its default
			// 100 MiB segments the retention limits would never apply.
			kfake.BrokerConfigs(map[string]string{"log.retention.ms": strconv.Itoa(int(EmbeddedRetention.Milliseconds())),
				"log.retention.bytes": strconv.Itoa(retention), "log.segment.bytes": strconv.Itoa(segment)}),
			kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(int(partitions)),
			kfake.MaxVersions(EmbeddedVersions()),
			kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, addr) }))
	}
	if port > 0 {
		if c, err := listen(fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			return c, nil
		}
	}
	return listen("127.0.0.1:0")
}

func handler(reg *prometheus.Registry, procs []*kafka.Processor, watch *watchdog, profiles bool) http.Handler {
	mux := http.NewServeMux()
	if profiles {
		mux.HandleFunc("/debug/pprof/", pprof.Index) // and every named profile below it
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if msg := watch.stuck(); msg != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, msg)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		// The workflows are compiled before any processor exists.
		for _, p := range procs {
			msg := ""
			switch {
			case !p.Ready():
				msg = "is not connected"
			case !p.Reachable():
				msg = fmt.Sprintf("cannot reach the brokers (for %s)", p.UnreachableFor().Round(time.Second))
			case p.Partitions() == 0:
				msg = "has no partitions assigned"
			}
			if msg != "" {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintf(w, "workflow %q %s\n", p.Workflow().Name(), msg)
				return
			}
		}
		if msg := watch.stuck(); msg != "" {
			// work is waiting and nothing moves: not ready either
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, msg)
			return
		}
		w.Write([]byte("ready\n"))
	})
	return mux
}

type kafkaTotals struct {
	in, out, dlq, lag int64
	unreachable       time.Duration // the longest a processor has not reached the brokers
}

func (t *kafkaTotals) add(p *kafka.Processor) {
	s := p.Stats()
	t.in += s.Consumed.Load()
	t.out += s.Output.Load()
	t.dlq += s.DLQ.Load()
	t.lag += p.Lag()
	t.unreachable = max(t.unreachable, p.UnreachableFor())
}

// progress prints, every interval: records/s in and out, p99 latency from
// fetch to acknowledged result, lag and DLQ count.
func progress(ctx context.Context, w io.Writer, every time.Duration, procs []*kafka.Processor) {
	t := time.NewTicker(every)
	defer t.Stop()
	var prev kafkaTotals
	var prevFinished int64
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var cur kafkaTotals
		var finished int64
		var p99 time.Duration
		for _, p := range procs {
			cur.add(p)
			finished += p.Stats().Finished.Load()
			p99 = max(p99, p.LatencyQuantile(0.99, true))
		}
		secs := time.Since(last).Seconds()
		last = time.Now()
		lag := strconv.FormatInt(cur.lag, 10)
		note := ""
		if cur.unreachable > 0 {
			// the lag is the last one seen: unknown now
			lag, note = "?", fmt.Sprintf("  brokers unreachable for %s", cur.unreachable.Round(time.Second))
		}
		fmt.Fprintf(w, "in %8.0f rec/s  out %8.0f rec/s  p99 %8s  lag %7s  dlq %6d  total in %d%s\n",
			float64(cur.in-prev.in)/secs, float64(finished-prevFinished)/secs, p99.Round(10*time.Microsecond), lag, cur.dlq, cur.in, note)
		prev, prevFinished = cur, finished
	}
}

// lateProducer is a resources.Producer bound once the broker address is known.
type lateProducer struct {
	mu sync.RWMutex
	cl *kgo.Client
}

func (l *lateProducer) set(cl *kgo.Client) { l.mu.Lock(); l.cl = cl; l.mu.Unlock() }

func (l *lateProducer) get() *kgo.Client { l.mu.RLock(); defer l.mu.RUnlock(); return l.cl }

// ProduceSync produces on the bound client, or fails every record before it is bound.
func (l *lateProducer) ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	cl := l.get()
	if cl == nil {
		return noProducer(rs)
	}
	return cl.ProduceSync(ctx, rs...)
}

// lateTxnProducer is an exactly-once workflow's producer of kafka: Task
// records, bound to its processor's transactions once the processor is
// made.
type lateTxnProducer struct {
	mu sync.RWMutex
	p  resources.Producer
}

func (l *lateTxnProducer) set(p resources.Producer) { l.mu.Lock(); l.p = p; l.mu.Unlock() }

// ProduceSync produces in the processor's open transaction, or fails every
// record before the processor is made.
func (l *lateTxnProducer) ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	l.mu.RLock()
	p := l.p
	l.mu.RUnlock()
	if p == nil {
		return noProducer(rs)
	}
	return p.ProduceSync(ctx, rs...)
}

// noProducer fails every record: no producer is bound yet.
func noProducer(rs []*kgo.Record) kgo.ProduceResults {
	out := make(kgo.ProduceResults, len(rs))
	for i, r := range rs {
		out[i] = kgo.ProduceResult{Record: r, Err: errors.New("no Kafka producer is running")}
	}
	return out
}

type kgoLogger struct{ l *slog.Logger }

// Level logs warnings and errors only.
func (k kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

// Log forwards franz-go warnings and errors to slog.
func (k kgoLogger) Log(level kgo.LogLevel, msg string, kv ...any) {
	switch level {
	case kgo.LogLevelError:
		k.l.Error("kafka: "+msg, kv...)
	case kgo.LogLevelWarn:
		k.l.Warn("kafka: "+msg, kv...)
	}
}

var _ express.Invoker = (*resources.Resources)(nil)
