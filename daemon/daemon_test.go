package daemon

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/daemon/config"
	"github.com/stepstream/express/internal/testutil"
)

func demoConfig() *config.File {
	w := DemoWorkflow()
	w.Name, w.Definition, w.Group = "iot", "demo", "g"
	return &config.File{MetricsAddr: "127.0.0.1:0", Workflows: []config.Workflow{w}, DrainTimeout: config.Duration(5 * time.Second)}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDemoMetricsHealth runs the embedded broker with the demo generator and
// checks the progress line, /healthz, /readyz and /metrics.
func TestDemoMetricsHealth(t *testing.T) {
	ctx := context.Background()
	var out testutil.SyncBuffer
	d := startForTest(t, demoConfig(), Options{Out: &out, Progress: 300 * time.Millisecond, Demo: true, DemoRate: 2000, EmbeddedPartitions: 3})
	addr, brokers := d.MetricsAddr, d.Brokers
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, _ := get(t, "http://"+addr+"/readyz")
		_, m := get(t, "http://"+addr+"/metrics")
		// these series exist at 0 from the start: wait for their values
		if code == 200 && metricValue(m, `express_executions_total{status="SUCCEEDED",workflow="iot"}`) > 0 &&
			metricValue(m, `express_dlq_records_total{reason="failed",workflow="iot"}`) > 0 &&
			metricValue(m, `express_task_duration_seconds_count{resource="arn:aws:lambda:eu-west-1:123456789012:function:enrich-device",workflow="iot"}`) > 0 &&
			strings.Contains(out.String(), "rec/s") {
			for _, name := range []string{"express_execution_duration_seconds_bucket", "express_state_transitions_total", "express_consumer_lag{",
				"express_inflight_records", "express_pool_capacity", "express_records_consumed_total", "express_output_records_total",
				"express_commits_total", "express_task_duration_seconds_bucket", "go_goroutines"} {
				if !strings.Contains(m, name) {
					t.Errorf("/metrics lacks %s", name)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress: readyz %d\n%s\nmetrics:\n%s", code, out.String(), m)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := get(t, "http://"+addr+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz %d %q", code, body)
	}
	// The janitor deletes committed input from the embedded broker.
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	deadline = time.Now().Add(3 * janitorInterval)
	for {
		var deleted int64
		for p := range int32(3) {
			deleted += listOffset(ctx, t, cl, "readings", p, -2)
		}
		if deleted > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no committed input deleted from the embedded broker")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "express: stopped:") {
		t.Fatalf("output:\n%s", out.String())
	}
}

// metricValue returns the value of one series in a /metrics text, or -1.
func metricValue(text, series string) float64 {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// TestConfigErrorsBeforeConnecting: a bad config fails with its problems
// without any broker.
func TestConfigErrorsBeforeConnecting(t *testing.T) {
	f := demoConfig()
	f.Brokers = []string{"127.0.0.1:1"}
	f.Workflows[0].Ordering = "sideways"
	err := Run(context.Background(), f, Options{})
	if err == nil || !strings.Contains(err.Error(), "/workflows/0/ordering") {
		t.Fatalf("err = %v", err)
	}
}

// TestHTTPAndKafkaResources runs a definition whose Tasks call an allowed
// HTTP endpoint (http:invoke) and publish to SNS mapped onto a Kafka topic;
// both see the idempotency key taken from the record.
func TestHTTPAndKafkaResources(t *testing.T) {
	var mu sync.Mutex
	keys := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys[r.Header.Get("Idempotency-Key")] = true
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"score":7}`))
	}))
	defer srv.Close()
	def := `{"StartAt":"Call","States":{
	  "Call":{"Type":"Task","Resource":"arn:aws:states:::http:invoke",
	    "Parameters":{"ApiEndpoint":"` + srv.URL + `/api/score","Method":"POST","RequestBody.$":"$"},
	    "ResultSelector":{"score.$":"$.ResponseBody.score"},"ResultPath":"$.result","Next":"Notify"},
	  "Notify":{"Type":"Task","Resource":"arn:aws:states:::sns:publish",
	    "Parameters":{"TopicArn":"arn:aws:sns:us-east-1:111111111111:alerts","Message.$":"$"},"ResultPath":null,"End":true}}}`
	f := &config.File{Workflows: []config.Workflow{{Name: "scorer", Definition: "inline", DefinitionBytes: []byte(def),
		Topics: []string{"events"}, Group: "g", OutputTopic: "scored", DLQTopic: "events-dlq", IdempotencyKey: "$.eventId",
		Resources: map[string]config.Targets{
			"arn:aws:states:::http:invoke": {srv.URL + "/api/"},
			"alerts":                       {"kafka:alerts"},
		}}}}
	ctx := context.Background()
	d := startForTest(t, f, Options{EmbeddedPartitions: 2})
	brokers := d.Brokers
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const n = 20
	for i := 0; i < n; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "events", Value: []byte(fmt.Sprintf(`{"eventId":"e-%d","v":%d}`, i, i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics("scored", "alerts", "events-dlq"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	got := map[string]int{}
	pctx, pcancel := context.WithTimeout(ctx, 20*time.Second)
	defer pcancel()
	for got["scored"]+got["events-dlq"] < n || got["alerts"] < n {
		fs := cons.PollFetches(pctx)
		if pctx.Err() != nil {
			t.Fatalf("got %v", got)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got[r.Topic]++
			switch r.Topic {
			case "scored":
				if !strings.Contains(string(r.Value), `"result":{"score":7}`) {
					t.Errorf("output %s", r.Value)
				}
			case "alerts":
				idem := ""
				for _, h := range r.Headers {
					if h.Key == "Idempotency-Key" {
						idem = string(h.Value)
					}
				}
				if !strings.HasPrefix(idem, "e-") {
					t.Errorf("alert without idempotency key: %v", r.Headers)
				}
			case "events-dlq":
				t.Errorf("DLQ: %v", r.Headers)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != n || !keys["e-0/Call"] {
		t.Fatalf("HTTP idempotency keys: %v", keys)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
}

// TestStart: a config problem comes back from Start; a started daemon
// reports its addresses and stops once, however often Stop is called.
func TestStart(t *testing.T) {
	bad := demoConfig()
	bad.Workflows[0].Ordering = "sideways"
	if _, err := Start(context.Background(), bad, Options{}); err == nil || !strings.Contains(err.Error(), "/workflows/0/ordering") {
		t.Fatalf("err = %v", err)
	}
	d, err := Start(context.Background(), demoConfig(), Options{EmbeddedPartitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Brokers) == 0 || d.MetricsAddr == "" {
		t.Fatalf("brokers %v, metrics %q", d.Brokers, d.MetricsAddr)
	}
	if code, _ := get(t, "http://"+d.MetricsAddr+"/healthz"); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
}
