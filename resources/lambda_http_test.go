package resources

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ohler55/ojg/oj"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
)

// lambdaAnswers is a fake Lambda endpoint: each path answers as Lambda,
// the Runtime Interface Emulator or a failing service does (the bodies
// of rie-* are what aws-lambda-rie answered to a function built with
// aws-lambda-go).
func lambdaAnswers(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/ok":
			w.Header().Set("X-Amzn-RequestId", "req-1")
			w.Write([]byte(`{"site":"plant-1"}`))
		case "/rie-error": // a returned error: 200, no header
			w.Write([]byte(`{"errorMessage":"no device dev-unknown-1","errorType":"DeviceNotFound"}`))
		case "/rie-panic": // the runtime exited after reporting the panic
			w.WriteHeader(502)
			w.Write([]byte(`{"errorMessage":"enrich-device: cannot enrich dev-panic","errorType":"string","stackTrace":[{"path":"main.go","line":45,"label":"handle"}]}`))
		case "/timeout": // Lambda's answer for a function timeout
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			w.Write([]byte(`{"errorMessage":"2026-12-05T08:00:00.000Z 1 Task timed out after 3.00 seconds"}`))
		case "/handled":
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			w.Write([]byte(`{"errorType":"Custom","errorMessage":"x","requestId":"r"}`))
		case "/looks-like-error": // a payload with more fields is a payload
			w.Write([]byte(`{"errorType":"x","errorMessage":"y","site":"plant-1"}`))
		case "/throttled":
			w.Header().Set("X-Amzn-RequestId", "req-429")
			w.WriteHeader(429)
			w.Write([]byte(`{"Type":"User","message":"Rate Exceeded."}`))
		case "/typed":
			w.Header().Set("X-Amzn-ErrorType", "KMSDisabledException:http://internal.amazon.com/coral/com.amazonaws.awsgirawebservice/")
			w.WriteHeader(502)
			w.Write([]byte(`{"Type":"User","Message":"disabled"}`))
		case "/500":
			w.WriteHeader(500)
		case "/503":
			w.WriteHeader(503)
		case "/404":
			w.WriteHeader(404)
		case "/400":
			w.WriteHeader(400)
		case "/slow":
			<-r.Context().Done()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

const fnARN = "arn:aws:lambda:eu-west-1:123456789012:function:"

func TestLambdaAnswers(t *testing.T) {
	srv := lambdaAnswers(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cases := []struct {
		path, name, cause string // cause: a part of it
	}{
		{"/ok", "", ""},
		{"/looks-like-error", "", ""},
		{"/rie-error", "DeviceNotFound", `{"errorMessage":"no device dev-unknown-1","errorType":"DeviceNotFound"}`},
		{"/rie-panic", "string", `"errorType":"string"`},
		{"/timeout", ErrLambdaUnknown, "Task timed out after 3.00 seconds"},
		{"/handled", "Custom", `"requestId":"r"`},
		{"/throttled", ErrLambdaTooManyRequests, "Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException; Request ID: req-429; Proxy: null)"},
		{"/typed", "Lambda.KMSDisabledException", "disabled (Service: AWSLambda; Status Code: 502; Error Code: KMSDisabledException;"},
		{"/500", ErrLambdaServiceException, "Status Code: 500; Error Code: ServiceException;"},
		{"/503", ErrLambdaServiceException, "Status Code: 503"},
		{"/404", ErrLambdaResourceNotFound, "Status Code: 404"},
		{"/400", ErrLambdaAWSLambdaException, "Status Code: 400"},
		{"/slow", ErrLambdaClientExecutionTimeout, "Client execution did not complete"},
		{"closed", ErrLambdaSdkClientException, "Unable to execute HTTP request"},
	}
	for _, c := range cases {
		url := srv.URL + c.path
		if c.path == "closed" {
			url = closed.URL + "/x"
		}
		r := build(t, nil, map[string]string{fnARN + "f": url, "plain": url})
		// a plain function ARN Task and lambda:invoke read the answer alike
		for _, call := range []struct{ resource, input string }{{fnARN + "f", `{"a":1}`}, {LambdaInvoke, `{"FunctionName":"f","Payload":{"a":1}}`}} {
			v, err := invoke(r, call.resource, call.input)
			if errName(err) != c.name {
				t.Errorf("%s %s: error %v, want %q", c.path, call.resource, err, c.name)
				continue
			}
			if err != nil {
				if e := express.AsError(err); !strings.Contains(e.Cause, c.cause) {
					t.Errorf("%s %s: cause %q, want it to contain %q", c.path, call.resource, e.Cause, c.cause)
				}
				continue
			}
			if call.resource == LambdaInvoke {
				v = v.(map[string]any)["Payload"]
			}
			if v.(map[string]any)["site"] != "plant-1" {
				t.Errorf("%s %s: %s", c.path, call.resource, oj.JSON(v))
			}
		}
		// Any other resource keeps the HTTP conventions.
		if c.path == "/500" {
			if _, err := invoke(r, "plain", `{}`); errName(err) != "States.Http.StatusCode.500" {
				t.Errorf("a plain URL target: %v", err)
			}
		}
	}
}

// TestLambdaEnvelope checks lambda:invoke's result against AWS's shape
// (../shared/conformance/aws/task-service-lambda-invoke-result.json): the
// same keys for URL and other targets, and a stable RequestId.
func TestLambdaEnvelope(t *testing.T) {
	srv := lambdaAnswers(t)
	r := build(t, nil, map[string]string{"f": srv.URL + "/ok", "g": `static:{"site":"plant-1"}`, "h": srv.URL + "/looks-like-error"})
	for _, fn := range []string{"f", "g", "h"} {
		v, err := invoke(r, LambdaInvoke, `{"FunctionName":"`+fn+`","Payload":{}}`)
		if err != nil {
			t.Fatal(err)
		}
		m := v.(map[string]any)
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"ExecutedVersion", "Payload", "SdkHttpMetadata", "SdkResponseMetadata", "StatusCode"}; !slices.Equal(keys, want) {
			t.Fatalf("%s: keys %v, want %v", fn, keys, want)
		}
		meta := m["SdkHttpMetadata"].(map[string]any)
		one := meta["HttpHeaders"].(map[string]any)
		all := meta["AllHttpHeaders"].(map[string]any)
		id := m["SdkResponseMetadata"].(map[string]any)["RequestId"].(string)
		if m["ExecutedVersion"] != "$LATEST" || m["StatusCode"] != int64(200) || meta["HttpStatusCode"] != int64(200) ||
			one["X-Amz-Executed-Version"] != "$LATEST" || all["X-Amz-Executed-Version"].([]any)[0] != "$LATEST" || id == "" {
			t.Fatalf("%s: %s", fn, oj.JSON(v, &oj.Options{Sort: true}))
		}
		switch fn {
		case "f":
			if id != "req-1" || one["X-Amzn-Requestid"] != "req-1" {
				t.Errorf("the target's request id: %s", oj.JSON(v, &oj.Options{Sort: true}))
			}
		default:
			again, _ := invoke(r, LambdaInvoke, `{"FunctionName":"`+fn+`","Payload":{}}`)
			if id2 := again.(map[string]any)["SdkResponseMetadata"].(map[string]any)["RequestId"]; id2 != id || one["x-amzn-RequestId"] != id {
				t.Errorf("%s: RequestId %v then %v (header %v)", fn, id, id2, one["x-amzn-RequestId"])
			}
		}
	}
}

// TestCallHeaders checks the headers a target receives, for each kind of
// call: the call's key and attempt and the input record's trace context.
func TestCallHeaders(t *testing.T) {
	var mu sync.Mutex
	var got []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Clone())
		mu.Unlock()
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	fp := &fakeProducer{}
	r := build(t, fp, map[string]string{fnARN + "f": srv.URL + "/fn", "svc": srv.URL + "/svc", "q": "kafka:q"}, srv.URL+"/api/")
	trace := []express.Header{{Key: "traceparent", Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")}, {Key: "tracestate", Value: []byte("congo=t61rcWkgMzE")}}
	for _, c := range []struct{ resource, input string }{
		{fnARN + "f", `{}`}, {LambdaInvoke, `{"FunctionName":"f","Payload":{}}`}, {"svc", `{}`},
		{HTTPInvoke, `{"ApiEndpoint":"` + srv.URL + `/api/x","Method":"POST"}`}, {"q", `{}`},
	} {
		req := &express.TaskRequest{Resource: c.resource, State: "Call", Workflow: "wf", Execution: "exec-1", Attempt: 2, Headers: trace, Input: oj.MustParse([]byte(c.input))}
		if _, err := r.Invoke(context.Background(), req); err != nil {
			t.Fatalf("%s: %v", c.resource, err)
		}
	}
	if len(got) != 4 || len(fp.recs) != 1 {
		t.Fatalf("%d requests, %d records", len(got), len(fp.recs))
	}
	want := map[string]string{"Idempotency-Key": "exec-1/Call", "Express-Attempt": "2", "Express-Workflow": "wf", "Express-Execution": "exec-1", "Express-State": "Call",
		"Traceparent": string(trace[0].Value), "Tracestate": string(trace[1].Value)}
	for i, h := range got {
		for k, v := range want {
			if h.Get(k) != v {
				t.Errorf("request %d: %s %q, want %q", i, k, h.Get(k), v)
			}
		}
	}
	rec := map[string]string{}
	for _, h := range fp.recs[0].Headers {
		rec[h.Key] = string(h.Value)
	}
	for k, v := range map[string]string{"Idempotency-Key": "exec-1/Call", "express-attempt": "2", "traceparent": string(trace[0].Value), "tracestate": string(trace[1].Value)} {
		if rec[k] != v {
			t.Errorf("record: %s %q, want %q", k, rec[k], v)
		}
	}
}

// TestMapItemsDeduplicatingService: three Map items call one service that
// deduplicates on Idempotency-Key and get three different answers; the
// same record run again sends the same keys and gets the same answers.
func TestMapItemsDeduplicatingService(t *testing.T) {
	var mu sync.Mutex
	answers := map[string]string{} // key → answer
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		k := r.Header.Get("Idempotency-Key")
		keys = append(keys, k)
		if a, ok := answers[k]; ok {
			w.Write([]byte(a)) // a repeated call: the first answer
			return
		}
		a := `{"call":` + string(rune('0'+len(answers))) + `,"got":` + string(b) + `}`
		answers[k] = a
		w.Write([]byte(a))
	}))
	defer srv.Close()
	r := build(t, nil, map[string]string{fnARN + "enrich": srv.URL + "/2015-03-31/functions/function/invocations"})
	wf, err := compile.Compile([]byte(`{"StartAt":"Process","States":{"Process":{"Type":"Map","ItemsPath":"$.items",
		"ItemProcessor":{"StartAt":"Enrich","States":{"Enrich":{"Type":"Task","Resource":"`+fnARN+`enrich","End":true}}},"End":true}}}`),
		compile.Options{Invoker: r})
	if err != nil {
		t.Fatal(err)
	}
	var outs []string
	var sent [][]string
	for run := 0; run < 2; run++ { // the second run is the record redelivered
		keys = nil
		res := wf.Execute(context.Background(), map[string]any{"items": []any{"a", "b", "c"}}, express.ExecOptions{Name: "readings/0/7"})
		if res.Status != express.Succeeded {
			t.Fatalf("%s %s", res.Error, res.Cause)
		}
		out, _ := json.Marshal(res.Output)
		outs = append(outs, string(out))
		slices.Sort(keys)
		sent = append(sent, keys)
	}
	if want := `[{"call":0,"got":"a"},{"call":1,"got":"b"},{"call":2,"got":"c"}]`; !strings.Contains(outs[0], `"got":"a"`) || len(answers) != 3 {
		t.Fatalf("answers %s (%d distinct), want three, such as %s", outs[0], len(answers), want)
	}
	if outs[1] != outs[0] {
		t.Errorf("the redelivered record got %s, first %s", outs[1], outs[0])
	}
	if want := []string{"readings/0/7/Process/0/Enrich", "readings/0/7/Process/1/Enrich", "readings/0/7/Process/2/Enrich"}; !slices.Equal(sent[0], want) || !slices.Equal(sent[1], want) {
		t.Errorf("keys %q then %q, want %q", sent[0], sent[1], want)
	}
}

// FuzzLambdaAnswer reads arbitrary Lambda answers: never a panic, and a
// function error always has a name.
func FuzzLambdaAnswer(f *testing.F) {
	for _, s := range []string{`{"errorMessage":"x","errorType":"DeviceNotFound"}`, `{"errorType":1}`, `{"errorMessage":"t"}`, `[]`, `{"errorType":"a","errorMessage":"b","x":1}`, `{"message":"m"}`, "", "{"} {
		f.Add([]byte(s), true, 200)
		f.Add([]byte(s), false, 502)
	}
	f.Fuzz(func(t *testing.T, body []byte, flagged bool, status int) {
		h := http.Header{}
		if flagged {
			h.Set("X-Amz-Function-Error", "Unhandled")
		}
		name, ok := functionError(h, body)
		if ok && name == "" || flagged && !ok {
			t.Fatalf("functionError(%v, %q) = %q, %v", flagged, body, name, ok)
		}
		err := lambdaServiceError(&http.Response{StatusCode: status, Header: h}, body)
		if e := express.AsError(err); !strings.HasPrefix(e.Name, "Lambda.") {
			t.Fatalf("service error %q", e.Name)
		}
	})
}
