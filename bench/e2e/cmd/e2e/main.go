// Command e2e is issue 16's end-to-end harness: the daemon against the bare
// passthrough, separate processes, same broker, same run.
//
//	go run ./bench/e2e/cmd/e2e -records 1000000 -rounds 3 [-profile DIR]
//
// It starts a kfake broker in a process of its own (this program,
// re-executed as `e2e broker`) on 127.0.0.1 with -partitions partitions,
// and produces -records IoT readings (the realistic mix of load/readings
// by default: about 60% of the reference workflow's executions fail and
// are dead-lettered) into the input topic with bench/passthrough -mode
// produce: that is the first produce-only figure. Then, in each round:
//
//   - consume-only: bench/passthrough -mode consume (consume and commit);
//   - produce-only: bench/passthrough -mode produce into a scratch topic;
//   - the passthrough (bench/passthrough: parse, add a field, serialise,
//     produce keyed, commit after the acknowledgements) and `express serve`
//     with its defaults (metrics on, ordering by key) running the reference
//     workflow with outputs and dead letters produced, in alternating order
//     (passthrough first in odd rounds, daemon first in even ones).
//
// Each process is timed from its start (produce-only: from its first
// produce, after generating the readings; its own figures) until every one of its results is
// on the broker (the sum of its result topics' end offsets reaches the
// record count; consume-only: until it exits), and its CPU time (user+
// system, /proc/PID/stat) is read at that moment. The broker's CPU over
// each run is reported too. The daemon commits every second, so its last
// commit may come after that moment; the passthrough commits after each
// poll. Every result topic is deleted after its run (the broker is in
// memory).
//
// The programs are built from this module (go build) unless -express and
// -passthrough name binaries. With -profile DIR, one more run of each
// after the rounds writes DIR/daemon.pprof (from the daemon's --pprof
// endpoint, -profile-seconds long) and DIR/passthrough.pprof.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/stepstream/express/daemon"
)

const enrichARN = "arn:aws:lambda:eu-west-1:123456789012:function:enrich-device"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "broker" {
		if err := broker(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "e2e broker:", err)
			os.Exit(1)
		}
		return
	}
	if _, err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
}

// broker runs kfake on 127.0.0.1 (any port), prints its address and runs
// until its standard input closes (the harness ended) or a signal.
func broker(args []string) error {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	parts := fs.Int("partitions", 12, "partitions of every topic")
	topic := fs.String("topic", "readings", "topic created at start")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(*parts), *topic), kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(*parts),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") }))
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println(strings.Join(c.ListenAddrs(), ","))
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	eof := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(eof) }()
	select {
	case <-stop:
	case <-eof:
	}
	return nil
}

type harness struct {
	n          int64
	parts      int
	addr       string
	express    string
	pt         string
	def        string
	parser     string
	out        string
	brokerPID  int
	admin      *kgo.Client
	results    []measurement
	verbose    io.Writer
	stdout     io.Writer
	daemonArgs []string
	beforeStop <-chan struct{} // closed when the process under measurement may be stopped
	// the daemon's metrics address, and where its /metrics go before it
	// is stopped
	metricsAddr, metricsFile string
	timeout                  time.Duration
	profileSec               int
}

// measurement is one timed process.
type measurement struct {
	Kind      string  `json:"kind"`
	Round     int     `json:"round"`
	Seconds   float64 `json:"seconds"`
	Rate      float64 `json:"records_per_s"`
	CPUUs     float64 `json:"cpu_us_per_record"`
	BrokerCPU float64 `json:"broker_cpu_us_per_record"`
	DLQShare  float64 `json:"dlq_share,omitempty"`
	Load      string  `json:"loadavg"`
	Self      string  `json:"self_report,omitempty"` // the passthrough's own JSON line
	// Kafka is the daemon's franz-go traffic per record, from its /metrics
	// (express_kafka_*_bytes_total summed): fetched (uncompressed), read
	// and written (on the wire).
	Kafka string `json:"kafka,omitempty"`
}

