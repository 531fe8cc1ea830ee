package examples

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/daemon"
	"github.com/stepstream/express/daemon/config"
)

// TestIoTIngestServe runs iot-ingest for real, as `express serve` does: over
// the daemon's embedded (in-process) Kafka broker, with the enrich-device
// Lambda function mapped to a small HTTP enrichment service on 127.0.0.1
// and the sensor-alerts SNS topic mapped to a Kafka topic. It produces a
// few readings and checks the enriched outputs, the published alert and
// the failed execution in the dead-letter topic.
func TestIoTIngestServe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Kafka broker in process")
	}
	def, err := os.ReadFile("iot-ingest/iot-ingest.asl.json")
	if err != nil {
		t.Fatal(err)
	}

	// The enrichment service: the Lambda function's Payload is POSTed to it
	// and its JSON answer becomes the Payload of the result.
	var mu sync.Mutex
	calls := map[string]string{} // deviceId → Idempotency-Key
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ DeviceID, Type string }
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/enrich" || json.Unmarshal(b, &req) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		calls[req.DeviceID] = r.Header.Get("Idempotency-Key")
		mu.Unlock()
		if req.DeviceID == "dev-unregistered" {
			http.Error(w, `{"error":"no such device"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"site":"plant-1","threshold":30,"type":%q}`, req.Type)
	}))
	defer srv.Close()

	f := &config.File{
		DrainTimeout: config.Duration(5 * time.Second),
		Workflows: []config.Workflow{{
			Name: "iot-ingest", Definition: "iot-ingest/iot-ingest.asl.json", DefinitionBytes: def,
			Topics: []string{"readings"}, Group: "iot-ingest",
			OutputTopic: "readings-enriched", DLQTopic: "readings-dlq",
			Resources: map[string]config.Targets{
				"enrich-device": {srv.URL + "/enrich"},
				"sensor-alerts": {"kafka:sensor-alerts"},
			},
		}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	startCtx, startCancel := context.WithTimeout(ctx, 30*time.Second)
	defer startCancel()
	d, err := daemon.Start(startCtx, f, daemon.Options{EmbeddedPartitions: 2})
	if err != nil {
		t.Fatalf("the daemon did not start: %v", err)
	}
	defer d.Stop()
	brokers := d.Brokers

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	readings := map[string]string{
		"dev-1":            `{"deviceId":"dev-1","ts":"2026-11-22T10:00:00Z","type":"temperature","value":21.7,"unit":"C"}`,
		"dev-2":            `{"deviceId":"dev-2","ts":"2026-11-22T10:00:05Z","type":"temperature","value":41.5,"unit":"C"}`,
		"dev-unregistered": `{"deviceId":"dev-unregistered","ts":"2026-11-22T10:00:07Z","type":"humidity","value":44,"unit":"%"}`,
		"dev-4":            `{"deviceId":"dev-4","ts":"2026-11-22T10:00:09Z","type":"temperature","value":"hot","unit":"C"}`,
	}
	for key, v := range readings {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "readings", Key: []byte(key), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	cons, err := kgo.NewClient(kgo.SeedBrokers(brokers...),
		kgo.ConsumeTopics("readings-enriched", "sensor-alerts", "readings-dlq"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	outputs := map[string]map[string]any{} // deviceId → output
	var alerts, dead []*kgo.Record
	pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
	defer pcancel()
	for len(outputs) < 3 || len(alerts) < 1 || len(dead) < 1 {
		fs := cons.PollFetches(pctx)
		if pctx.Err() != nil {
			t.Fatalf("timed out: %d outputs %v, %d alerts, %d dead letters", len(outputs), outputs, len(alerts), len(dead))
		}
		fs.EachRecord(func(r *kgo.Record) {
			switch r.Topic {
			case "readings-enriched":
				var out map[string]any
				if err := json.Unmarshal(r.Value, &out); err != nil {
					t.Fatalf("output %s: %v", r.Value, err)
				}
				id, _ := out["deviceId"].(string)
				outputs[id] = out
			case "sensor-alerts":
				alerts = append(alerts, r)
			case "readings-dlq":
				dead = append(dead, r)
			}
		})
	}

	want := map[string]string{
		"dev-1":            `{"key":"dev-1/temperature/2026-11-22T10:00:00Z","deviceId":"dev-1","site":"plant-1","type":"temperature","value":21.7,"unit":"C","status":"OK","degraded":false}`,
		"dev-2":            `{"key":"dev-2/temperature/2026-11-22T10:00:05Z","deviceId":"dev-2","site":"plant-1","type":"temperature","value":41.5,"unit":"C","status":"ALERT","degraded":false}`,
		"dev-unregistered": `{"key":"dev-unregistered/humidity/2026-11-22T10:00:07Z","deviceId":"dev-unregistered","site":"unknown","type":"humidity","value":44,"unit":"%","status":"OK","degraded":true}`,
	}
	for id, w := range want {
		var wv map[string]any
		if err := json.Unmarshal([]byte(w), &wv); err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(outputs[id])
		wantJSON, _ := json.Marshal(wv)
		if string(got) != string(wantJSON) {
			t.Errorf("%s: output %s, want %s", id, got, wantJSON)
		}
	}
	if len(outputs) != 3 {
		t.Errorf("outputs for %d devices, want 3: %v", len(outputs), outputs)
	}

	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1", len(alerts))
	}
	if got, want := string(alerts[0].Value), "dev-2 read 41.5 C at 2026-11-22T10:00:05Z (threshold 30, site plant-1)"; got != want {
		t.Errorf("alert message %q, want %q", got, want)
	}
	if h := header(alerts[0], "Subject"); h != "temperature alert on dev-2" {
		t.Errorf("alert Subject header %q", h)
	}

	if len(dead) != 1 || string(dead[0].Key) != "dev-4" {
		t.Fatalf("dead letters: %d, want the invalid reading of dev-4", len(dead))
	}
	found := false
	for _, h := range dead[0].Headers {
		if string(h.Value) == "Reading.Invalid" {
			found = true
		}
	}
	if !found {
		t.Errorf("the dead letter does not carry the error Reading.Invalid: %v", dead[0].Headers)
	}

	mu.Lock()
	for _, id := range []string{"dev-1", "dev-2", "dev-unregistered"} {
		if calls[id] == "" {
			t.Errorf("the enrichment service was not called for %s with an Idempotency-Key (calls: %v)", id, calls)
		}
	}
	if _, ok := calls["dev-4"]; ok {
		t.Error("the invalid reading reached the enrichment service")
	}
	mu.Unlock()

	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
