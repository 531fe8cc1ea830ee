package resources

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ohler55/ojg/oj"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

type fakeProducer struct {
	mu   sync.Mutex
	recs []*kgo.Record
}

func (f *fakeProducer) ProduceSync(_ context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out kgo.ProduceResults
	for _, r := range rs {
		r.Offset = int64(len(f.recs))
		f.recs = append(f.recs, r)
		out = append(out, kgo.ProduceResult{Record: r})
	}
	return out
}

func mustTarget(t *testing.T, s string) Target {
	t.Helper()
	tg, err := ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func build(t *testing.T, p Producer, routes map[string]string, allow ...string) *Resources {
	t.Helper()
	rt := map[string][]Target{}
	for k, v := range routes {
		rt[k] = []Target{mustTarget(t, v)}
	}
	for _, a := range allow {
		rt[HTTPInvoke] = append(rt[HTTPInvoke], mustTarget(t, a))
	}
	r, err := New(Config{Routes: rt, Producer: p, HTTPTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func invoke(r *Resources, resource string, input string) (any, error) {
	return r.Invoke(context.Background(), &express.TaskRequest{Resource: resource, State: "S", Workflow: "wf", Execution: "exec-1", Input: oj.MustParse([]byte(input))})
}

func errName(err error) string {
	var e *express.Error
	if errors.As(err, &e) {
		return e.Name
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestParseTarget(t *testing.T) {
	for _, bad := range []string{"ftp://x", "kafka:", "kafka:bad topic", "static:{", "http://", "nothing"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if tg := mustTarget(t, `static:{"a":1}`); tg.Kind != KindStatic || tg.Static.(map[string]any)["a"] != int64(1) {
		t.Fatal(tg)
	}
}

func TestStaticAndLambdaHTTP(t *testing.T) {
	var gotKey string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotKey = r.Header.Get("Idempotency-Key")
		b, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/enrich":
			w.Write([]byte(`{"site":"plant-1","echo":` + string(b) + `}`))
		case "/slow":
			time.Sleep(time.Second)
		default:
			w.WriteHeader(500)
			w.Write([]byte("boom"))
		}
	}))
	defer srv.Close()
	r := build(t, nil, map[string]string{
		"arn:aws:lambda:eu-west-1:1:function:enrich-device": srv.URL + "/enrich",
		"fixed":  `static:{"threshold":30}`,
		"broken": srv.URL + "/fail",
		"slow":   srv.URL + "/slow",
		"other":  srv.URL + "/enrich",
	})
	if !r.InlineFor("fixed") || r.InlineFor("other") {
		t.Fatal("InlineFor")
	}
	// Static, HTTP and Kafka targets take the engine's objects; the
	// integrations, which read their parameters as maps, do not.
	for res, want := range map[string]bool{"fixed": true, "other": true, "arn:aws:lambda:eu-west-1:1:function:enrich-device": true,
		LambdaInvoke: false, HTTPInvoke: false, SNSPublish: false, LambdaInvoke + ".sync": false, "unknown": false} {
		if got := r.AcceptsObjectsFor(res); got != want {
			t.Errorf("AcceptsObjectsFor(%q) = %v", res, got)
		}
	}
	obj, _ := jsonv.Parse([]byte(`{"deviceId":"d2","tags":["a"]}`))
	if _, ok := obj.(*jsonv.Object); !ok {
		t.Fatalf("parsed %T", obj)
	}
	v, err := r.Invoke(context.Background(), &express.TaskRequest{Resource: "arn:aws:lambda:eu-west-1:1:function:enrich-device", State: "S", Execution: "exec-1", Input: obj})
	if err != nil || oj.JSON(v, &oj.Options{Sort: true}) != `{"echo":{"deviceId":"d2","tags":["a"]},"site":"plant-1"}` {
		t.Fatal(oj.JSON(v), err)
	}
	v, err = invoke(r, "fixed", `{}`)
	if err != nil || v.(map[string]any)["threshold"] != int64(30) {
		t.Fatal(v, err)
	}
	v, err = invoke(r, "arn:aws:lambda:eu-west-1:1:function:enrich-device", `{"deviceId":"d1"}`)
	if err != nil || oj.JSON(v, &oj.Options{Sort: true}) != `{"echo":{"deviceId":"d1"},"site":"plant-1"}` || gotKey != "exec-1/S" {
		t.Fatal(oj.JSON(v), err, gotKey)
	}
	// lambda:invoke by FunctionName (short name of the mapped ARN)
	v, err = invoke(r, LambdaInvoke, `{"FunctionName":"enrich-device","Payload":{"x":1}}`)
	if err != nil || v.(map[string]any)["Payload"].(map[string]any)["site"] != "plant-1" || v.(map[string]any)["StatusCode"] != int64(200) {
		t.Fatal(v, err)
	}
	if _, err := invoke(r, LambdaInvoke, `{"FunctionName":"nope","Payload":{}}`); errName(err) != express.ErrTaskFailed {
		t.Fatal(err)
	}
	if _, err := invoke(r, "broken", `{}`); errName(err) != "States.Http.StatusCode.500" {
		t.Fatal(err)
	}
	t0 := time.Now()
	if _, err := invoke(r, "slow", `{}`); err == nil || time.Since(t0) > 900*time.Millisecond {
		t.Fatalf("slow call: %v after %v", err, time.Since(t0))
	}
	if err := r.CheckResource("unknown"); err == nil || !strings.Contains(err.Error(), "--resource unknown=") {
		t.Fatal(err)
	}
	if err := r.CheckResource("other"); err != nil {
		t.Fatal(err)
	}
}

func TestHTTPInvokeAllowlist(t *testing.T) {
	var got *http.Request
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		if r.URL.Path == "/api/redirect" {
			http.Redirect(w, r, "http://127.0.0.2:1/elsewhere", http.StatusFound)
			return
		}
		w.Header().Set("X-Test", "yes")
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	r := build(t, nil, nil, srv.URL+"/api/")
	v, err := invoke(r, HTTPInvoke, `{"ApiEndpoint":"`+srv.URL+`/api/items","Method":"post","Headers":{"X-A":"1"},"QueryParameters":{"q":"a b","n":[1,2]},"RequestBody":{"k":"v"}}`)
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	if m["StatusCode"] != int64(200) || m["StatusText"] != "OK" || m["ResponseBody"].(map[string]any)["ok"] != true ||
		m["Headers"].(map[string]any)["x-test"].([]any)[0] != "yes" {
		t.Fatal(oj.JSON(v))
	}
	if got.Method != "POST" || got.Header.Get("X-A") != "1" || got.Header.Get("Idempotency-Key") != "exec-1/S" || got.Header.Get("Express-Attempt") != "0" ||
		got.URL.Query().Get("q") != "a b" || len(got.URL.Query()["n"]) != 2 || body != `{"k":"v"}` {
		t.Fatal(got, body)
	}
	for _, ep := range []string{srv.URL + "/apix", srv.URL + "/other", "http://example.com/api/x", strings.Replace(srv.URL, "http:", "https:", 1) + "/api/x"} {
		if _, err := invoke(r, HTTPInvoke, `{"ApiEndpoint":"`+ep+`","Method":"GET"}`); errName(err) != express.ErrPermissions {
			t.Errorf("%s: %v", ep, err)
		}
	}
	if _, err := invoke(r, HTTPInvoke, `{"ApiEndpoint":"`+srv.URL+`/api/redirect","Method":"GET"}`); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("redirect off the allowlist: %v", err)
	}
	if err := build(t, nil, nil).CheckResource(HTTPInvoke); err == nil {
		t.Fatal("http:invoke without allowlist accepted")
	}
}

func TestKafkaPublishing(t *testing.T) {
	fp := &fakeProducer{}
	r := build(t, fp, map[string]string{
		SNSPublish:     "kafka:alerts",
		"orders-queue": "kafka:orders",
		"arn:aws:events:eu-west-1:1:event-bus/bus1": "kafka:events",
		"default": "kafka:default-events",
	})
	v, err := invoke(r, SNSPublish, `{"TopicArn":"arn:aws:sns:eu-west-1:1:t","Message":{"a":1},"MessageAttributes":{"kind":{"DataType":"String","StringValue":"x"}}}`)
	if err != nil || v.(map[string]any)["MessageId"] == "" {
		t.Fatal(v, err)
	}
	v, err = invoke(r, SQSSend, `{"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/1/orders-queue","MessageBody":"hello","MessageGroupId":"g"}`)
	if err != nil || v.(map[string]any)["MD5OfMessageBody"] != md5hex([]byte("hello")) {
		t.Fatal(v, err)
	}
	v, err = invoke(r, EventsPut, `{"Entries":[{"Detail":"{\"x\":1}","DetailType":"t","Source":"s","EventBusName":"arn:aws:events:eu-west-1:1:event-bus/bus1"},{"Detail":{},"DetailType":"t","Source":"s"}]}`)
	if err != nil || len(v.(map[string]any)["Entries"].([]any)) != 2 {
		t.Fatal(v, err)
	}
	if len(fp.recs) != 4 {
		t.Fatalf("%d records", len(fp.recs))
	}
	want := []string{"alerts", "orders", "events", "default-events"}
	for i, rec := range fp.recs {
		if rec.Topic != want[i] {
			t.Errorf("record %d to %s, want %s", i, rec.Topic, want[i])
		}
		idem := ""
		for _, h := range rec.Headers {
			if h.Key == "Idempotency-Key" {
				idem = string(h.Value)
			}
		}
		if idem != "exec-1/S" {
			t.Errorf("record %d: Idempotency-Key %q", i, idem)
		}
	}
	if string(fp.recs[0].Value) != `{"a":1}` || string(fp.recs[1].Value) != "hello" || string(fp.recs[1].Key) != "g" {
		t.Fatal(string(fp.recs[0].Value), string(fp.recs[1].Value))
	}
	ev := oj.MustParse(fp.recs[2].Value).(map[string]any)
	if ev["detail"].(map[string]any)["x"] != int64(1) || ev["detail-type"] != "t" {
		t.Fatal(string(fp.recs[2].Value))
	}
	// sqs to an unmapped queue with no default
	if _, err := invoke(r, SQSSend, `{"QueueUrl":"https://sqs/1/unknown","MessageBody":"x"}`); errName(err) != express.ErrTaskFailed {
		t.Fatal(err)
	}
}

func TestURLEncodedBody(t *testing.T) {
	if got := urlEncode(map[string]any{"a": []any{"x", "y"}, "b": map[string]any{"c": int64(1)}}, "INDICES"); got != "a%5B0%5D=x&a%5B1%5D=y&b%5Bc%5D=1" {
		t.Fatal(got)
	}
	if got := urlEncode(map[string]any{"a": []any{"x", "y"}}, "REPEAT"); got != "a=x&a=y" {
		t.Fatal(got)
	}
	if got := urlEncode(map[string]any{"a": []any{"x", "y"}}, "COMMAS"); got != "a=x%2Cy" {
		t.Fatal(got)
	}
	if got := urlEncode(map[string]any{"a": []any{"x"}}, "BRACKETS"); got != "a%5B%5D=x" {
		t.Fatal(got)
	}
}

// TestHTTPInvokeDotSegments: an ApiEndpoint is checked against the
// allowlist with its dot segments resolved (plain or percent-encoded), and
// the request sent is the URL that was checked; encoded slashes,
// backslashes and "..;" segments are refused. Redirects likewise.
func TestHTTPInvokeDotSegments(t *testing.T) {
	var mu sync.Mutex
	var uris []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		uris = append(uris, r.RequestURI)
		mu.Unlock()
		if loc := r.URL.Query().Get("to"); loc != "" {
			http.Redirect(w, r, loc, http.StatusFound)
			return
		}
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	r := build(t, nil, nil, srv.URL+"/v1/")
	// call invokes srv.URL+path and returns the request URIs the server
	// saw and the error.
	call := func(path string) ([]string, error) {
		mu.Lock()
		uris = nil
		mu.Unlock()
		in, _ := json.Marshal(map[string]any{"ApiEndpoint": srv.URL + path, "Method": "GET"})
		_, err := invoke(r, HTTPInvoke, string(in))
		mu.Lock()
		defer mu.Unlock()
		return uris, err
	}
	for _, p := range []string{
		"/v1/../admin", "/v1/%2e%2e/admin", "/v1/%2E%2E/admin", "/v1/..%2fadmin", "/v1/..%2Fadmin",
		"/v1/./../admin", "/v1/.%2e/admin", "/v1/%2e./admin", "/v1/x/../../admin", "/v1/..", "/v1/%2e%2e",
		`/v1\..\admin`, "/v1/..%5cadmin", "/v1/%5c..%5cadmin", "/v1/..;/admin", "/v1/%2e%2e;x/admin",
		"/v1/a%2fb", "/v1//../../admin", "/v%31/../admin",
	} {
		got, err := call(p)
		if errName(err) != express.ErrPermissions || !strings.Contains(err.Error(), srv.URL) || len(got) != 0 {
			t.Errorf("%s: %v (requested %q), want %s naming the URL", p, err, got, express.ErrPermissions)
		}
	}
	for p, want := range map[string]string{
		"/v1/a/../b":        "/v1/b",
		"/v1/%2e/b":         "/v1/b",
		"/v1/a/%2E%2E/b":    "/v1/b",
		"/v1/%7eu/./x":      "/v1/~u/x",
		"/v%31/x":           "/v1/x",
		"/v1/a%20b%3f":      "/v1/a%20b%3F",
		"/v1/x?q=../..%2f":  "/v1/x?q=../..%2f",
		"/v1/%2e%2e%2e/x":   "/v1/.../x",
		"/v1/a/b/../../c/.": "/v1/c/",
	} {
		got, err := call(p)
		if err != nil || len(got) != 1 || got[0] != want {
			t.Errorf("%s: %v, requested %q, want %q", p, err, got, want)
		}
	}
	// Redirects: the target is resolved the same way before it is allowed.
	for to, wantErr := range map[string]bool{
		"/v1/%2e%2e/admin": true, "/v1/..%2fadmin": true, "/admin": true, "/v1/a/%2e%2e/b": false,
	} {
		got, err := call("/v1/redir?to=" + url.QueryEscape(to))
		if wantErr {
			if err == nil || !strings.Contains(err.Error(), "not allowed") || len(got) != 1 {
				t.Errorf("redirect to %s: %v, requested %q", to, err, got)
			}
		} else if err != nil || len(got) != 2 || got[1] != "/v1/b" {
			t.Errorf("redirect to %s: %v, requested %q", to, err, got)
		}
	}
	// An allowlist entry is normalised too.
	r = build(t, nil, nil, srv.URL+"/v1/x/../")
	if _, err := call("/v1/y"); err != nil {
		t.Errorf("normalised allowlist entry: %v", err)
	}
	if _, err := New(Config{Routes: map[string][]Target{HTTPInvoke: {mustTarget(t, srv.URL+"/v1%2f")}}}); err == nil {
		t.Error("an allowlist entry with an encoded slash was accepted")
	}
}
