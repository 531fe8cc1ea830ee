package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/internal/testutil"
	"github.com/stepstream/express/load/readings"
)

// chromium returns the path of Debian's chromium, or skips (fails on CI).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testutil.Missing(t, "chromium is not installed (apt-get install chromium)")
	return ""
}

// browser starts headless Chromium (as the machine notes say to run it)
// and returns a tab's context.
func browser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	return ctx
}

// TestConsoleInChromium loads the console of a daemon that processed
// records of the reference workflow, some failing, and checks from the
// rendered DOM that every state is drawn with the counters /metrics
// reports, that a failed execution's path and history are shown, and that
// the page asked nothing of any host but the daemon's. With
// UPDATE_SCREENSHOT=1 it runs live traffic for a while and writes
// docs/console.png.
func TestConsoleInChromium(t *testing.T) {
	chrome := chromium(t)
	f := demoConfig()
	d := startForTest(t, f, Options{EmbeddedPartitions: 3, ConsoleSamplePerSecond: 100_000})
	base := "http://" + d.MetricsAddr

	const n = 400
	cl, err := kgo.NewClient(kgo.SeedBrokers(d.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	g := readings.NewGenerator(7, 50, 0, 10)
	now := time.Now()
	for i := range n {
		k, v, _ := g.Next(nil, nil, int64(i), now)
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "readings", Key: k, Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var metrics string
	waitFor(t, 30*time.Second, "every record executed", func() bool {
		_, metrics = get(t, base+"/metrics")
		ok := metricValue(metrics, `express_executions_total{status="SUCCEEDED",workflow="iot"}`)
		failed := metricValue(metrics, `express_executions_total{status="FAILED",workflow="iot"}`)
		return ok+failed == n && failed > 0 && metricValue(metrics, `express_dlq_records_total{reason="failed",workflow="iot"}`) == failed
	})
	// Read again: a scrape collects its families at different moments
	// (in parallel, in no set order), so the one that saw the last
	// executions end may have read the state counters just before their
	// last states finished. Every execution ended before this one began.
	_, metrics = get(t, base+"/metrics")
	states := referenceStates(t)
	want := map[string]map[string]float64{}
	for _, s := range states {
		exits := metricValue(metrics, fmt.Sprintf(`express_state_exits_total{state=%q,workflow="iot"}`, s))
		errs := 0.0
		for _, l := range strings.Split(metrics, "\n") {
			if strings.HasPrefix(l, "express_state_errors_total{") && strings.Contains(l, fmt.Sprintf(`state=%q,`, s)) && strings.Contains(l, `workflow="iot"`) {
				v, _ := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
				errs += v
			}
		}
		retried := max(metricValue(metrics, fmt.Sprintf(`express_retries_total{state=%q,workflow="iot"}`, s)), 0)
		want[s] = map[string]float64{"entered": max(exits, 0), "succeeded": max(exits, 0) - errs, "failed": errs, "retried": retried}
	}

	ctx := browser(t, chrome)
	var mu sync.Mutex
	var requested []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requested = append(requested, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(base+"/ui/")); err != nil {
		t.Fatal(err)
	}
	// The page redirects to the first workflow, draws it and refreshes its
	// figures every second: wait (bounded) until they are the registry's.
	type drawn struct {
		States  map[string]map[string]float64
		Edges   map[string]float64
		Path    []string
		Failed  []string
		History string
		Listed  int
		DLQ     int
	}
	const js = `(() => {
		const out = {States: {}, Edges: {}, Path: [], Failed: [], History: "", Listed: 0, DLQ: 0};
		for (const g of document.querySelectorAll("#graph-svg .state")) {
			const s = {};
			for (const k of ["entered", "succeeded", "failed", "retried"]) if (g.dataset[k] !== undefined) s[k] = Number(g.dataset[k]);
			out.States[g.dataset.state] = s;
			if (g.classList.contains("on-path")) out.Path.push(g.dataset.state);
			if (g.classList.contains("failed-state")) out.Failed.push(g.dataset.state);
		}
		for (const e of document.querySelectorAll("#graph-svg .labels .edge")) out.Edges[e.dataset.from + ">" + e.dataset.to] = Number(e.dataset.count || 0);
		const h = document.querySelector("#history");
		out.History = h ? h.textContent : "";
		out.Listed = document.querySelectorAll("#failed .failed-exec").length;
		out.DLQ = document.querySelectorAll("#dlq .dead-letter").length;
		return out;
	})()`
	var got drawn
	deadline := time.Now().Add(20 * time.Second)
	for {
		var err error
		if got, err = chromedp.Run(ctx, chromedp.Evaluate[drawn](js)); err != nil {
			// The redirect to the workflow's page may still be under
			// way ("Inspected target navigated or closed"): ask again,
			// until the deadline.
			if time.Now().After(deadline) {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			continue
		}
		equal := len(got.States) == len(states)
		for _, s := range states {
			for k, v := range want[s] {
				if got.States[s][k] != v {
					equal = false
				}
			}
		}
		if equal && got.Listed > 0 && got.History != "" && got.DLQ > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page does not show what /metrics reports:\ngot  %+v\nwant %v", got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasSuffix(loc, "/ui/workflows/iot") {
		t.Errorf("location %q (%v)", loc, err)
	}
	for _, s := range states {
		if _, ok := got.States[s]; !ok {
			t.Errorf("state %q not drawn", s)
		}
	}
	if got.Edges["Normalize>Validate"] != n {
		t.Errorf("edge Normalize→Validate shows %v transitions, want %d", got.Edges["Normalize>Validate"], n)
	}
	if got.Edges["Validate>Rejected"] != want["Rejected"]["entered"] {
		t.Errorf("edge Validate→Rejected shows %v transitions, want %v", got.Edges["Validate>Rejected"], want["Rejected"]["entered"])
	}
	slices.Sort(got.Path)
	if !slices.Equal(got.Path, []string{"Normalize", "Rejected", "Validate"}) || !slices.Equal(got.Failed, []string{"Rejected"}) {
		t.Errorf("failed execution's path %v, failed state %v", got.Path, got.Failed)
	}
	for _, ev := range []string{"ExecutionStarted", "PassStateEntered", "ChoiceStateExited", "FailStateEntered", "ExecutionFailed", "Reading.OutOfRange"} {
		if !strings.Contains(got.History, ev) {
			t.Errorf("history lacks %s: %s", ev, got.History)
		}
	}

	shot := os.Getenv("UPDATE_SCREENSHOT") == "1"
	if shot {
		// live traffic for the chart
		gctx, stop := context.WithCancel(context.Background())
		defer stop()
		go Generate(gctx, cl, "readings", 400, func() int64 { return 0 })
		time.Sleep(75 * time.Second)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if len(png) < 1000 {
		t.Fatalf("screenshot of %d bytes", len(png))
	}
	if shot {
		if err := os.WriteFile(filepath.Join("..", "docs", "console.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	if len(requested) < 4 {
		t.Fatalf("only %d requests recorded: %v", len(requested), requested)
	}
	for _, r := range requested {
		u, err := url.Parse(r)
		if err != nil || u.Scheme == "data" {
			continue
		}
		if u.Hostname() != "127.0.0.1" {
			t.Errorf("the page requested %s", r)
		}
	}
}

// referenceStates are the state names of the reference workflow.
func referenceStates(t *testing.T) []string {
	var def struct{ States map[string]json.RawMessage }
	if err := json.Unmarshal(DemoDefinition, &def); err != nil {
		t.Fatal(err)
	}
	var out []string
	for s := range def.States {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
