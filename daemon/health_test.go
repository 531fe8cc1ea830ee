package daemon

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/daemon/config"
	"github.com/stepstream/express/internal/testutil"
	"github.com/stepstream/express/kafka"
)

// TestReadyzBeforeConnecting: a processor that has not joined its group is
// not ready; healthz is fine (nothing to do yet).
func TestReadyzBeforeConnecting(t *testing.T) {
	wf, err := compile.Compile(DemoDefinition, compile.Options{Name: "iot"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := kafka.New(kafka.Options{Workflow: wf, Topics: []string{"in"}, Group: "g", DLQTopic: "dlq"})
	if err != nil {
		t.Fatal(err)
	}
	procs := []*kafka.Processor{p}
	for _, profiles := range []bool{false, true} {
		h := handler(prometheus.NewRegistry(), procs, newWatchdog(procs, time.Second), profiles)
		pprofCode := 404
		if profiles {
			pprofCode = 200 // only with Options.Pprof (--pprof)
		}
		for path, want := range map[string]struct {
			code int
			body string
		}{"/readyz": {503, `workflow "iot" is not connected`}, "/healthz": {200, "ok"},
			"/debug/pprof/heap?debug=1": {pprofCode, ""}, "/debug/pprof/": {pprofCode, ""}} {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
			if w.Code != want.code || !strings.Contains(w.Body.String(), want.body) {
				t.Errorf("pprof %v: %s: %d %q", profiles, path, w.Code, w.Body.String())
			}
		}
	}
}

// TestHealthzStuck: executions hang on their Task, the in-flight bound is
// reached, nothing is admitted or finished: /healthz fails after
// StuckAfter, and /readyz says not ready with the same reason.
func TestHealthzStuck(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		http.Error(w, "released", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close) // last: after the daemon has stopped
	f := demoConfig()
	f.Workflows[0].Resources = map[string]config.Targets{enrichARN: {srv.URL}}
	f.Workflows[0].Concurrency, f.Workflows[0].MaxInFlight = 2, 2
	addr := startDaemon(t, f, Options{DemoRate: 100, StuckAfter: time.Second})
	t.Cleanup(func() { close(release) }) // runs before the daemon's cleanup: drain at once
	deadline := time.Now().Add(20 * time.Second)
	readyOnce := false
	for {
		code, _ := get(t, "http://"+addr+"/readyz")
		readyOnce = readyOnce || code == 200
		hc, body := get(t, "http://"+addr+"/healthz")
		if readyOnce && hc == 503 {
			if !strings.Contains(body, `workflow "iot" is stuck: no record admitted or finished for`) {
				t.Fatalf("healthz body %q", body)
			}
			if rc, rbody := get(t, "http://"+addr+"/readyz"); rc != 503 || !strings.Contains(rbody, "is stuck") {
				t.Fatalf("readyz %d %q while stuck", rc, rbody)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz ok %v, healthz %d %q", readyOnce, hc, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// metricBlock returns the metric lines of the "# Metrics" list of a file:
// the indented (or fenced) lines that start with a metric name.
func metricBlock(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^(?://)?\s*((?:express|process|go|promhttp)_[a-z_]+(?:\{[a-z_,]*\})?\s+(?:counter|gauge|histogram|summary)\s+.*)$`)
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			out = append(out, strings.Join(strings.Fields(m[1]), " "))
		}
	}
	return out
}

// TestMetricsDocumented: the package doc and docs/metrics.md list the same
// metrics, and every metric a loaded daemon exports is listed (go_* and
// process_* as the collectors' families), and every listed one exported.
func TestMetricsDocumented(t *testing.T) {
	doc := metricBlock(t, filepath.Join("..", "kafka", "doc.go"))
	md := metricBlock(t, filepath.Join("..", "docs", "metrics.md"))
	if strings.Join(doc, "\n") != strings.Join(md, "\n") || len(doc) < 20 {
		t.Fatalf("kafka/doc.go and docs/metrics.md differ (%d and %d lines):\n%s\n----\n%s", len(doc), len(md), strings.Join(doc, "\n"), strings.Join(md, "\n"))
	}
	documented := map[string]bool{}
	for _, l := range doc {
		name := strings.FieldsFunc(l, func(r rune) bool { return r == '{' || r == ' ' })[0]
		documented[name] = true
	}

	var logs testutil.SyncBuffer
	addr := startDaemon(t, loadConfig(t), Options{DemoRate: 300, LogLevel: kafka.LogError, LogOut: &logs})
	exported := map[string]bool{}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, m := get(t, "http://"+addr+"/metrics")
		for _, l := range strings.Split(m, "\n") {
			if f := strings.Fields(l); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
				exported[f[2]] = true
			}
		}
		if strings.Contains(m, "express_retries_total{") || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for name := range exported {
		if !documented[name] && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("%s is exported but not documented", name)
		}
	}
	for name := range documented {
		// kprom's error and disconnect counters appear with the first event
		if !exported[name] && !regexp.MustCompile(`^express_kafka_.*(errors|disconnects)_total$`).MatchString(name) {
			t.Errorf("%s is documented but not exported", name)
		}
	}
}

// TestReadyzBrokerGone: when the brokers stop answering, /readyz says so
// within seconds, the progress line shows the lag as unknown instead of a
// stale number, and /metrics and /healthz still answer at once.
func TestReadyzBrokerGone(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "readings", "readings-out", "readings-dlq"),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") }))
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			c.Close()
		}
	})
	f := demoConfig()
	f.Brokers = c.ListenAddrs()
	f.Workflows[0].Topics = []string{"readings"}
	var out testutil.SyncBuffer
	d := startForTest(t, f, Options{Out: &out, Progress: 200 * time.Millisecond})
	waitReady := func(want int, body string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, b := get(t, "http://"+d.MetricsAddr+"/readyz")
			if code == want && strings.Contains(b, body) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("readyz %d %q, want %d %q", code, b, want, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitReady(200, "ready")
	c.Close()
	closed = true
	waitReady(503, `workflow "iot" cannot reach the brokers`)
	for _, path := range []string{"/metrics", "/healthz"} {
		t0 := time.Now()
		code, _ := get(t, "http://"+d.MetricsAddr+path)
		if d := time.Since(t0); d > time.Second || code != 200 {
			t.Errorf("%s: %d after %v", path, code, d)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for !regexp.MustCompile(`lag +\? .*brokers unreachable for`).MatchString(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no progress line with an unknown lag:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
