package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/stepstream/express/api"
	"github.com/stepstream/express/daemon"
	"github.com/stepstream/express/internal/apitest"
	"github.com/stepstream/express/internal/jsonv"
)

// apiReading is ../shared/bench/iot-reading.json.
const apiReading = `{"deviceId":"dev-42","ts":"2026-11-22T10:00:00Z","type":"temperature","value":21.7,"unit":"C","battery":0.83,"tags":["roof","north"]}`

// startAPI serves the Step Functions API on 127.0.0.1 with the given
// front (apitest.FrontFast or apitest.FrontStd) and the reference
// workflow (the daemon's copy, daemon/iot-reference.asl.json, with the
// demo's Enrich target) created as "iot", and returns the request body of
// a StartSyncExecution of it.
func startAPI(tb testing.TB, front string) (url string, body []byte) {
	tb.Helper()
	addr, stop := listenAPI(tb, front)
	tb.Cleanup(stop)
	url = "http://" + addr + "/"
	return url, createIoT(tb, url)
}

// listenAPI starts the server and returns its address; stop stops it.
func listenAPI(tb testing.TB, front string) (addr string, stop func()) {
	res, err := daemon.DemoTargets()
	if err != nil {
		tb.Fatal(err)
	}
	s, err := api.New(api.Options{Invoker: res, CheckResource: res.CheckResource})
	if err != nil {
		tb.Fatal(err)
	}
	addr, stopHTTP := apitest.Serve(tb, s, front)
	return addr, func() { stopHTTP(); s.Close(context.Background()) }
}

// createIoT creates the "iot" state machine and returns the body of a
// StartSyncExecution of it.
func createIoT(tb testing.TB, url string) []byte {
	create := `{"name":"iot","type":"EXPRESS","roleArn":"arn:aws:iam::123456789012:role/r","definition":` + quote(string(daemon.DemoDefinition)) + `}`
	if code, out := post(tb, http.DefaultClient, url, "CreateStateMachine", []byte(create)); code != 200 {
		tb.Fatalf("create: %d %s", code, out)
	}
	return []byte(`{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:iot","input":` + quote(apiReading) + `}`)
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
// with the expected output (../shared/bench/iot-expected-output.json),
// through both fronts and both clients.
func TestAPIStartSyncOutput(t *testing.T) {
	for _, front := range []string{apitest.FrontFast, apitest.FrontStd} {
		url, body := startAPI(t, front)
		for _, client := range []string{clientFast, clientStd} {
			t.Run(front+"/"+client, func(t *testing.T) {
				do := newClient(client, url)()
				code, out, err := do(body)
				var doc struct{ Status, Output string }
				if err != nil || json.Unmarshal(out, &doc) != nil || code != 200 || doc.Status != "SUCCEEDED" {
					t.Fatalf("%d %s %v", code, out, err)
				}
				got, err := jsonv.Parse([]byte(doc.Output))
				want, _ := jsonv.Parse([]byte(`{"key":"dev-42/temperature/2026-11-22T10:00:00Z","deviceId":"dev-42","site":"plant-1","type":"temperature","value":21.7,"unit":"C","status":"OK","tags":["roof","north"]}`))
				if err != nil || !jsonv.Equal(got, want) {
					t.Fatalf("output %s", doc.Output)
				}
			})
		}
	}
}

// The benchmark's clients: fasthttp's (a lean load generator: one
// goroutine writes a request and reads its response, no pipelining) and
// net/http's (what Go programs and the AWS SDK for Go use).
const (
	clientFast = "fasthttp-client"
	clientStd  = "net-http-client"
)

// newClient returns a maker of per-goroutine senders of StartSyncExecution
// requests over keep-alive connections to url. A sender returns the status
// and the response body (valid until its next call).
func newClient(kind, url string) func() func(body []byte) (int, []byte, error) {
	if kind == clientFast {
		hc := &fasthttp.HostClient{Addr: strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/"), MaxConns: 1024}
		return func() func([]byte) (int, []byte, error) {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI(url)
			req.Header.SetMethod("POST")
			req.Header.SetContentType("application/x-amz-json-1.0")
			req.Header.Set("X-Amz-Target", "AWSStepFunctions.StartSyncExecution")
			return func(body []byte) (int, []byte, error) {
				req.SetBodyRaw(body)
				if err := hc.Do(req, resp); err != nil {
					return 0, nil, err
				}
				return resp.StatusCode(), resp.Body(), nil
			}
		}
	}
	c := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, DisableCompression: true}}
	return func() func([]byte) (int, []byte, error) {
		req, _ := http.NewRequest("POST", url, nil)
		req.Header["Content-Type"] = []string{"application/x-amz-json-1.0"}
		req.Header["X-Amz-Target"] = []string{"AWSStepFunctions.StartSyncExecution"}
		buf := make([]byte, 4096)
		return func(body []byte) (int, []byte, error) {
			req.Body = io.NopCloser(bytes.NewReader(body))
			req.ContentLength = int64(len(body))
			resp, err := c.Do(req)
			if err != nil {
				return 0, nil, err
			}
			n, _ := io.ReadFull(resp.Body, buf)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode, buf[:n], nil
		}
	}
}

