// Package lambda runs the iot-ingest example against a real Lambda
// function: enrich-device (written with github.com/aws/aws-lambda-go) under
// the AWS Lambda Runtime Interface Emulator, called by `express run` and
// by the daemon as Lambda's Invoke API is called.
package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/daemon"
	"github.com/stepstream/express/daemon/config"
	"github.com/stepstream/express/internal/testutil"
)

const (
	fnARN      = "arn:aws:lambda:us-east-1:123456789012:function:enrich-device"
	invokePath = "/2015-03-31/functions/function/invocations"
	traceID    = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
)

// rie is the emulator running enrich-device, and the tools the test built.
type rie struct {
	url     string // the emulator's invocations URL
	express string // the express binary
	log     *testutil.SyncBuffer
}

// startRIE builds enrich-device and express and starts aws-lambda-rie on
// a free port of 127.0.0.1.
func startRIE(t *testing.T) *rie {
	t.Helper()
	if testing.Short() {
		t.Skip("builds two binaries and runs the Lambda emulator")
	}
	bin, err := exec.LookPath("aws-lambda-rie")
	if err != nil {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		bin = filepath.Join(strings.TrimSpace(string(gopath)), "bin", "aws-lambda-rie")
		if _, err := os.Stat(bin); err != nil {
			testutil.Missing(t, "aws-lambda-rie is not installed (go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d)")
		}
	}
	dir := t.TempDir()
	fn, express := filepath.Join(dir, "enrich-device"), filepath.Join(dir, "express")
	for _, b := range [][2]string{{fn, "./enrich-device"}, {express, "github.com/stepstream/express/cmd/express"}} {
		if out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b[1], err, out)
		}
	}
	// two free ports on 127.0.0.1: the Invoke API, and the Runtime API
	// the function polls (9001 by default, which may be taken)
	var addrs [2]string
	var ls [2]net.Listener
	for i := range ls {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls[i], addrs[i] = l, l.Addr().String()
	}
	for _, l := range ls {
		l.Close()
	}
	addr := addrs[0]
	r := &rie{url: "http://" + addr + invokePath, express: express, log: &testutil.SyncBuffer{}}
	cmd := exec.Command(bin, "--runtime-interface-emulator-address", addr, "--runtime-api-address", addrs[1], fn)
	cmd.Stdout, cmd.Stderr = r.log, r.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			log := r.log.String()
			if len(log) > 4000 {
				log = "…" + log[len(log)-4000:]
			}
			t.Logf("aws-lambda-rie:\n%s", log)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return r
		}
		select {
		case <-exited:
			t.Fatalf("aws-lambda-rie exited:\n%s", r.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("aws-lambda-rie does not listen on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// call is one invocation seen by the throttling proxy.
type call struct{ device, key, attempt, traceparent string }

// throttler forwards to the emulator as the Lambda service would, except
// that it refuses the first invocation for each device named dev-flaky*
// with Lambda's throttling answer (429 TooManyRequestsException). It
// records every call's idempotency headers.
func throttler(t *testing.T, target string) (string, func() []call) {
	u, _ := url.Parse(target)
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	var mu sync.Mutex
	var calls []call
	throttled := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		var p struct{ DeviceID string }
		_ = json.Unmarshal(b, &p)
		mu.Lock()
		calls = append(calls, call{p.DeviceID, r.Header.Get("Idempotency-Key"), r.Header.Get("Express-Attempt"), r.Header.Get("traceparent")})
		throttle := strings.HasPrefix(p.DeviceID, "dev-flaky") && !throttled[p.DeviceID]
		throttled[p.DeviceID] = true
		mu.Unlock()
		if throttle {
			w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + u.Path, func() []call {
		mu.Lock()
		defer mu.Unlock()
		return append([]call(nil), calls...)
	}
}

func reading(device, typ string, value float64) string {
	return fmt.Sprintf(`{"deviceId":%q,"ts":"2026-11-22T10:00:00Z","type":%q,"value":%v,"unit":"C"}`, device, typ, value)
}

// TestIoTIngestRunLambda runs the example with `express run`, its
// enrich-device function under the emulator.
func TestIoTIngestRunLambda(t *testing.T) {
	r := startRIE(t)
	throttled, calls := throttler(t, r.url)
	def := filepath.Join("..", "iot-ingest.asl.json")
	run := func(fnURL, input string, def string) (string, string, int) {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(r.express, "run", def, "--name", "exec-1", "--input", input,
			"--resource", fnARN+"="+fnURL, "--resource", `sensor-alerts=static:{"MessageId":"m-1"}`)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(stdout.String()), stderr.String(), code
	}
	cases := []struct {
		name, url, input string
		code             int
		out, stderr      string // a part of each
	}{
		{"enriched", r.url, reading("dev-1", "temperature", 21.7), 0, `{"site":"plant-1","value":21.7,"status":"OK","degraded":false}`, ""},
		{"alert", r.url, reading("dev-2", "temperature", 41.5), 0, `{"site":"plant-1","status":"ALERT","degraded":false}`, ""},
		{"DeviceNotFound reaches UnknownDevice", r.url, reading("dev-unknown-1", "humidity", 44), 1, "",
			"FAILED\nerror: Device.Unknown\ncause: {\"errorMessage\":\"no device dev-unknown-1\",\"errorType\":\"DeviceNotFound\"}"},
		{"a panic is caught by States.ALL", r.url, reading("dev-panic", "temperature", 21), 0, `{"site":"unknown","status":"OK","degraded":true}`, ""},
		{"after the panic the runtime serves again", r.url, reading("dev-3", "humidity", 81), 0, `{"site":"plant-1","status":"ALERT","degraded":false}`, ""},
		{"throttled, retried, enriched", throttled, reading("dev-flaky-1", "temperature", 20), 0, `{"site":"plant-1","status":"OK","degraded":false}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, code := run(c.url, c.input, def)
			if code != c.code || !hasFields(out, c.out) || !strings.Contains(stderr, c.stderr) {
				t.Fatalf("exit %d, stdout %s\nstderr %s\nwant exit %d, stdout with %s, stderr with %q", code, out, stderr, c.code, c.out, c.stderr)
			}
		})
	}
	got := calls()
	if len(got) != 2 || got[0].key != "exec-1/Enrich" || got[1].key != got[0].key || got[0].attempt != "0" || got[1].attempt != "1" {
		t.Errorf("the throttled call and its retry: %+v, want the key exec-1/Enrich with attempts 0 and 1", got)
	}

	// A panic's error name is the runtime's errorType: the panic value's
	// type ("string"), as AWS reports a Go function's panic.
	plain := filepath.Join(t.TempDir(), "plain.asl.json")
	os.WriteFile(plain, []byte(`{"StartAt":"Enrich","States":{"Enrich":{"Type":"Task","Resource":"`+fnARN+`","End":true}}}`), 0o644)
	out, stderr, code := run(r.url, `{"deviceId":"dev-panic","type":"temperature"}`, plain)
	if code != 1 || !strings.Contains(stderr, "error: string\ncause: {\"errorMessage\":\"enrich-device: cannot enrich dev-panic\",\"errorType\":\"string\",\"stackTrace\":") {
		t.Errorf("the panic: exit %d, stdout %s, stderr %s", code, out, stderr)
	}
	out, _, code = run(r.url, `{"deviceId":"dev-1","type":"humidity"}`, plain)
	if code != 0 || out != `{"site":"plant-1","threshold":80}` {
		t.Errorf("a plain function ARN Task returns the payload: exit %d, %s", code, out)
	}
}

// TestIoTIngestServeLambda runs the example under the daemon (its
// embedded broker), enrich-device under the emulator behind the
// throttling proxy.
func TestIoTIngestServeLambda(t *testing.T) {
	r := startRIE(t)
	fnURL, calls := throttler(t, r.url)
	def, err := os.ReadFile(filepath.Join("..", "iot-ingest.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	f := &config.File{
		DrainTimeout: config.Duration(5 * time.Second),
		Workflows: []config.Workflow{{
			Name: "iot-ingest", Definition: "../iot-ingest.asl.json", DefinitionBytes: def,
			Topics: []string{"readings"}, Group: "iot-ingest", OutputTopic: "readings-enriched", DLQTopic: "readings-dlq",
			// the emulator runs one invocation at a time
			Concurrency: 1, Ordering: "partition",
			Resources: map[string]config.Targets{fnARN: {fnURL}, "sensor-alerts": {"kafka:sensor-alerts"}},
		}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := daemon.Start(ctx, f, daemon.Options{EmbeddedPartitions: 1})
	if err != nil {
		t.Fatalf("the daemon did not start: %v", err)
	}
	defer d.Stop()
	cl, err := kgo.NewClient(kgo.SeedBrokers(d.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	devices := []struct{ id, typ string }{{"dev-1", "temperature"}, {"dev-unknown-1", "humidity"}, {"dev-panic", "temperature"}, {"dev-flaky-1", "temperature"}, {"dev-2", "temperature"}}
	for i, dv := range devices {
		v := 21.0
		if dv.id == "dev-2" {
			v = 41.5
		}
		rec := &kgo.Record{Topic: "readings", Key: []byte(dv.id), Value: []byte(reading(dv.id, dv.typ, v))}
		if i == 0 {
			rec.Headers = []kgo.RecordHeader{{Key: "traceparent", Value: []byte(traceID)}}
		}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(d.Brokers...), kgo.ConsumeTopics("readings-enriched", "sensor-alerts", "readings-dlq"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	outputs := map[string]*kgo.Record{}
	var alerts, dead []*kgo.Record
	for len(outputs) < 4 || len(dead) < 1 || len(alerts) < 1 {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("timed out: %d outputs, %d dead letters, %d alerts; calls %+v", len(outputs), len(dead), len(alerts), calls())
		}
		fs.EachRecord(func(rec *kgo.Record) {
			switch rec.Topic {
			case "readings-enriched":
				outputs[string(rec.Key)] = rec
			case "readings-dlq":
				dead = append(dead, rec)
			case "sensor-alerts":
				alerts = append(alerts, rec)
			}
		})
	}
	want := map[string]string{
		"dev-1":       `{"deviceId":"dev-1","site":"plant-1","value":21,"status":"OK","degraded":false}`,
		"dev-panic":   `{"deviceId":"dev-panic","site":"unknown","value":21,"status":"OK","degraded":true}`,
		"dev-flaky-1": `{"deviceId":"dev-flaky-1","site":"plant-1","value":21,"status":"OK","degraded":false}`,
		"dev-2":       `{"deviceId":"dev-2","site":"plant-1","value":41.5,"status":"ALERT","degraded":false}`,
	}
	for id, w := range want {
		if rec := outputs[id]; rec == nil || !hasFields(string(rec.Value), w) {
			t.Errorf("%s: output %s, want the fields of %s", id, value(rec), w)
		}
	}
	if h := header(outputs["dev-1"], "traceparent"); h != traceID {
		t.Errorf("the output record of dev-1 has traceparent %q, want the input's", h)
	}
	if len(dead) != 1 || string(dead[0].Key) != "dev-unknown-1" || header(dead[0], "express-error") != "Device.Unknown" ||
		!strings.Contains(header(dead[0], "express-cause"), `"errorType":"DeviceNotFound"`) {
		t.Errorf("dead letters %v", dead)
	}
	byDevice := map[string][]call{}
	for _, c := range calls() {
		byDevice[c.device] = append(byDevice[c.device], c)
	}
	if c := byDevice["dev-1"]; len(c) != 1 || c[0].traceparent != traceID || c[0].key != "readings/0/0/Enrich" {
		t.Errorf("dev-1's call %+v, want traceparent %s and key readings/0/0/Enrich", c, traceID)
	}
	if c := byDevice["dev-flaky-1"]; len(c) != 2 || c[0].key != c[1].key || c[0].attempt != "0" || c[1].attempt != "1" {
		t.Errorf("dev-flaky-1's calls %+v, want one key and attempts 0 and 1", c)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
}

// hasFields reports whether the JSON object out has the fields of the
// JSON object want, with their values.
func hasFields(out, want string) bool {
	if want == "" {
		return true
	}
	var o, w map[string]any
	if json.Unmarshal([]byte(out), &o) != nil || json.Unmarshal([]byte(want), &w) != nil {
		return false
	}
	for k, v := range w {
		if fmt.Sprint(o[k]) != fmt.Sprint(v) {
			return false
		}
	}
	return true
}

func value(r *kgo.Record) string {
	if r == nil {
		return "none"
	}
	return string(r.Value)
}

func header(r *kgo.Record, key string) string {
	if r == nil {
		return ""
	}
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
