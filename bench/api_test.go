package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stepstream/express/api"
	"github.com/stepstream/express/daemon"
	"github.com/stepstream/express/internal/jsonv"
	"github.com/stepstream/express/resources"
)

// apiReading is ../shared/bench/iot-reading.json.
const apiReading = `{"deviceId":"dev-42","ts":"2026-11-22T10:00:00Z","type":"temperature","value":21.7,"unit":"C","battery":0.83,"tags":["roof","north"]}`

// startAPI serves the Step Functions API on 127.0.0.1 with the reference
// workflow (the daemon's copy, daemon/iot-reference.asl.json, with the
// demo's Enrich target) created as "iot", and returns the request body of
// a StartSyncExecution of it.
func startAPI(tb testing.TB) (url string, body []byte) {
	tb.Helper()
	routes := map[string][]resources.Target{}
	for k, v := range daemon.DemoResources {
		t, err := resources.ParseTarget(v)
		if err != nil {
			tb.Fatal(err)
		}
		routes[k] = []resources.Target{t}
	}
	res, err := resources.New(resources.Config{Routes: routes})
	if err != nil {
		tb.Fatal(err)
	}
	s, err := api.New(api.Options{Invoker: res, CheckResource: res.CheckResource})
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	tb.Cleanup(func() { _ = hs.Close(); s.Close(context.Background()) })
	url = "http://" + ln.Addr().String() + "/"
	create := `{"name":"iot","type":"EXPRESS","roleArn":"arn:aws:iam::123456789012:role/r","definition":` + quote(string(daemon.DemoDefinition)) + `}`
	if code, out := post(tb, http.DefaultClient, url, "CreateStateMachine", []byte(create)); code != 200 {
		tb.Fatalf("create: %d %s", code, out)
	}
	body = []byte(`{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:iot","input":` + quote(apiReading) + `}`)
	return url, body
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// post sends one request as the AWS SDKs do (unsigned: the server has no
// credentials configured) and returns the status and body.
func post(tb testing.TB, c *http.Client, url, op string, body []byte) (int, []byte) {
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header["Content-Type"] = []string{"application/x-amz-json-1.0"}
	req.Header["X-Amz-Target"] = []string{"AWSStepFunctions." + op}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, out
}

// TestAPIStartSyncOutput checks that the benchmark's execution succeeds
// with the expected output (../shared/bench/iot-expected-output.json).
func TestAPIStartSyncOutput(t *testing.T) {
	url, body := startAPI(t)
	code, out := post(t, http.DefaultClient, url, "StartSyncExecution", body)
	var doc struct{ Status, Output string }
	if err := json.Unmarshal(out, &doc); err != nil || code != 200 || doc.Status != "SUCCEEDED" {
		t.Fatalf("%d %s", code, out)
	}
	got, err := jsonv.Parse([]byte(doc.Output))
	want, _ := jsonv.Parse([]byte(`{"key":"dev-42/temperature/2026-11-22T10:00:00Z","deviceId":"dev-42","site":"plant-1","type":"temperature","value":21.7,"unit":"C","status":"OK","tags":["roof","north"]}`))
	if err != nil || !jsonv.Equal(got, want) {
		t.Fatalf("output %s", doc.Output)
	}
}

// BenchmarkAPIStartSyncExecution runs the reference workflow through the
// Step Functions API over loopback HTTP/1.1 with keep-alive connections,
// from GOMAXPROCS×8 client goroutines (RunParallel; the client shares the
// machine's cores with the server). It reports executions/s, the CPU per
// execution (server and client together) and the latency percentiles.
func BenchmarkAPIStartSyncExecution(b *testing.B) {
	url, body := startAPI(b)
	c := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, DisableCompression: true}}
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		own := make([]time.Duration, 0, 1024)
		req, _ := http.NewRequest("POST", url, nil)
		req.Header["Content-Type"] = []string{"application/x-amz-json-1.0"}
		req.Header["X-Amz-Target"] = []string{"AWSStepFunctions.StartSyncExecution"}
		buf := make([]byte, 4096)
		for pb.Next() {
			t0 := time.Now()
			req.Body = io.NopCloser(bytes.NewReader(body))
			req.ContentLength = int64(len(body))
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.ReadFull(resp.Body, buf)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Contains(buf[:n], []byte(`"status":"SUCCEEDED"`)) {
				b.Errorf("%d %s", resp.StatusCode, buf[:n])
				return
			}
			own = append(own, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, own...)
		mu.Unlock()
	})
	cpu := cpuTime() - start
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "exec/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/exec")
	b.ReportMetric(pct(0.50), "p50-us")
	b.ReportMetric(pct(0.99), "p99-us")
}
