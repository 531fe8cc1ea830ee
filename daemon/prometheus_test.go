package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepstream/express/daemon/config"
	"github.com/stepstream/express/internal/testutil"
	"github.com/stepstream/express/kafka"
)

// enrichARN is the demo workflow's Task resource.
const enrichARN = "arn:aws:lambda:eu-west-1:123456789012:function:enrich-device"

// loadConfig is the demo workflow with a Retry on its Task, whose target
// is an HTTP server failing one call in five: the load has successes,
// failures (out-of-range readings), rejected records (not JSON), retries
// and Task errors.
func loadConfig(t *testing.T) *config.File {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if calls.Add(1)%5 == 0 {
			http.Error(w, `{"error":"flaky"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"site":"plant-1","threshold":30}`))
	}))
	t.Cleanup(srv.Close)
	var def map[string]any
	if err := json.Unmarshal(DemoDefinition, &def); err != nil {
		t.Fatal(err)
	}
	enrich := def["States"].(map[string]any)["Enrich"].(map[string]any)
	enrich["Retry"] = []any{map[string]any{"ErrorEquals": []any{"States.ALL"}, "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1}}
	b, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	f := demoConfig()
	f.Workflows[0].DefinitionBytes = b
	f.Workflows[0].Resources = map[string]config.Targets{enrichARN: {srv.URL + "/enrich"}}
	// the same readings, exactly once (the transaction metrics)
	eos := f.Workflows[0]
	eos.Name, eos.Group, eos.OutputTopic, eos.DLQTopic, eos.Delivery = "iot-eos", "g-eos", "readings-eos-out", "readings-eos-dlq", "exactly-once"
	f.Workflows = append(f.Workflows, eos)
	f.InstanceID = "test"
	return f
}

// startDaemon runs the daemon with the demo generator until the test ends
// and returns its metrics address.
func startDaemon(t *testing.T, f *config.File, o Options) string {
	t.Helper()
	o.Demo, o.EmbeddedPartitions = true, 3
	return startForTest(t, f, o).MetricsAddr
}

// startForTest starts the daemon (failing the test if it is not ready
// within 20 s) and stops it when the test ends.
func startForTest(t *testing.T, f *config.File, o Options) *Started {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d, err := Start(ctx, f, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Error(err)
		}
	})
	return d
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// promResult is the answer of /api/v1/query.
type promResult struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
		} `json:"result"`
	} `json:"data"`
}

func promQuery(base, q string) (*promResult, error) {
	resp, err := http.PostForm(base+"/api/v1/query", url.Values{"query": {q}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r promResult
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("HTTP %d: %v", resp.StatusCode, err)
	}
	if r.Status != "success" {
		return &r, fmt.Errorf("%s: %s", r.ErrorType, r.Error)
	}
	return &r, nil
}

// grafanaVars are the dashboard's variables and the values the test gives
// them.
var grafanaVars = strings.NewReplacer("$__rate_interval", "1m", "$__interval", "15s", "$instance", ".*", "$workflow", ".*")

// dashboardExprs returns every "expr" of the dashboards in dir.
func dashboardExprs(t *testing.T, dir string) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s (%v)", dir, err)
	}
	out := map[string][]string{}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var walk func(any, string)
		walk = func(v any, title string) {
			switch v := v.(type) {
			case map[string]any:
				if s, ok := v["title"].(string); ok {
					title = s
				}
				if e, ok := v["expr"].(string); ok {
					out[filepath.Base(file)+": "+title] = append(out[filepath.Base(file)+": "+title], e)
				}
				for _, x := range v {
					walk(x, title)
				}
			case []any:
				for _, x := range v {
					walk(x, title)
				}
			}
		}
		walk(v, "")
	}
	return out
}