// BenchmarkAPIStartSyncExecution runs the reference workflow through the
// Step Functions API over loopback HTTP/1.1 with keep-alive connections,
// from GOMAXPROCS×32 client goroutines (RunParallel; EXPRESS_BENCH_API_CLIENTS_PER_CPU), each sending a
// request and waiting for its answer (no pipelining, as the AWS SDKs).
// Sub-benchmarks: the server's front (fasthttp, what `express serve`
// uses; net-http, ServeHTTP) × the client (fasthttp's; net/http's), with
// client and server in this process sharing the machine's cores; and
// "server-process": the fasthttp front in a process of its own (this
// test binary re-run as TestAPIServerProcess) with fasthttp's client here,
// which reports the server's own CPU per execution (server-cpu-ns/exec,
// from /proc/PID/stat) beside the client's (cpu-ns/exec). Each reports
// executions/s, CPU per execution and the latency percentiles.
func BenchmarkAPIStartSyncExecution(b *testing.B) {
	for _, tc := range []struct{ front, client string }{
		{apitest.FrontFast, clientFast}, {apitest.FrontFast, clientStd}, {apitest.FrontStd, clientStd}, {apitest.FrontStd, clientFast},
	} {
		b.Run(tc.front+"/"+tc.client, func(b *testing.B) {
			url, body := startAPI(b, tc.front)
			benchSync(b, newClient(tc.client, url), body, 0)
		})
	}
	b.Run("server-process/"+clientFast, func(b *testing.B) {
		url, pid := startServerProcess(b)
		benchSync(b, newClient(clientFast, url), createIoT(b, url), pid)
	})
}

// benchSync is the benchmark's loop; pid, when not 0, is the server's
// process, whose CPU is reported as server-cpu-ns/exec.
func benchSync(b *testing.B, client func() func([]byte) (int, []byte, error), body []byte, pid int) {
	var mu sync.Mutex
	var lat []time.Duration
	// 32 client goroutines per CPU (64 on the 2 cores), each with one
	// request in flight on its own keep-alive connection: with fewer the
	// server waits for the clients (8 per CPU left a quarter of the cores
	// idle). EXPRESS_BENCH_API_CLIENTS_PER_CPU changes it.
	par := 32
	if n, err := strconv.Atoi(os.Getenv("EXPRESS_BENCH_API_CLIENTS_PER_CPU")); err == nil && n > 0 {
		par = n
	}
	b.SetParallelism(par)
	b.ReportAllocs()
	b.ResetTimer()
	start, serverStart := cpuTime(), procCPU(pid)
	b.RunParallel(func(pb *testing.PB) {
		own := make([]time.Duration, 0, 1024)
		do := client()
		for pb.Next() {
			t0 := time.Now()
			code, out, err := do(body)
			if err != nil {
				b.Error(err)
				return
			}
			if code != 200 || !bytes.Contains(out, []byte(`"status":"SUCCEEDED"`)) {
				b.Errorf("%d %s", code, out)
				return
			}
			own = append(own, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, own...)
		mu.Unlock()
	})
	cpu, serverCPU := cpuTime()-start, procCPU(pid)-serverStart
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
	if pid != 0 {
		b.ReportMetric(float64(serverCPU.Nanoseconds())/float64(b.N), "server-cpu-ns/exec")
	}
	b.ReportMetric(pct(0.50), "p50-us")
	b.ReportMetric(pct(0.99), "p99-us")
}

// serverProcessEnv, set, makes TestAPIServerProcess serve the API.
const serverProcessEnv = "EXPRESS_BENCH_API_SERVER"

// TestAPIServerProcess is the benchmark's server process when
// EXPRESS_BENCH_API_SERVER is set (nothing otherwise): it serves the API
// with the fasthttp front, prints its address and stops when its standard
// input closes.
func TestAPIServerProcess(t *testing.T) {
	if os.Getenv(serverProcessEnv) == "" {
		return
	}
	addr, stop := listenAPI(t, apitest.FrontFast)
	defer stop()
	fmt.Printf("addr %s\n", addr)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// startServerProcess starts TestAPIServerProcess in a process of its own
// and returns its URL and process id.
func startServerProcess(b *testing.B) (string, int) {
	cmd := exec.Command(os.Args[0], "-test.run", "^TestAPIServerProcess$")
	cmd.Env = append(os.Environ(), serverProcessEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "addr "); ok {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return "http://" + addr + "/", cmd.Process.Pid
		}
	}
	b.Fatalf("the server process printed no address: %v", sc.Err())
	return "", 0
}

// procCPU is a process's user and system CPU time (/proc/PID/stat), 0
// for pid 0.
func procCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// fields after the command's closing parenthesis: state is 3rd, utime 14th, stime 15th
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on Linux).
const clockTicks = 100
