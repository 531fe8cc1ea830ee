package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stepstream/express/internal/testutil"
)

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunCommand(t *testing.T) {
	cases := []struct {
		args        []string
		stdin       string
		code        int
		out, errOut string
	}{
		{args: []string{"run", "testdata/hello.asl.json", "--input", `{"name":"Ada"}`}, code: 0, out: `{"greeting":"Hello, Ada!"}` + "\n"},
		{args: []string{"run", "testdata/hello.asl.json", "--input", "-"}, stdin: `{"name":"Bob"}`, code: 0, out: `{"greeting":"Hello, Bob!"}` + "\n"},
		{args: []string{"run", "--input", `{"name":""}`, "testdata/hello.asl.json"}, code: 1, errOut: "FAILED\nerror: Greeting.NoName\ncause: name is empty\n"},
		{args: []string{"run", "testdata/hello.asl.json", "--input", `{"name":`}, code: 2, errOut: "--input: not valid JSON"},
		{args: []string{"run"}, code: 2, errOut: "Usage: express run"},
		{args: []string{"run", "testdata/nope.json"}, code: 1, errOut: "no such file"},
	}
	for _, tc := range cases {
		code, out, errOut := runCLI(t, tc.stdin, tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, code, tc.code, errOut)
		}
		if tc.out != "" && out != tc.out {
			t.Errorf("%v: stdout %q, want %q", tc.args, out, tc.out)
		}
		if tc.errOut != "" && !strings.Contains(errOut, tc.errOut) {
			t.Errorf("%v: stderr %q, want it to contain %q", tc.args, errOut, tc.errOut)
		}
	}
}