// run runs the harness and returns every measurement.
func run(args []string, stdout io.Writer) ([]measurement, error) {
	fs := flag.NewFlagSet("e2e", flag.ContinueOnError)
	var (
		records    = fs.Int64("records", 1_000_000, "IoT readings in the input topic")
		rounds     = fs.Int("rounds", 3, "paired rounds")
		parts      = fs.Int("partitions", 12, "partitions of every topic")
		mix        = fs.String("mix", "realistic", "readings: realistic (issue 16) or valid")
		expressBin = fs.String("express", "", "express binary (default: go build ./cmd/express)")
		ptBin      = fs.String("passthrough", "", "bench/passthrough binary (default: go build ./bench/passthrough)")
		def        = fs.String("definition", "", "workflow definition (default: the reference workflow, daemon.DemoDefinition)")
		parser     = fs.String("parser", "ojg", "the passthrough's JSON parser: ojg or encoding/json")
		outDir     = fs.String("out", "", "directory for the logs and profiles (default: a temporary one)")
		profile    = fs.Bool("profile", false, "after the rounds, profile one daemon run and one passthrough run into -out")
		profileSec = fs.Int("profile-seconds", 5, "length of the daemon's CPU profile")
		limits     = fs.Bool("limits", true, "measure consume-only and produce-only in every round")
		jsonOut    = fs.String("json", "", "also write every measurement as JSON to `FILE`")
		timeout    = fs.Duration("timeout", 10*time.Minute, "longest run of one process")
		daemonArgs = fs.String("daemon-flags", "", "more flags for express serve, space-separated (e.g. \"--max-in-flight-per-partition 8192\")")
	)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *records <= 0 || *rounds <= 0 || *parts <= 0 {
		return nil, errors.New("-records, -rounds and -partitions must be positive")
	}
	h := &harness{daemonArgs: strings.Fields(*daemonArgs), stdout: stdout, n: *records, parts: *parts, parser: *parser, verbose: os.Stderr, timeout: *timeout, profileSec: *profileSec}
	var err error
	if h.out = *outDir; h.out == "" {
		if h.out, err = os.MkdirTemp("", "e2e-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(h.out, 0o755); err != nil {
		return nil, err
	}
	if h.express, h.pt, err = binaries(h.out, *expressBin, *ptBin); err != nil {
		return nil, err
	}
	if h.def = *def; h.def == "" {
		h.def = filepath.Join(h.out, "iot-reference.asl.json")
		if err := os.WriteFile(h.def, daemon.DemoDefinition, 0o644); err != nil {
			return nil, err
		}
	}
	stopBroker, err := h.startBroker()
	if err != nil {
		return nil, err
	}
	defer stopBroker()
	if h.admin, err = kgo.NewClient(kgo.SeedBrokers(h.addr)); err != nil {
		return nil, err
	}
	defer h.admin.Close()

	gogc := os.Getenv("GOGC")
	if gogc == "" {
		gogc = "unset"
	}
	fmt.Fprintf(stdout, "e2e: %d %s readings, %d partitions, %d rounds, broker %s (pid %d), GOGC %s, logs in %s\n",
		h.n, *mix, h.parts, *rounds, h.addr, h.brokerPID, gogc, h.out)
	load, err := h.timed("produce-only (load)", 0, h.ptCmd("-mode", "produce", "-topic", "readings", "-mix", *mix), nil, false)
	if err != nil {
		return nil, err
	}
	h.add(load)
	if got, err := h.endSum("readings"); err != nil || got != h.n {
		return nil, fmt.Errorf("input topic holds %d records, want %d (%v)", got, h.n, err)
	}
	for r := 1; r <= *rounds; r++ {
		if *limits {
			m, err := h.timed("consume-only", r, h.ptCmd("-mode", "consume", "-topic", "readings", "-group", fmt.Sprintf("consume-%d", r)), nil, false)
			if err != nil {
				return nil, err
			}
			h.add(m)
			scratch := fmt.Sprintf("produce-%d", r)
			if err := h.createTopics(scratch); err != nil {
				return nil, err
			}
			if m, err = h.timed("produce-only", r, h.ptCmd("-mode", "produce", "-topic", scratch, "-mix", *mix), nil, false); err != nil {
				return nil, err
			}
			h.add(m)
			if err := h.deleteTopics(scratch); err != nil {
				return nil, err
			}
		}
		order := []string{"passthrough", "daemon"}
		if r%2 == 0 {
			slices.Reverse(order)
		}
		for _, kind := range order {
			m, err := h.one(kind, r, "")
			if err != nil {
				return nil, err
			}
			h.add(m)
		}
	}
	h.summary(stdout)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(h.results, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			return nil, err
		}
	}
	if *profile {
		for _, kind := range []string{"passthrough", "daemon"} {
			m, err := h.one(kind, 0, filepath.Join(h.out, kind+".pprof"))
			if err != nil {
				return nil, err
			}
			m.Kind += " (profiled)"
			h.add(m)
		}
		fmt.Fprintf(stdout, "profiles: go tool pprof -top -cum %s/daemon.pprof; go tool pprof -top %s/passthrough.pprof\n", h.out, h.out)
	}
	return h.results, nil
}

