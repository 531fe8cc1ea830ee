package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stepstream/express/api"
	"github.com/stepstream/express/internal/apitest"
)

// TestProtocol checks the wire form: the error document, its __type with
// AWS's namespace, the headers, and requests no client would send.
func TestProtocol(t *testing.T) {
	for _, front := range []string{apitest.FrontFast, apitest.FrontStd} {
		t.Run(front, func(t *testing.T) {
			_, url := serve(t, api.Options{})
			testProtocol(t, url)
		})
	}
}

func testProtocol(t *testing.T, url string) {
	for _, tc := range []struct {
		name, method, target, body string
		status                     int
		typ                        string // __type, "" for a success
	}{
		{"success", "POST", "AWSStepFunctions.ListStateMachines", `{}`, 200, ""},
		{"empty body", "POST", "AWSStepFunctions.ListStateMachines", ``, 200, ""},
		{"unknown operation", "POST", "AWSStepFunctions.NoSuchThing", `{}`, 400, "com.amazon.coral.service#UnknownOperationException"},
		{"other service", "POST", "DynamoDB_20120810.ListTables", `{}`, 400, "com.amazon.coral.service#UnknownOperationException"},
		{"no target", "POST", "", `{}`, 400, "com.amazon.coral.service#UnknownOperationException"},
		{"GET", "GET", "AWSStepFunctions.ListStateMachines", ``, 404, "com.amazon.coral.service#UnknownOperationException"},
		{"not JSON", "POST", "AWSStepFunctions.ListStateMachines", `{"maxResults":`, 400, "com.amazon.coral.service#SerializationException"},
		{"not an object", "POST", "AWSStepFunctions.DescribeStateMachine", `[1]`, 400, "com.amazon.coral.service#SerializationException"},
		{"wrong member type", "POST", "AWSStepFunctions.ListStateMachines", `{"maxResults":"ten"}`, 400, "com.amazon.coral.service#SerializationException"},
		{"sync: wrong member type", "POST", "AWSStepFunctions.StartSyncExecution", `{"stateMachineArn":1}`, 400, "com.amazon.coral.service#SerializationException"},
		{"missing member", "POST", "AWSStepFunctions.DescribeStateMachine", `{}`, 400, "com.amazon.coral.validate#ValidationException"},
		{"sync: missing member", "POST", "AWSStepFunctions.StartSyncExecution", `{}`, 400, "com.amazon.coral.validate#ValidationException"},
		{"trace header not ASCII", "POST", "AWSStepFunctions.StartSyncExecution", `{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:x","traceHeader":"é"}`, 400, "com.amazon.coral.validate#ValidationException"},
		{"out of range", "POST", "AWSStepFunctions.ListStateMachines", `{"maxResults":1001}`, 400, "com.amazon.coral.validate#ValidationException"},
		{"no such state machine", "POST", "AWSStepFunctions.DescribeStateMachine", `{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:x"}`, 400,
			"com.amazonaws.swf.service.v2.model#StateMachineDoesNotExist"},
		{"too large", "POST", "AWSStepFunctions.ListStateMachines", `{"x":"` + strings.Repeat("a", api.MaxRequestBytes) + `"}`, 413, "com.amazon.coral.service#SerializationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, url, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-amz-json-1.0")
			if tc.target != "" {
				req.Header.Set("X-Amz-Target", tc.target)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.0" {
				t.Errorf("Content-Type %q", ct)
			}
			if len(resp.Header.Get("X-Amzn-Requestid")) != 36 {
				t.Errorf("x-amzn-RequestId %q", resp.Header.Get("X-Amzn-Requestid"))
			}
			if n := resp.Header.Get("Content-Length"); n != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %q for %d bytes", n, len(body))
			}
			var doc map[string]any
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if tc.typ == "" {
				return
			}
			if doc["__type"] != tc.typ {
				t.Errorf("__type %v, want %s", doc["__type"], tc.typ)
			}
			if msg, _ := doc["message"].(string); msg == "" {
				t.Errorf("no message: %s", body)
			}
			if et := resp.Header.Get("X-Amzn-Errortype"); !strings.HasSuffix(tc.typ, "#"+et) {
				t.Errorf("x-amzn-ErrorType %q", et)
			}
		})
	}
}

// FuzzRequest sends arbitrary bodies to every operation: the server answers
// every one with JSON (a success or an error document) and never fails
// with an internal error.
func FuzzRequest(f *testing.F) {
	s, err := api.New(api.Options{})
	if err != nil {
		f.Fatal(err)
	}
	ops := api.Operations()
	f.Add(uint8(0), []byte(`{}`))
	f.Add(uint8(1), []byte(`{"name":"a","definition":"{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Succeed\"}}}","roleArn":"arn:aws:iam::1:role/r","type":"EXPRESS"}`))
	f.Add(uint8(2), []byte(`{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:a","input":"{\"x\":1}","name":"n"}`))
	f.Add(uint8(3), []byte(`{"maxResults":3,"nextToken":"YQ"}`))
	f.Add(uint8(4), []byte(`{"resourceArn":"arn:aws:states:us-east-1:123456789012:stateMachine:a","tags":[{"key":"k","value":"v"}],"tagKeys":["k"]}`))
	f.Add(uint8(5), []byte(`{"definition":"{","severity":"WARNING","maxResults":1}`))
	f.Add(uint8(6), []byte(`{"executionArn":"arn:aws:states:us-east-1:123456789012:express:a:b:c"}`))
	f.Add(uint8(7), []byte("\xff{\"a\":[1,2,{\"b\":null}]}"))
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		target := "AWSStepFunctions." + ops[int(op)%len(ops)]
		if op == 255 {
			target = string(body)
		}
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", target)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		b, _ := io.ReadAll(rec.Body)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: status %d: %s", target, body, rec.Code, b)
		}
		if !json.Valid(b) {
			t.Fatalf("%s %q: the answer is not JSON: %q", target, body, b)
		}
		if rec.Code != http.StatusOK && !bytes.Contains(b, []byte(`"__type"`)) {
			t.Fatalf("%s %q: an error without __type: %s", target, body, b)
		}
	})
}