// alertSignal turns "LHS OP NUMBER" into "(LHS) OP bool NUMBER", which
// returns every series of LHS (0 or 1) instead of only the firing ones. It
// splits at the last comparison outside parentheses, braces and quotes.
func alertSignal(expr string) (string, bool) {
	expr = strings.TrimSpace(expr)
	depth, quoted, at, opLen := 0, false, -1, 0
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == '(' || c == '{' || c == '[':
			depth++
		case c == ')' || c == '}' || c == ']':
			depth--
		case depth == 0 && (c == '>' || c == '<' || c == '=' || c == '!'):
			n := 1
			if i+1 < len(expr) && expr[i+1] == '=' {
				n = 2
			}
			if c == '=' && n == 1 || c == '!' && n == 1 {
				continue
			}
			at, opLen = i, n
			i += n - 1
		}
	}
	if at < 0 {
		return "", false
	}
	rhs := strings.TrimSpace(expr[at+opLen:])
	if !regexp.MustCompile(`^-?[0-9.]+(e[+-]?[0-9]+)?$`).MatchString(rhs) {
		return "", false
	}
	return "(" + strings.TrimSpace(expr[:at]) + ") " + expr[at:at+opLen] + " bool " + rhs, true
}

func TestAlertSignal(t *testing.T) {
	for in, want := range map[string]string{
		`up{job="express"} == 0`:                             `(up{job="express"}) == bool 0`,
		`sum by (w) (rate(x{a!="b>c"}[5m])) / sum(y) > 0.05`: `(sum by (w) (rate(x{a!="b>c"}[5m])) / sum(y)) > bool 0.05`,
		`a * on (w) (sum(b) == bool 0) > 0`:                  `(a * on (w) (sum(b) == bool 0)) > bool 0`,
		`max(express_consumer_lag_seconds) >= 300`:           `(max(express_consumer_lag_seconds)) >= bool 300`,
	} {
		if got, ok := alertSignal(in); !ok || got != want {
			t.Errorf("alertSignal(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := alertSignal(`rate(x[5m])`); ok {
		t.Error("no comparison: want false")
	}
}

// TestPrometheusDashboardAndAlerts starts a real Prometheus scraping a
// daemon under load (successes, failures to the DLQ, rejected records,
// Task errors and retries) and evaluates every expression of the Grafana
// dashboards and every alert rule: each must parse and return data.
func TestPrometheusDashboardAndAlerts(t *testing.T) {
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		testutil.Missing(t, "prometheus is not installed (Debian: apt-get install prometheus; .ci/run installs it)")
	}
	rulesDir, dashDir := filepath.Join("..", "deploy", "prometheus"), filepath.Join("..", "deploy", "grafana")
	ruleFiles, _ := filepath.Glob(filepath.Join(rulesDir, "*-alerts.yml"))
	more, _ := filepath.Glob(filepath.Join(rulesDir, "*-rules.yml"))
	ruleFiles = append(ruleFiles, more...)
	if len(ruleFiles) == 0 {
		t.Fatalf("no rule files in %s", rulesDir)
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		args := append([]string{"check", "rules"}, ruleFiles...)
		if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
			t.Fatalf("promtool check rules: %v\n%s", err, out)
		}
		if out, err := exec.Command(promtool, "check", "config", filepath.Join(rulesDir, "prometheus.yml")).CombinedOutput(); err != nil {
			t.Fatalf("promtool check config deploy/prometheus/prometheus.yml: %v\n%s", err, out)
		}
	}

	var logs testutil.SyncBuffer
	metricsAddr := startDaemon(t, loadConfig(t), Options{DemoRate: 400, LogLevel: kafka.LogError, LogOut: &logs})

	dir := t.TempDir()
	var absRules []string
	for _, f := range ruleFiles {
		a, err := filepath.Abs(f)
		if err != nil {
			t.Fatal(err)
		}
		absRules = append(absRules, fmt.Sprintf("  - %q", a))
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 2s
  scrape_timeout: 2s
  evaluation_interval: 1s
rule_files:
%s
scrape_configs:
  - job_name: express
    static_configs:
      - targets: [%q]
`, strings.Join(absRules, "\n"), metricsAddr)
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	var promOut testutil.SyncBuffer
	cmd := exec.Command(prom, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--storage.tsdb.retention.time=1h")
	cmd.Stdout, cmd.Stderr = &promOut, &promOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	// Prometheus up, then enough scrapes for rate() and a retry and a
	// DLQ record in the scraped data.
	wait := func(what string, d time.Duration, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !ok() {
			select {
			case err := <-exited:
				t.Fatalf("prometheus exited: %v\n%s", err, promOut.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: timed out\nprometheus:\n%s", what, promOut.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	wait("prometheus ready", 20*time.Second, func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	// queryData runs q until it returns data (at most 30 s): the latest
	// scrape may have failed on this busy machine (the 2 s scrape timeout
	// under -race, with other tests running: a 1 s timeout failed
	// scrapes for over 10 s in a row there), and a failed scrape makes
	// every series stale at once.
	queryData := func(q string) (*promResult, error) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			r, err := promQuery(base, q)
			if err != nil || len(r.Data.Result) > 0 || time.Now().After(deadline) {
				return r, err
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	has := func(q string) bool {
		r, err := promQuery(base, q)
		return err == nil && len(r.Data.Result) > 0
	}
	wait("scrapes with retries, DLQ records and commits", 40*time.Second, func() bool {
		return has(`count_over_time(up{job="express"}[1m]) >= 6`) &&
			has(`sum(express_retries_total) > 0`) && has(`sum(express_dlq_records_total{reason="failed"}) > 0`) &&
			has(`sum(express_commits_total{result="ok"}) > 0`) && has(`sum(express_kafka_read_bytes_total) > 0`) &&
			has(`sum(express_transactions_total{result="committed"}) > 0`)
	})

	// Dashboards: every expression parses and returns at least one series.
	n := 0
	for panel, exprs := range dashboardExprs(t, dashDir) {
		for _, e := range exprs {
			n++
			q := grafanaVars.Replace(e)
			r, err := queryData(q)
			switch {
			case err != nil:
				t.Errorf("%s: %s: %v", panel, q, err)
			case len(r.Data.Result) == 0:
				t.Errorf("%s: %s: no data", panel, q)
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d dashboard expressions", n)
	}

	// Rules: loaded, evaluated without error, and each alert's signal (its
	// expression with the comparison turned into a bool one) has data.
	var rules struct {
		Data struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Name           string `json:"name"`
					Query          string `json:"query"`
					Type           string `json:"type"`
					Health         string `json:"health"`
					LastError      string `json:"lastError"`
					LastEvaluation string `json:"lastEvaluation"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	nRules := 0
	wait("rules evaluated", 10*time.Second, func() bool {
		resp, err := http.Get(base + "/api/v1/rules")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&rules); err != nil {
			return false
		}
		nRules = 0
		for _, g := range rules.Data.Groups {
			for _, r := range g.Rules {
				if r.Health == "unknown" || strings.HasPrefix(r.LastEvaluation, "0001") {
					return false
				}
				nRules++
			}
		}
		return nRules > 0
	})
	for _, g := range rules.Data.Groups {
		for _, r := range g.Rules {
			if r.Health != "ok" || r.LastError != "" {
				t.Errorf("rule %s: health %s: %s", r.Name, r.Health, r.LastError)
			}
			q := r.Query
			if r.Type == "alerting" {
				var ok bool
				if q, ok = alertSignal(r.Query); !ok {
					t.Errorf("alert %s: %s does not end in a comparison with a number", r.Name, r.Query)
					continue
				}
			}
			res, err := queryData(q)
			switch {
			case err != nil:
				t.Errorf("rule %s: %s: %v", r.Name, q, err)
			case len(res.Data.Result) == 0:
				t.Errorf("rule %s: %s: no data", r.Name, q)
			}
		}
	}
	if nRules < 5 {
		t.Errorf("only %d rules loaded", nRules)
	}

	// The ERROR execution log has failed executions with their details;
	// the cause, which can quote record data, only with
	// --log-execution-data.
	if !regexp.MustCompile(`"msg":"execution failed","type":"ExecutionFailed","workflow":"iot","execution":"[^"]+","topic":"readings","partition":\d+,"offset":\d+,"state":"Rejected",[^\n]*"error":"Reading.OutOfRange","cause_length":\d+}`).MatchString(logs.String()) {
		t.Errorf("no failed execution in the log (%d bytes):\n%.2000s", len(logs.String()), logs.String())
	}
}
