package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"

	"github.com/stepstream/express/api"
	"github.com/stepstream/express/console"
	"github.com/stepstream/express/daemon/config"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/kafka"
	"github.com/stepstream/express/resources"
)

// Run serves until ctx is done, then drains every processor and returns.
// Config problems are returned (as config.Problems) before connecting.
//
// The steps, in order: compile (metrics registry, config check, the
// workflows with their resources and hooks), executionLog, broker (the
// given brokers, or an embedded one with its janitor), clients (options
// and the Task/demo producer), processors, httpServer (/metrics, /healthz,
// /readyz), apiServer (the Step Functions API, when configured), serve
// (run, demo generator, progress) and drain. With no workflow (the API
// alone) no broker is used.
func Run(ctx context.Context, f *config.File, o Options) error {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	r := &run{f: f, o: o}
	defer r.close()
	for _, step := range []func(context.Context) error{r.compile, r.executionLog, r.broker, r.clients, r.processors, r.httpServer, r.apiServer} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	r.serve(ctx)
	<-ctx.Done()
	return r.drain()
}

// run is the state of one Run, built up step by step.
type run struct {
	f *config.File
	o Options

	reg      *prometheus.Registry
	metrics  *kafka.Metrics
	producer *lateProducer               // Task (kafka:) targets and the demo generator
	txnProd  map[string]*lateTxnProducer // exactly-once workflows' kafka: targets, by workflow
	hooks    map[string]express.Hooks
	resolved []*config.Resolved
	xlog     *kafka.ExecutionLog
	brokers  []string
	copts    []kgo.Opt
	procs    []*kafka.Processor
	watch    *watchdog

	srv         *http.Server
	metricsAddr string
	pool        *express.BuildPool
	apiSrv      *api.HTTPServer
	apiAddr     string
	console     *console.Console // nil when off
	apiMachines apiMachines      // the API's state machines, for the console

	wg      sync.WaitGroup // background loops
	closers []func()       // run in reverse order by close

	stopRun, stopGen context.CancelFunc
	pwg              sync.WaitGroup // processors
	errs             []error
}

func (r *run) onClose(f func()) { r.closers = append(r.closers, f) }

func (r *run) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
}

// compile checks the config and compiles every workflow with its
// resources and metrics hooks. The Task producer is bound later: its
// address is known only after the embedded broker starts, and checking a
// config must not connect.
func (r *run) compile(context.Context) error {
	r.reg = prometheus.NewRegistry()
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var err error
	if r.metrics, err = kafka.NewMetrics(r.reg); err != nil {
		return err
	}
	r.producer = &lateProducer{}
	r.hooks = map[string]express.Hooks{}
	r.txnProd = map[string]*lateTxnProducer{}
	r.newConsole()
	var mu sync.Mutex
	r.resolved, err = config.Check(r.f, config.CompileOptions{Producer: r.producer, Hooks: func(name string) express.Hooks {
		h := r.consoleHooks(name, r.metrics.Hooks(name))
		mu.Lock()
		r.hooks[name] = h
		mu.Unlock()
		return h
	}, TxnProducer: func(name string) resources.Producer {
		l := &lateTxnProducer{}
		mu.Lock()
		r.txnProd[name] = l
		mu.Unlock()
		return l
	}})
	if err != nil {
		return err
	}
	for _, w := range r.resolved {
		for _, p := range w.Warnings {
			r.o.Logger.Warn("definition warning", "workflow", w.Config.Name, "definition", w.Config.Definition, "warning", p.String())
		}
		for _, p := range w.ConfigWarnings {
			r.o.Logger.Warn("config warning", "workflow", w.Config.Name, "warning", p.String())
		}
	}
	return r.consoleDefinitions()
}

// executionLog opens the execution log when a level is set.
func (r *run) executionLog(context.Context) error {
	if r.o.LogLevel == kafka.LogOff {
		return nil
	}
	out := r.o.LogOut
	if out == nil {
		out = os.Stderr
	}
	xlog, err := kafka.NewExecutionLog(slog.NewJSONHandler(out, nil), kafka.ExecutionLogOptions{Level: r.o.LogLevel,
		IncludeData: r.o.LogExecutionData, MaxPerSecond: r.o.LogMaxPerSecond, Registerer: r.reg})
	if err != nil {
		return err
	}
	r.xlog = xlog
	r.onClose(func() { xlog.Close() })
	return nil
}

