package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/stepstream/express/api"
	"github.com/stepstream/express/daemon"
	"github.com/stepstream/express/daemon/config"
	"github.com/stepstream/express/kafka"
)

const serveUsage = `Usage: express serve [flags]

Runs workflows over Kafka: one Express execution per record, at least once
(or exactly once with --delivery exactly-once: Kafka transactions).

  express serve --demo
      embedded broker, the reference IoT workflow and a generator of readings
  express serve --brokers host:9092 --definition wf.asl.json --topic in \
      --output-topic out --dlq-topic in-dlq --resource ARN=https://host/path
  express serve --config express.yaml
  express serve --api-addr 127.0.0.1:8083 --resource ARN=https://host/path
      the Step Functions API alone (no Kafka): aws stepfunctions --endpoint-url

Flags:
`

// serveCmd implements `express serve`.
func serveCmd(args []string) int {
	// Memory is bounded by the in-flight limits; trading some of it for
	// less GC work is worth about 15% of CPU per record.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	daemon.TuneGC(ctx)
	return serveMain(args, os.Stdout, os.Stderr, nil)
}

// serveMain is serveCmd with its outputs and an optional context (tests);
// without one, SIGINT/SIGTERM shut down gracefully and a second signal
// exits at once.
func serveMain(args []string, stdout, stderr io.Writer, ctx context.Context) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, serveUsage); fs.PrintDefaults() }
	var (
		cfgFile      = fs.String("config", "", "YAML config `FILE` with one or more workflows; --brokers, --metrics-addr, --drain-timeout, --session-timeout, TLS and SASL flags override it, workflow flags are refused")
		brokers      = fs.String("brokers", "", "Kafka `host:port,...`; empty starts an embedded broker on 127.0.0.1")
		definition   = fs.String("definition", "", "state machine definition `FILE` (JSON or YAML)")
		name         = fs.String("name", "", "workflow name (default: the definition file's base name)")
		topic        listFlag
		group        = fs.String("group", "", "consumer group (default: express-NAME)")
		outputTopic  = fs.String("output-topic", "", "topic for the outputs of succeeded executions (empty: outputs are dropped)")
		dlqTopic     = fs.String("dlq-topic", "", "dead-letter topic (default: FIRST-TOPIC-dlq)")
		ordering     = fs.String("ordering", "key", "key | partition | unordered")
		idemKey      = fs.String("idempotency-key", "", "execution name: a JSONPath ($.eventId), header:NAME, key, or empty for topic/partition/offset")
		propagate    = fs.String("propagate-headers", strings.Join(kafka.DefaultPropagateHeaders, ","), "input record `HEADERS` (comma-separated) copied to the output record and sent with Task calls (empty: none)")
		concurrency  = fs.Int("concurrency", 0, "executions running at once (default 256)")
		maxInFlight  = fs.Int("max-in-flight", 0, "records fetched and unfinished, over all partitions (default 8192)")
		maxPerPart   = fs.Int("max-in-flight-per-partition", 0, "records admitted and unfinished per partition; as many more wait in memory before its fetching pauses (default 2048)")
		maxInBytes   = fs.Int("max-in-flight-bytes", 0, "value bytes of the records fetched and unfinished; fetching waits at this bound (default 67108864)")
		linger       = fs.Duration("linger", 0, "how long a partition's results wait for more before they are sent, Kafka's linger.ms (0: 5ms; 1us is as good as not at all)")
		fetchPart    = fs.Int("fetch-max-partition-bytes", 0, "most record bytes one fetch asks of a partition, Kafka's max.partition.fetch.bytes (default 131072)")
		maxBuild     = fs.Int64("max-build-bytes", 0, "bytes of strings, arrays and objects one execution's JSONata and intrinsic functions may build before it fails (default 67108864)")
		maxBuildAll  = fs.Int64("max-build-bytes-total", 0, "the same, for all running executions together (default 402653184; -1: no limit)")
		maxBytes     = fs.Int("max-record-bytes", 0, "largest record value executed (default 262144)")
		metricsAddr  = fs.String("metrics-addr", config.DefaultMetricsAddr, "address of /metrics, /healthz and /readyz (empty: off)")
		pprofOn      = fs.Bool("pprof", false, "also serve Go's CPU, heap and other profiles under /debug/pprof/ on the metrics address")
		drain        = fs.Duration("drain-timeout", config.DefaultDrainTimeout, "how long revoke and shutdown wait for in-flight executions")
		session      = fs.Duration("session-timeout", config.DefaultSessionTimeout, "consumer group session timeout: how long a crashed daemon keeps its partitions")
		resourcesF   listFlag
		demo         = fs.Bool("demo", false, "generate IoT readings into the (embedded) topic; without --definition runs the reference IoT workflow")
		demoRate     = fs.Int("demo-rate", 5000, "demo readings per second (0: as fast as possible)")
		progressF    = fs.Duration("progress", 5*time.Second, "interval of the progress line (0: off)")
		partitions   = fs.Int("partitions", 12, "partitions of the topics of the embedded broker")
		embeddedPort = fs.Int("embedded-port", 9092, "port of the embedded broker on 127.0.0.1 (busy or 0: any free port)")
		embeddedRet  = fs.Int("embedded-retention-bytes", daemon.EmbeddedRetentionBytes, "bytes of each output and dead-letter partition the embedded broker keeps in memory (input is kept until committed)")
		logLevel     = fs.String("log-level", "OFF", "execution logs, as Express names the levels: ALL (every execution and state event), ERROR (failed executions and failed states), FATAL (failed executions) or OFF; JSON lines on stderr")
		logData      = fs.Bool("log-execution-data", false, "add execution inputs, outputs and failure causes (which can quote record data) to the execution logs")
		noConsole    = fs.Bool("no-console", false, "do not serve the web console (/ui on the metrics address)")
		logRate      = fs.Int("log-max-per-second", 1000, "execution log lines per second and level (ALL: executions logged per second) before lines are dropped and counted (express_log_lines_dropped_total); -1: no bound")
		daemonLevel  = fs.String("daemon-log-level", "info", "the daemon's own logs (connection problems, produce failures): debug, info, warn or error")
		allowUnmap   = fs.Bool("allow-unmapped", false, "let Tasks with no target fail when they run (States.TaskFailed) instead of refusing to start")
		stuckAfter   = fs.Duration("stuck-after", daemon.DefaultStuckAfter, "/healthz fails when the consumer has work but admits and finishes nothing for this long")
		delivery     = fs.String("delivery", "at-least-once", "at-least-once | exactly-once (outputs, dead letters, kafka: Task records and offsets in one Kafka transaction; HTTP Tasks stay at least once)")
		txnID        = fs.String("transactional-id", "", "exactly-once: the Kafka transactional `ID`, the same across restarts of this process and distinct between processes (default GROUP.INSTANCE_ID)")
		instanceID   = fs.String("instance-id", "", "this process's name among those running the same workflows (e.g. the pod name of a StatefulSet); exactly-once derives the transactional id GROUP.INSTANCE_ID from it")
		txnInterval  = fs.Duration("txn-interval", kafka.DefaultTxnInterval, "exactly-once: a transaction is committed this often...")
		txnMax       = fs.Int("txn-max-records", kafka.DefaultTxnMaxRecords, "... or after this many records, whichever comes first")
	)
	var (
		apiAddr     = fs.String("api-addr", "", "serve the Step Functions API (AWS CLI and SDKs with --endpoint-url) on `host:port`; with no --definition and --topic the API alone runs, without Kafka (--demo: "+daemon.DefaultAPIAddr+" unless set)")
		apiRegion   = fs.String("api-region", "", "region of the API's ARNs (default "+api.DefaultRegion+")")
		apiAccount  = fs.String("api-account", "", "account id of the API's ARNs (default "+api.DefaultAccount+")")
		apiCreds    = fs.String("api-credentials", "", "AWS credentials `FILE` (aws_access_key_id, aws_secret_access_key): every API request's SigV4 signature is verified; without it any signature is accepted")
		apiStateDir = fs.String("api-state-dir", "", "`DIR` keeping the state machines created through the API across restarts")
		apiMocks    = fs.String("api-mock-config", "", "Step Functions Local's mock configuration `FILE` (MockConfigFile.json; default $SFN_MOCK_CONFIG): a stateMachineArn ending in #TestCase runs with its mocks")
		apiInsecure = fs.Bool("api-insecure", false, "allow --api-addr on a non-loopback address without --api-credentials")
	)
	security := addSecurityFlags(fs)
	fs.Var(&topic, "topic", "`TOPIC` to consume (repeatable, or comma-separated)")
	fs.Var(&resourcesF, "resource", "`RESOURCE=TARGET`: TARGET is an http(s):// URL, kafka:TOPIC or static:JSON (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "express serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	xlevel, err := kafka.ParseLogLevel(*logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "express serve: --log-level: %v\n", err)
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*daemonLevel)); err != nil {
		fmt.Fprintf(stderr, "express serve: --daemon-log-level: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var f *config.File
	if *cfgFile != "" {
		for _, name := range []string{"definition", "name", "topic", "group", "output-topic", "dlq-topic", "ordering",
			"idempotency-key", "concurrency", "max-in-flight", "max-in-flight-per-partition", "max-in-flight-bytes", "max-record-bytes", "fetch-max-partition-bytes", "linger",
			"max-build-bytes", "resource", "allow-unmapped", "propagate-headers",
			"delivery", "transactional-id", "txn-interval", "txn-max-records"} {
			if set[name] {
				fmt.Fprintf(stderr, "express serve: --%s cannot be combined with --config: set it in the file\n", name)
				return 2
			}
		}
		var err error
		if f, err = config.Load(*cfgFile); err != nil {
			printProblems(stderr, "express serve", err)
			return 1
		}
		if set["brokers"] {
			f.Brokers = splitList(*brokers)
		}
		if set["metrics-addr"] {
			f.MetricsAddr = *metricsAddr
		}
		if set["drain-timeout"] {
			f.DrainTimeout = config.Duration(*drain)
		}
		if set["session-timeout"] {
			f.SessionTimeout = config.Duration(*session)
		}
		if set["max-build-bytes-total"] {
			f.MaxBuildBytesTotal = *maxBuildAll
		}
		if set["instance-id"] {
			f.InstanceID = *instanceID
		}
		if f.API == nil {
			f.API = &config.API{}
		}
	} else {
		f = &config.File{MetricsAddr: *metricsAddr, DrainTimeout: config.Duration(*drain), SessionTimeout: config.Duration(*session),
			MaxBuildBytesTotal: *maxBuildAll}
		w := config.Workflow{Name: *name, Definition: *definition, Group: *group, OutputTopic: *outputTopic,
			DLQTopic: *dlqTopic, Ordering: *ordering, IdempotencyKey: *idemKey, Concurrency: *concurrency,
			MaxInFlight: *maxInFlight, MaxInFlightPerPartition: *maxPerPart, MaxInFlightBytes: *maxInBytes, FetchMaxPartitionBytes: *fetchPart, Linger: config.Duration(*linger), MaxRecordBytes: *maxBytes, MaxBuildBytes: *maxBuild,
			Resources: map[string]config.Targets{}, AllowUnmapped: *allowUnmap,
			PropagateHeaders: append([]string{}, splitList(*propagate)...), Delivery: *delivery}
		f.InstanceID = *instanceID
		if *delivery == kafka.ExactlyOnce.String() {
			w.TransactionalID, w.TxnInterval, w.TxnMaxRecords = *txnID, config.Duration(*txnInterval), *txnMax
		} else if set["transactional-id"] || set["txn-interval"] || set["txn-max-records"] {
			fmt.Fprintln(stderr, "express serve: --transactional-id, --txn-interval and --txn-max-records go with --delivery exactly-once")
			return 2
		}
		for _, t := range topic {
			w.Topics = append(w.Topics, splitList(t)...)
		}
		if *demo && *definition == "" {
			// the demo's workflow, where the flags do not say otherwise
			d := daemon.DemoWorkflow()
			w.DefinitionBytes, w.Definition = d.DefinitionBytes, d.Definition
			w.Name, w.OutputTopic = cmp.Or(w.Name, d.Name), cmp.Or(w.OutputTopic, d.OutputTopic)
			maps.Copy(w.Resources, d.Resources)
			if len(w.Topics) == 0 {
				w.Topics = d.Topics
			}
		}
		for _, r := range resourcesF {
			k, v, ok := strings.Cut(r, "=")
			if !ok || k == "" {
				fmt.Fprintf(stderr, "express serve: --resource %q: want RESOURCE=TARGET\n", r)
				return 2
			}
			w.Resources[k] = append(w.Resources[k], v)
		}
		// name, group and dlq topic defaults: config.Workflow.SetDefaults
		f.Brokers = splitList(*brokers)
		f.API = &config.API{}
		if *apiAddr != "" && *definition == "" && len(w.Topics) == 0 && !*demo {
			// the API alone: --resource are its Task targets
			f.API.Resources = w.Resources
		} else {
			f.Workflows = []config.Workflow{w}
		}
	}
	// the --api-* flags set, or override the file's api section
	for _, fl := range []struct {
		name     string
		to, from *string
	}{{"api-addr", &f.API.Addr, apiAddr}, {"api-region", &f.API.Region, apiRegion}, {"api-account", &f.API.Account, apiAccount},
		{"api-credentials", &f.API.Credentials, apiCreds}, {"api-state-dir", &f.API.StateDir, apiStateDir},
		{"api-mock-config", &f.API.MockConfig, apiMocks}} {
		if set[fl.name] {
			*fl.to = *fl.from
		}
	}
	if set["api-insecure"] {
		f.API.Insecure = *apiInsecure
	}
	apiFallback := false
	if *demo && f.API.Addr == "" {
		f.API.Addr, apiFallback = daemon.DefaultAPIAddr, true
	}
	security.apply(f)
	if *demo && len(f.Brokers) > 0 {
		fmt.Fprintln(stderr, "express serve: --demo produces into the embedded broker only; drop --brokers")
		return 2
	}

	if ctx == nil {
		c, stop := stopContext(stderr, "express serve: stopping (a second signal exits at once)", "express serve: exiting now")
		defer stop()
		ctx = c
	}
	err = daemon.Run(ctx, f, daemon.Options{Out: stdout, Progress: *progressF, Demo: *demo, DemoRate: *demoRate,
		EmbeddedPartitions: int32(*partitions), EmbeddedPort: *embeddedPort, EmbeddedRetentionBytes: *embeddedRet, Logger: logger,
		LogLevel: xlevel, LogOut: stderr, LogExecutionData: *logData, LogMaxPerSecond: *logRate, StuckAfter: *stuckAfter, Pprof: *pprofOn,
		APIFallback: apiFallback, NoConsole: *noConsole})
	if err != nil {
		printProblems(stderr, "express serve", err)
		return 1
	}
	return 0
}

func printProblems(w io.Writer, prefix string, err error) {
	var ps config.Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			fmt.Fprintf(w, "%s: %s\n", prefix, p)
		}
		return
	}
	fmt.Fprintf(w, "%s: %v\n", prefix, err)
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
