package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/stepstream/express/daemon/config"
	"github.com/stepstream/express/load"
	"github.com/stepstream/express/load/readings"
)

const loadUsage = `Usage: express load [flags]

Produces IoT readings into the daemon's input topic, consumes its output and
dead-letter topics and reports throughput in and out, end-to-end latency
(produce timestamp to result timestamp), the daemon group's consumer lag, and
whether every record came back (at least once, counting duplicates). Records
not back when --drain ends are late if the daemon's group has not committed
past them yet, missing (lost) if it has.

  # the reference IoT workflow, from the root of a checkout of the repository
  express serve --definition daemon/iot-reference.asl.json --topic readings --output-topic readings-out \
      --resource 'arn:aws:lambda:eu-west-1:123456789012:function:enrich-device=static:{"site":"plant-1","threshold":30}' &
  express load --rate 50000 --duration 1m --csv load.csv --chart load.svg

Defaults match the topics and group of that serve command (and of serve
--demo) on its embedded broker at 127.0.0.1:9092.

Flags:
`

// loadDefaultGroup is the group of the serve command loadUsage shows
// (and of serve --demo).
const loadDefaultGroup = "express-iot-reference"

// loadCmd runs the load generator (see package load).
func loadCmd(args []string, stdout, stderr io.Writer) int {
	return loadMain(args, stdout, stderr, nil)
}