// kafkaTargets calls f with every topic of a kafka: Task target.
func (r *run) kafkaTargets(f func(topic string)) {
	for _, w := range r.resolved {
		for _, ts := range w.Routes {
			for _, t := range ts {
				if t.Kind == resources.KindKafka {
					f(t.Topic)
				}
			}
		}
	}
}

// broker uses the configured brokers, or starts an embedded one holding
// every topic the workflows use, with the janitor that deletes committed
// input.
func (r *run) broker(ctx context.Context) error {
	r.brokers = r.f.Brokers
	if len(r.brokers) > 0 || len(r.resolved) == 0 {
		return nil
	}
	var topics []string
	inputs := map[string][]string{}
	for _, w := range r.resolved {
		topics = append(topics, w.Options.Topics...)
		topics = append(topics, w.Options.DLQTopic)
		if w.Options.OutputTopic != "" {
			topics = append(topics, w.Options.OutputTopic)
		}
		for _, t := range w.Options.Topics {
			inputs[t] = append(inputs[t], w.Options.Group)
		}
	}
	r.kafkaTargets(func(t string) { topics = append(topics, t) })
	c, err := StartEmbedded(Embedded{Port: r.o.EmbeddedPort, Partitions: max(r.o.EmbeddedPartitions, 0), RetentionBytes: r.o.EmbeddedRetentionBytes}, topics...)
	if err != nil {
		return fmt.Errorf("starting the embedded broker: %w", err)
	}
	r.onClose(c.Close)
	jan, err := newJanitor(ctx, c, inputs, r.o.Logger)
	if err != nil {
		return err
	}
	r.onClose(jan.close)
	r.wg.Add(1)
	go func() { defer r.wg.Done(); jan.run(ctx, janitorInterval) }()
	r.brokers = c.ListenAddrs()
	fmt.Fprintf(r.o.Out, "express: embedded Kafka broker on %s (topics: %v)\n", r.brokers[0], uniq(topics))
	return nil
}

// clients makes the client options (TLS, SASL, logger) and the producer
// of kafka: Task targets and the demo generator, when one is needed.
func (r *run) clients(context.Context) error {
	copts, err := r.f.ClientOpts()
	if err != nil {
		return err
	}
	copts[0] = kgo.SeedBrokers(r.brokers...)
	r.copts = append(copts, kgo.WithLogger(kgoLogger{r.o.Logger}))
	need := r.o.Demo || (r.f.API.Enabled() && len(r.resolved) > 0)
	r.kafkaTargets(func(string) { need = true })
	if !need {
		return nil
	}
	pcl, err := kgo.NewClient(r.clientOpts("producer", kgo.ProducerLinger(2*time.Millisecond))...)
	if err != nil {
		return err
	}
	r.onClose(pcl.Close)
	r.producer.set(pcl)
	return nil
}

// clientOpts adds franz-go's own metrics (kprom) for one client; the client
// label keeps the clients' series apart on the one registry.
func (r *run) clientOpts(client string, extra ...kgo.Opt) []kgo.Opt {
	km := kprom.NewMetrics("express_kafka", kprom.Registerer(r.reg), kprom.WithStaticLabel(prometheus.Labels{"client": client}))
	return append(append(slices.Clip(r.copts), extra...), kgo.WithHooks(km))
}

// processors makes one kafka.Processor per workflow and the watchdog that
// tells whether they make progress.
func (r *run) processors(ctx context.Context) error {
	var pool *express.BuildPool
	switch n := r.f.MaxBuildBytesTotal; {
	case n == 0:
		pool = express.NewBuildPool(DefaultMaxBuildBytesTotal)
	case n > 0:
		pool = express.NewBuildPool(n)
	}
	r.pool = pool
	for _, w := range r.resolved {
		opts := w.Options
		opts.Workflow = opts.Workflow.WithBuildPool(pool)
		opts.ClientOpts = r.clientOpts("consumer:" + w.Config.Name)
		opts.Metrics = r.metrics
		opts.Logger = r.o.Logger
		opts.ExecutionLog = r.xlog
		opts.Hooks = r.hooks[w.Config.Name]
		opts.Observer = r.consoleObserver(w.Config.Name)
		if opts.DrainTimeout == 0 {
			opts.DrainTimeout = kafka.DefaultDrainTimeout
		}
		p, err := kafka.New(opts)
		if err != nil {
			return fmt.Errorf("workflow %q: %w", w.Config.Name, err)
		}
		if l := r.txnProd[w.Config.Name]; l != nil && p.Producer() != nil {
			l.set(p.Producer())
		}
		r.procs = append(r.procs, p)
	}
	stuckAfter := r.o.StuckAfter
	if stuckAfter <= 0 {
		stuckAfter = DefaultStuckAfter
	}
	r.watch = newWatchdog(r.procs, stuckAfter)
	r.wg.Add(1)
	go func() { defer r.wg.Done(); r.watch.run(ctx) }()
	return nil
}