// one runs the passthrough or the daemon once over the whole input in a
// new group, with new result topics deleted afterwards; profile, when not
// empty, is where a CPU profile of the run goes.
func (h *harness) one(kind string, round int, profile string) (measurement, error) {
	g := fmt.Sprintf("%s-%d-%d", kind, round, time.Now().UnixNano()%1e6)
	switch kind {
	case "passthrough":
		out := g + "-out"
		if err := h.createTopics(out); err != nil {
			return measurement{}, err
		}
		args := []string{"-topic", "readings", "-group", g, "-output-topic", out, "-parser", h.parser}
		if profile != "" {
			args = append(args, "-cpuprofile", profile)
		}
		m, err := h.timed(kind, round, h.ptCmd(args...), []string{out}, false)
		if err == nil {
			err = h.deleteTopics(out)
		}
		return m, err
	case "daemon":
		out, dlq := g+"-out", g+"-dlq"
		if err := h.createTopics(out, dlq); err != nil {
			return measurement{}, err
		}
		metrics, err := freeAddr()
		if err != nil {
			return measurement{}, err
		}
		args := []string{"serve", "--brokers", h.addr, "--definition", h.def, "--topic", "readings", "--group", g,
			"--output-topic", out, "--dlq-topic", dlq, "--resource", enrichARN + `=static:{"site":"plant-1","threshold":30}`,
			"--metrics-addr", metrics}
		if profile != "" {
			args = append(args, "--pprof")
		}
		cmd := exec.Command(h.express, append(args, h.daemonArgs...)...)
		h.beforeStop = nil
		if profile != "" {
			fetched := make(chan struct{})
			go func() { defer close(fetched); fetchProfile(metrics, h.profileSec, profile, h.verbose) }()
			h.beforeStop = fetched // the daemon must stay up until its profile is written
		}
		h.metricsAddr, h.metricsFile = metrics, filepath.Join(h.out, fmt.Sprintf("daemon-%d.metrics", round))
		m, err := h.timed(kind, round, cmd, []string{out, dlq}, true)
		h.metricsAddr = ""
		if err != nil {
			return m, err
		}
		m.Kafka = kafkaBytes(h.metricsFile, h.n)
		d, err := h.endSum(dlq)
		if err != nil {
			return m, err
		}
		m.DLQShare = float64(d) / float64(h.n)
		return m, h.deleteTopics(out, dlq)
	}
	return measurement{}, fmt.Errorf("unknown kind %q", kind)
}