// loadMain is loadCmd with an optional context (tests); without one,
// SIGINT/SIGTERM stop producing and print the report.
func loadMain(args []string, stdout, stderr io.Writer, ctx context.Context) int {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, loadUsage); fs.PrintDefaults() }
	var (
		brokers     = fs.String("brokers", "127.0.0.1:9092", "Kafka `host:port,...` (default: the embedded broker of express serve)")
		topic       = fs.String("topic", "readings", "the daemon's input topic")
		outputTopic = fs.String("output-topic", "readings-out", "the daemon's output topic (empty: none)")
		dlqTopic    = fs.String("dlq-topic", "", "the daemon's dead-letter topic (default: TOPIC-dlq)")
		group       = fs.String("group", loadDefaultGroup, "the daemon's consumer group, for its lag (empty: no lag)")
		rate        = fs.Int("rate", 0, "records/s to produce (0: as fast as possible)")
		records     = fs.Int64("records", 0, "records to produce (0: until --duration)")
		duration    = fs.Duration("duration", 0, "how long to produce (default 30s when --records is not set)")
		devices     = fs.Int("devices", 1000, "distinct device ids (the record key)")
		payload     = fs.Int("payload-bytes", 0, "pad each reading to about this many bytes (0: natural size, ~190)")
		outOfRange  = fs.Float64("out-of-range", 2, "percent of readings with a value out of range (the workflow's Fail path; default 5 with --mix realistic)")
		mixName     = fs.String("mix", "valid", "sensor types: valid (temperature and humidity, which the reference workflow accepts) or realistic (five types, about 60% rejected by the reference workflow)")
		seed        = fs.Uint64("seed", 1, "seed of the readings' random values")
		drain       = fs.Duration("drain", 30*time.Second, "how long to wait for the remaining results after producing")
		interval    = fs.Duration("interval", time.Second, "sampling interval of the progress line and time series")
		warmup      = fs.Duration("warmup", 0, "leave the records produced in this first part of the run out of the latency percentiles")
		csvFile     = fs.String("csv", "", "write the time series as CSV to `FILE`")
		chartFile   = fs.String("chart", "", "write throughput, latency and lag over time as an SVG chart to `FILE`")
		quiet       = fs.Bool("quiet", false, "no progress line")
		cpuProfile  = fs.String("cpuprofile", "", "write a CPU profile of the load generator itself to `FILE` (go tool pprof)")
	)
	security := addSecurityFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "express load: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "express load: "+format+"\n", a...)
		return 2
	}
	switch {
	case *rate < 0:
		return bad("--rate %d is negative", *rate)
	case *records < 0:
		return bad("--records %d is negative", *records)
	case *duration < 0:
		return bad("--duration %s is negative", *duration)
	case *outOfRange < 0 || *outOfRange > 100:
		return bad("--out-of-range %g is not a percentage", *outOfRange)
	case *warmup < 0:
		return bad("--warmup %s is negative", *warmup)
	case *interval <= 0:
		return bad("--interval must be positive")
	case *topic == "":
		return bad("--topic is required")
	}
	mix, err := readings.ParseMix(*mixName)
	if err != nil {
		return bad("--%v", err)
	}
	if mix == readings.MixRealistic && !flagSet(fs, "out-of-range") {
		*outOfRange = readings.RealisticOutOfRangePercent
	}
	if *dlqTopic == "" {
		*dlqTopic = *topic + "-dlq"
	}
	f := &config.File{Brokers: splitList(*brokers), ClientID: "express-load"}
	if len(f.Brokers) == 0 {
		return bad("--brokers is empty")
	}
	security.apply(f)
	copts, err := f.ClientOpts()
	if err != nil {
		fmt.Fprintf(stderr, "express load: %v\n", err)
		return 2
	}
	// Create the output files first: a typo should not cost a whole run.
	var csvOut, chartOut *os.File
	for _, x := range []struct {
		name string
		f    **os.File
	}{{*csvFile, &csvOut}, {*chartFile, &chartOut}} {
		if x.name == "" {
			continue
		}
		fh, err := os.Create(x.name)
		if err != nil {
			fmt.Fprintf(stderr, "express load: %v\n", err)
			return 2
		}
		defer fh.Close()
		*x.f = fh
	}

	if *cpuProfile != "" {
		fh, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "express load: %v\n", err)
			return 2
		}
		defer fh.Close()
		if err := pprof.StartCPUProfile(fh); err != nil {
			fmt.Fprintf(stderr, "express load: %v\n", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}

	if ctx == nil {
		c, stop := stopContext(stderr, "\nexpress load: stopping: waiting for the results (a second signal exits at once)", "")
		defer stop()
		ctx = c
	}
	o := load.Options{ClientOpts: copts, Topic: *topic, OutputTopic: *outputTopic, DLQTopic: *dlqTopic, Group: *group,
		Rate: *rate, Records: *records, Duration: *duration, Devices: *devices, PayloadBytes: *payload,
		OutOfRangePercent: *outOfRange, Mix: mix, Seed: *seed, Drain: *drain, Interval: *interval, Warmup: *warmup}
	if !*quiet {
		live := isTerminal(stderr)
		o.Progress = func(s load.Sample, r *load.Report) {
			lag := "-"
			if s.Lag >= 0 {
				lag = fmt.Sprint(s.Lag)
			}
			line := fmt.Sprintf("%6.0fs  in %8.0f rec/s  out %8.0f rec/s  p50 %5dms  p99 %5dms  lag %7s  outstanding %7d  back %d/%d  dup %d",
				s.At.Seconds(), s.InRate, s.OutRate, s.P50.Milliseconds(), s.P99.Milliseconds(), lag, s.Outstanding,
				r.Output+r.DLQ, r.Produced, r.Duplicates)
			if live {
				fmt.Fprintf(stderr, "\r\033[K%s", line)
			} else {
				fmt.Fprintln(stderr, line)
			}
		}
		defer func() {
			if live {
				fmt.Fprintln(stderr)
			}
		}()
	}
	what := "as fast as possible"
	if *rate > 0 {
		what = fmt.Sprintf("at %d rec/s", *rate)
	}
	fmt.Fprintf(stdout, "express load: producing into %q %s; results from %q and %q\n", *topic, what, *outputTopic, *dlqTopic)
	rep, err := load.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "\nexpress load: %v\n", err)
		return 1
	}
	rep.WriteTable(stdout)
	if csvOut != nil {
		if err := rep.WriteCSV(csvOut); err != nil {
			fmt.Fprintf(stderr, "express load: %v\n", err)
			return 1
		}
	}
	if chartOut != nil {
		title := fmt.Sprintf("express load: %s into %s, %s", what, *topic, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
		if err := rep.WriteSVG(chartOut, title); err != nil {
			fmt.Fprintf(stderr, "express load: %v\n", err)
			return 1
		}
	}
	if !rep.AllBack() {
		return 1
	}
	return 0
}

// isTerminal reports whether w is a character device (a live progress line
// is redrawn in place there; elsewhere each sample is its own line).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && !strings.EqualFold(os.Getenv("TERM"), "dumb")
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