// httpServer serves /metrics, /healthz and /readyz (and the profiles) on
// the metrics address, when there is one.
func (r *run) httpServer(ctx context.Context) error {
	if r.f.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", r.f.MetricsAddr)
	busy := ""
	if err != nil && r.o.Demo {
		// as the embedded broker's port: a second demo takes a free port
		if host, _, splitErr := net.SplitHostPort(r.f.MetricsAddr); splitErr == nil {
			busy = fmt.Sprintf(" (%s is busy: %v)", r.f.MetricsAddr, err)
			ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
		}
	}
	if err != nil {
		return fmt.Errorf("metrics_addr: %w", err)
	}
	r.metricsAddr = ln.Addr().String()
	r.srv = &http.Server{Handler: r.withConsole(ctx, handler(r.reg, r.procs, r.watch, r.o.Pprof)), ReadHeaderTimeout: 5 * time.Second}
	r.wg.Add(1)
	go func() { defer r.wg.Done(); _ = r.srv.Serve(ln) }()
	fmt.Fprintf(r.o.Out, "express: metrics on http://%s/metrics%s\n", r.metricsAddr, busy)
	if r.console != nil {
		fmt.Fprintf(r.o.Out, "express: console on http://%s/ui/\n", r.metricsAddr)
	}
	return nil
}

// serve starts the processors, the demo generator and the progress line.
// The processors run on their own context: on shutdown the generator stops
// first, then they drain.
func (r *run) serve(ctx context.Context) {
	runCtx, stopRun := context.WithCancel(context.Background())
	genCtx, stopGen := context.WithCancel(ctx)
	r.stopRun, r.stopGen = stopRun, stopGen
	r.onClose(stopRun)
	r.onClose(stopGen)
	r.errs = make([]error, len(r.procs))
	for i, p := range r.procs {
		r.pwg.Add(1)
		go func() {
			defer r.pwg.Done()
			r.errs[i] = p.Run(runCtx)
		}()
		w := r.resolved[i]
		fmt.Fprintf(r.o.Out, "express: workflow %q consuming %v in group %q\n", w.Config.Name, w.Options.Topics, w.Options.Group)
	}
	if r.o.Demo && len(r.resolved) > 0 {
		topic := r.resolved[0].Options.Topics[0]
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			Generate(genCtx, r.producer.get(), topic, r.o.DemoRate, r.procs[0].Lag)
		}()
		fmt.Fprintf(r.o.Out, "express: demo generator producing IoT readings into %q\n", topic)
	}
	if r.o.Ready != nil {
		r.o.Ready(r.brokers, r.metricsAddr)
	}
	if r.o.Progress > 0 {
		r.wg.Add(1)
		go func() { defer r.wg.Done(); progress(genCtx, r.o.Out, r.o.Progress, r.procs) }()
	}
}

// drain stops the generator, then the processors (each drains its
// in-flight executions for at most its drain timeout and commits), then
// the HTTP server and the background loops, and prints the totals.
func (r *run) drain() error {
	r.stopGen()
	if r.apiSrv != nil {
		// no new API requests; the running ones finish (sync executions
		// are bounded by their time limit, at most 5 minutes: cut at 10 s)
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = r.apiSrv.Shutdown(sctx)
		cancel()
	}
	fmt.Fprintln(r.o.Out, "express: shutting down: draining in-flight executions")
	r.stopRun()
	r.pwg.Wait()
	if r.srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = r.srv.Shutdown(sctx)
		cancel()
	}
	r.wg.Wait()
	var total kafkaTotals
	for _, p := range r.procs {
		total.add(p)
	}
	fmt.Fprintf(r.o.Out, "express: stopped: %d records in, %d out, %d to the DLQ\n", total.in, total.out, total.dlq)
	return errors.Join(r.errs...)
}