// fetchProfile waits until the daemon's metrics address answers and saves
// a CPU profile of seconds.
func fetchProfile(addr string, seconds int, file string, log io.Writer) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/debug/pprof/profile?seconds=" + strconv.Itoa(seconds))
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode == 200 {
			err = os.WriteFile(file, b, 0o644)
		}
		if err != nil || resp.StatusCode != 200 {
			fmt.Fprintf(log, "e2e: daemon profile: %v (HTTP %d)\n", err, resp.StatusCode)
		}
		return
	}
	fmt.Fprintln(log, "e2e: daemon profile: the metrics address never answered")
}

// saveMetrics writes the daemon's /metrics to file.
func saveMetrics(addr, file string, log io.Writer) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err == nil {
		defer resp.Body.Close()
		var b []byte
		if b, err = io.ReadAll(resp.Body); err == nil {
			err = os.WriteFile(file, b, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintf(log, "e2e: daemon metrics: %v\n", err)
	}
}

// kafkaBytes sums the franz-go byte counters of a saved /metrics per
// record; empty if the file is missing.
func kafkaBytes(file string, n int64) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	sums := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		for _, name := range []string{"express_kafka_fetch_bytes_total", "express_kafka_read_bytes_total", "express_kafka_write_bytes_total"} {
			if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
				f := strings.Fields(line)
				v, _ := strconv.ParseFloat(f[len(f)-1], 64)
				sums[name] += v
			}
		}
	}
	return fmt.Sprintf("kafka bytes/record: fetched %.0f, read %.0f, written %.0f", sums["express_kafka_fetch_bytes_total"]/float64(n),
		sums["express_kafka_read_bytes_total"]/float64(n), sums["express_kafka_write_bytes_total"]/float64(n))
}

func (h *harness) ptCmd(args ...string) *exec.Cmd {
	return exec.Command(h.pt, append([]string{"-brokers", h.addr, "-records", strconv.FormatInt(h.n, 10),
		"-timeout", h.timeout.String()}, args...)...)
}