func TestRunWithStaticResource(t *testing.T) {
	code, out, errOut := runCLI(t, "", "run", "../../../shared/bench/iot-reference.asl.json",
		"--input", "@../../../shared/bench/iot-reading.json",
		"--resource", `arn:aws:lambda:eu-west-1:123456789012:function:enrich-device=static:{"site":"plant-1","threshold":30}`)
	if strings.Contains(errOut, "no such file") {
		testutil.Missing(t, "../shared is absent")
	}
	want := `{"deviceId":"dev-42","key":"dev-42/temperature/2026-11-22T10:00:00Z","site":"plant-1","status":"OK","tags":["roof","north"],"type":"temperature","unit":"C","value":21.7}` + "\n"
	if code != 0 || out != want {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestValidateCommand(t *testing.T) {
	code, out, _ := runCLI(t, "", "validate", "testdata/hello.asl.json")
	if code != 0 || out != "testdata/hello.asl.json: ok\n" {
		t.Errorf("valid file: exit %d, %q", code, out)
	}
	bad := t.TempDir() + "/bad.json"
	writeFile(t, bad, `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Alrt"},"Alert":{"Type":"Succeed"}}}`)
	code, out, _ = runCLI(t, "", "validate", bad, "testdata/hello.asl.json")
	if code != 1 {
		t.Errorf("invalid file: exit %d", code)
	}
	for _, want := range []string{
		"bad.json: 2 problem(s)",
		`/States/A/Next: no state named "Alrt" (did you mean "Alert"?)`,
		`/States/Alert: state "Alert" is unreachable`,
		"testdata/hello.asl.json: ok",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code, _, _ := runCLI(t, "", "validate"); code != 2 {
		t.Errorf("no files: exit %d, want 2", code)
	}
	// a loop with no way out is a warning: printed, exit 0
	loop := t.TempDir() + "/loop.json"
	writeFile(t, loop, `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}}`)
	code, out, _ = runCLI(t, "", "validate", loop)
	if code != 0 || !strings.Contains(out, "loop.json: ok, 1 warning(s)") || !strings.Contains(out, "warning:") ||
		!strings.Contains(out, `"A"`) || !strings.Contains(out, `"B"`) {
		t.Errorf("loop: exit %d:\n%s", code, out)
	}
}

func TestTestCommand(t *testing.T) {
	code, out, _ := runCLI(t, "", "test", "testdata/cases/hello-ok.json")
	if code != 0 || out != "1 passed, 0 failed\n" {
		t.Errorf("passing case: exit %d, %q", code, out)
	}
	code, out, _ = runCLI(t, "", "test", "testdata/cases")
	if code != 1 {
		t.Errorf("directory with a failing case: exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "FAIL hello-wrong") ||
		!strings.Contains(lines[0], `output differs at $.greeting: got "Hello, Ada!", want "Hi, Ada!"`) || lines[1] != "1 passed, 1 failed" {
		t.Errorf("unexpected output:\n%s", out)
	}
}

// run --history prints the events after the output, as
// GetExecutionHistory's {"events":[...]}.
func TestRunHistory(t *testing.T) {
	code, out, errOut := runCLI(t, "", "run", "--history", "--input", `{"name":"Ada"}`, "testdata/hello.asl.json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	first, rest, _ := strings.Cut(out, "\n")
	if !strings.Contains(first, "Ada") || !strings.HasPrefix(rest, `{"events":[`) {
		t.Fatalf("output:\n%s", out)
	}
	var h struct {
		Events []struct {
			Type            string  `json:"type"`
			ID              int64   `json:"id"`
			PreviousEventID int64   `json:"previousEventId"`
			Timestamp       float64 `json:"timestamp"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(rest), &h); err != nil {
		t.Fatalf("%v:\n%s", err, rest)
	}
	if len(h.Events) < 4 || h.Events[0].Type != "ExecutionStarted" || h.Events[len(h.Events)-1].Type != "ExecutionSucceeded" || h.Events[0].Timestamp < 1e9 {
		t.Fatalf("events: %+v", h.Events)
	}
	for i, e := range h.Events {
		if e.ID != int64(i+1) {
			t.Fatalf("event %d has id %d", i+1, e.ID)
		}
	}
}

// A Step Functions Local mock configuration answers the cases that name
// one of its test cases; the file itself is not taken for a case.
func TestTestCommandMockConfig(t *testing.T) {
	code, out, _ := runCLI(t, "", "test", "--mock-config", "testdata/mock/MockConfigFile.json", "testdata/mock")
	if code != 0 || out != "2 passed, 0 failed\n" {
		t.Errorf("exit %d, %q", code, out)
	}
	code, out, _ = runCLI(t, "", "test", "testdata/mock/retry.json")
	if code != 1 || !strings.Contains(out, `names mock test case "RetryPath": give the mock configuration with --mock-config`) {
		t.Errorf("without --mock-config: exit %d, %q", code, out)
	}
	bad := t.TempDir() + "/MockConfigFile.json"
	writeFile(t, bad, `{"StateMachines":{"Greeter":{"TestCases":{"HappyPath":{"LookUp":"LookUpAd"}}}},"MockedResponses":{"LookUpAda":{"0":{"Return":1}}}}`)
	code, _, errOut := runCLI(t, "", "test", "--mock-config", bad, "testdata/mock")
	if code != 2 || !strings.Contains(errOut, `/StateMachines/Greeter/TestCases/HappyPath/LookUp: no mocked response named "LookUpAd" under MockedResponses (did you mean "LookUpAda"?)`) {
		t.Errorf("bad mock configuration: exit %d, %q", code, errOut)
	}
}

func TestUsage(t *testing.T) {
	if code, _, errOut := runCLI(t, "", "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("exit %d, %q", code, errOut)
	}
	if code, out, _ := runCLI(t, "", "version"); code != 0 || !strings.HasPrefix(out, "express ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

// TestRunResourcesAsServe: run takes every target kind serve has, parsed
// by the same code (a Lambda ARN mapped to a URL is called over HTTP); a
// Task with no target is an error naming it, not a silent Catch; kafka:
// targets are refused with what to do instead.
func TestRunResourcesAsServe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"site":"plant-9","threshold":30}`))
	}))
	defer srv.Close()
	const def = "../../kafka/testdata/iot-reference.asl.json"
	const arn = "arn:aws:lambda:eu-west-1:123456789012:function:enrich-device"
	reading := `{"deviceId":"dev-42","ts":"2026-11-22T10:00:00Z","type":"temperature","value":21.7,"unit":"C","battery":0.87,"tags":["roof","north"]}`
	code, out, errOut := runCLI(t, "", "run", def, "--input", reading, "--resource", arn+"="+srv.URL+"/enrich")
	if code != 0 || !strings.Contains(out, `"site":"plant-9"`) {
		t.Fatalf("URL target: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "", "run", def, "--input", reading)
	if code != 1 || !strings.Contains(errOut, `no target is configured for "`+arn+`"`) {
		t.Fatalf("no target: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "", "run", def, "--input", reading, "--resource", arn+"=kafka:enrich")
	if code != 2 || !strings.Contains(errOut, "kafka: targets need a broker") {
		t.Fatalf("kafka target: exit %d, stderr %q", code, errOut)
	}
}