// timed starts cmd and waits until the result topics hold h.n records
// (without result topics: until cmd exits). It reads cmd's CPU time at that
// moment; stop sends SIGTERM then (the daemon), otherwise cmd must exit by
// itself.
func (h *harness) timed(kind string, round int, cmd *exec.Cmd, topics []string, stop bool) (measurement, error) {
	m := measurement{Kind: kind, Round: round, Load: loadavg()}
	var stdout bytes.Buffer
	logName := filepath.Join(h.out, fmt.Sprintf("%s-%d.log", strings.Fields(kind)[0], round))
	logf, err := os.Create(logName)
	if err != nil {
		return m, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&stdout, logf), logf
	if os.Getenv("GOGC") == "" { // the figures must hold with GOGC unset
		cmd.Env = slices.DeleteFunc(os.Environ(), func(s string) bool { return strings.HasPrefix(s, "GOGC=") })
	}
	b0 := procCPU(h.brokerPID)
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return m, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var el, cpu time.Duration
	if len(topics) == 0 {
		select {
		case err := <-exited:
			el = time.Since(t0)
			if err != nil {
				return m, fmt.Errorf("%s: %v (log %s)", kind, err, logName)
			}
			cpu = cmd.ProcessState.SystemTime() + cmd.ProcessState.UserTime()
		case <-time.After(h.timeout):
			_ = cmd.Process.Kill()
			return m, fmt.Errorf("%s: not done in %s (log %s)", kind, h.timeout, logName)
		}
	} else {
		deadline := t0.Add(h.timeout)
	poll:
		for {
			got, err := h.endSum(topics...)
			if err == nil && got >= h.n {
				el, cpu = time.Since(t0), procCPU(cmd.Process.Pid)
				break
			}
			select {
			case err := <-exited:
				// it may have finished between the count above and now
				// (the passthrough exits once it has produced and
				// committed everything): count once more
				if got, cerr := h.endSum(topics...); err == nil && cerr == nil && got >= h.n {
					el = time.Since(t0)
					cpu = cmd.ProcessState.SystemTime() + cmd.ProcessState.UserTime()
					exited <- nil // for the wait below
					break poll
				}
				return m, fmt.Errorf("%s exited before its results were in (%d of %d): %v (log %s)", kind, got, h.n, err, logName)
			case <-time.After(10 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				return m, fmt.Errorf("%s: %d of %d results in %s (log %s)", kind, got, h.n, h.timeout, logName)
			}
		}
		if stop {
			if h.beforeStop != nil {
				<-h.beforeStop
			}
			if h.metricsAddr != "" {
				saveMetrics(h.metricsAddr, h.metricsFile, h.verbose)
			}
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
		select {
		case err := <-exited:
			if err != nil && !stop {
				return m, fmt.Errorf("%s: %v (log %s)", kind, err, logName)
			}
			if cpu == 0 { // it exited (and was reaped) before /proc was read
				cpu = cmd.ProcessState.SystemTime() + cmd.ProcessState.UserTime()
			}
		case <-time.After(2 * time.Minute):
			_ = cmd.Process.Kill()
			return m, fmt.Errorf("%s did not exit (log %s)", kind, logName)
		}
	}
	m.Seconds = el.Seconds()
	m.Rate = float64(h.n) / el.Seconds()
	m.CPUUs = float64(cpu.Nanoseconds()) / 1e3 / float64(h.n)
	m.BrokerCPU = float64((procCPU(h.brokerPID) - b0).Nanoseconds()) / 1e3 / float64(h.n)
	if sc := bufio.NewScanner(&stdout); sc.Scan() && strings.HasPrefix(sc.Text(), "{") {
		m.Self = sc.Text()
	}
	if strings.HasPrefix(kind, "produce-only") {
		// the readings are generated in memory first: the producer's own
		// figures time the producing alone
		var self struct {
			Seconds float64 `json:"seconds"`
			CPU     float64 `json:"cpu_us_per_record"`
		}
		if err := json.Unmarshal([]byte(m.Self), &self); err != nil {
			return m, fmt.Errorf("%s: report %q: %v", kind, m.Self, err)
		}
		m.Seconds, m.Rate, m.CPUUs = self.Seconds, float64(h.n)/self.Seconds, self.CPU
	}
	return m, nil
}

func (h *harness) add(m measurement) {
	h.results = append(h.results, m)
	extra := ""
	if m.DLQShare > 0 {
		extra = fmt.Sprintf("  dead letters %.1f%%", 100*m.DLQShare)
	}
	if m.Kafka != "" {
		extra += "  " + m.Kafka
	}
	if m.Self != "" {
		extra += "  self: " + m.Self
	}
	fmt.Fprintf(h.stdout, "  round %d %-22s %9.0f rec/s  %6.2f us CPU/record  %5.2fs  broker %5.2f us/record  load %s%s\n",
		m.Round, m.Kind, m.Rate, m.CPUUs, m.Seconds, m.BrokerCPU, m.Load, extra)
}

// summary prints the medians and the paired ratios.
func (h *harness) summary(w io.Writer) {
	by := map[string][]measurement{}
	for _, m := range h.results {
		by[m.Kind] = append(by[m.Kind], m)
	}
	fmt.Fprintf(w, "\n| | records/s median (min–max) | CPU us/record median (min–max) | runs |\n|---|---|---|---|\n")
	for _, k := range []string{"passthrough", "daemon", "consume-only", "produce-only", "produce-only (load)"} {
		ms := by[k]
		if len(ms) == 0 {
			continue
		}
		r, c := field(ms, func(m measurement) float64 { return m.Rate }), field(ms, func(m measurement) float64 { return m.CPUUs })
		fmt.Fprintf(w, "| %s | %s (%s–%s) | %.2f (%.2f–%.2f) | %d |\n", k, thousands(median(r)), thousands(slices.Min(r)), thousands(slices.Max(r)),
			median(c), slices.Min(c), slices.Max(c), len(ms))
	}
	pt, dm := by["passthrough"], by["daemon"]
	var rr, cr []float64
	fmt.Fprintf(w, "\n| round | daemon / passthrough records/s | daemon / passthrough CPU per record |\n|---|---|---|\n")
	for i := range min(len(pt), len(dm)) {
		rr = append(rr, dm[i].Rate/pt[i].Rate)
		cr = append(cr, dm[i].CPUUs/pt[i].CPUUs)
		fmt.Fprintf(w, "| %d | %.2f | %.2fx |\n", pt[i].Round, rr[i], cr[i])
	}
	if len(rr) > 0 {
		fmt.Fprintf(w, "| median | %.2f | %.2fx |\n", median(rr), median(cr))
	}
}

func field(ms []measurement, f func(measurement) float64) []float64 {
	var out []float64
	for _, m := range ms {
		out = append(out, f(m))
	}
	return out
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func thousands(x float64) string {
	s := strconv.FormatInt(int64(x+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// startBroker starts `e2e broker` and reads its address.
func (h *harness) startBroker() (func(), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "broker", "-partitions", strconv.Itoa(h.parts), "-topic", "readings")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() { _ = stdin.Close(); _ = cmd.Wait() }
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		return nil, fmt.Errorf("broker: %v", err)
	}
	h.addr, h.brokerPID = strings.TrimSpace(line), cmd.Process.Pid
	return stop, nil
}

// binaries builds express and the passthrough into dir unless given.
func binaries(dir, expressBin, ptBin string) (string, string, error) {
	root, err := moduleRoot()
	if err != nil && (expressBin == "" || ptBin == "") {
		return "", "", err
	}
	for _, b := range []struct {
		bin *string
		pkg string
	}{{&expressBin, "./cmd/express"}, {&ptBin, "./bench/passthrough"}} {
		if *b.bin != "" {
			continue
		}
		*b.bin = filepath.Join(dir, filepath.Base(b.pkg))
		cmd := exec.Command("go", "build", "-o", *b.bin, b.pkg)
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return "", "", fmt.Errorf("go build %s: %v", b.pkg, err)
		}
	}
	return expressBin, ptBin, nil
}

func moduleRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		p := filepath.Dir(d)
		if p == d {
			return "", errors.New("not inside the module (no go.mod above the working directory): give -express and -passthrough")
		}
		d = p
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// procCPU is a process's user+system CPU time from /proc/PID/stat (clock
// ticks of 10 ms).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	// after the command: state is field 3 of the line, utime 14, stime 15
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// The admin requests, with kmsg (the project does not use kadm).

func (h *harness) createTopics(names ...string) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 10_000
	for _, n := range names {
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic, t.NumPartitions, t.ReplicationFactor = n, int32(h.parts), 1
		req.Topics = append(req.Topics, t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, h.admin)
	if err != nil {
		return err
	}
	for _, t := range resp.Topics {
		if t.ErrorCode != 0 {
			return fmt.Errorf("create topic %s: error code %d", t.Topic, t.ErrorCode)
		}
	}
	return nil
}

func (h *harness) deleteTopics(names ...string) error {
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TimeoutMillis = 10_000
	for _, n := range names {
		req.TopicNames = append(req.TopicNames, n)
		t := kmsg.NewDeleteTopicsRequestTopic()
		t.Topic = kmsg.StringPtr(n)
		req.Topics = append(req.Topics, t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err := req.RequestWith(ctx, h.admin)
	return err
}

// endSum is the sum of the topics' end offsets (all their partitions).
func (h *harness) endSum(topics ...string) (int64, error) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	for _, topic := range topics {
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		for p := range h.parts {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = int32(p), -1, -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, h.admin)
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return 0, fmt.Errorf("end offset of %s/%d: error code %d", t.Topic, p.Partition, p.ErrorCode)
			}
			sum += p.Offset
		}
	}
	return sum, nil
}
