package kafka

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/testutil"
)

// jsonLines returns the JSON lines written to b so far.
func jsonLines(t *testing.T, b *testutil.SyncBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, ln := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if ln == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(ln), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", ln, err)
		}
		out = append(out, m)
	}
	return out
}

// logHarness runs executions the way a Processor's worker does, without
// Kafka: a slot per record, ExecutionLog.begin and end around Execute.
type logHarness struct {
	p      *Processor
	stateN map[string]int // StateExit calls seen by the base hooks
	mu     sync.Mutex
}

func newLogHarness(t *testing.T, l *ExecutionLog) *logHarness {
	t.Helper()
	h := &logHarness{stateN: map[string]int{}}
	base := express.Hooks{StateExit: func(_ *express.Workflow, state, _ string, _ time.Duration, _ *express.Error) {
		h.mu.Lock()
		h.stateN[state]++
		h.mu.Unlock()
	}}
	inv := express.InvokerFunc(func(_ context.Context, req *express.TaskRequest) (any, error) {
		if m, _ := req.Input.(map[string]any); m["fail"] == true {
			return nil, express.NewError("Test.Boom", "asked to fail")
		}
		return map[string]any{"ok": true}, nil
	})
	wf, err := compile.Compile([]byte(`{"StartAt":"Prep","States":{
		"Prep":{"Type":"Pass","Next":"Call"},
		"Call":{"Type":"Task","Resource":"arn:test","ResultPath":"$.r","Next":"Done"},
		"Done":{"Type":"Succeed"}}}`), compile.Options{Name: "wf", Invoker: inv, Hooks: base})
	if err != nil {
		t.Fatal(err)
	}
	h.p = &Processor{o: Options{Workflow: wf, ExecutionLog: l, Hooks: base}, wf: wf}
	return h
}

func (h *logHarness) run(offset int64, input map[string]any) express.Result {
	b, _ := json.Marshal(input)
	s := &slot{p: h.p, rec: &kgo.Record{Topic: "in", Partition: 2, Offset: offset, Value: b}, name: "exec-" + string(rune('a'+offset))}
	var res express.Result
	for range 2 { // the second run reuses the slot's workflow copy
		wf := h.p.o.ExecutionLog.begin(s)
		res = wf.Execute(context.Background(), input, express.ExecOptions{Name: s.name})
		h.p.o.ExecutionLog.end(s, &res)
	}
	return res
}

func TestParseLogLevel(t *testing.T) {
	for _, s := range []string{"ALL", "error", "Fatal", "OFF"} {
		l, err := ParseLogLevel(s)
		if err != nil || l.String() != strings.ToUpper(s) {
			t.Errorf("ParseLogLevel(%q) = %v, %v", s, l, err)
		}
	}
	if _, err := ParseLogLevel("info"); err == nil || !strings.Contains(err.Error(), "ALL, ERROR, FATAL, OFF") {
		t.Errorf("ParseLogLevel(info): %v", err)
	}
}

// TestExecutionLogLevels checks which lines each level writes and what a
// failed execution's line carries; base hooks still run.
func TestExecutionLogLevels(t *testing.T) {
	for _, tc := range []struct {
		level LogLevel
		types []string // of the success run, then the failure run (each twice)
	}{
		{LogOff, nil},
		{LogFatal, []string{"ExecutionFailed", "ExecutionFailed"}},
		{LogError, []string{"StateFailed", "ExecutionFailed", "StateFailed", "ExecutionFailed"}},
		{LogAll, []string{
			"ExecutionStarted", "StateEntered", "StateExited", "StateEntered", "StateExited", "StateEntered", "StateExited", "ExecutionSucceeded",
			"ExecutionStarted", "StateEntered", "StateExited", "StateEntered", "StateExited", "StateEntered", "StateExited", "ExecutionSucceeded",
			"ExecutionStarted", "StateEntered", "StateExited", "StateEntered", "StateFailed", "ExecutionFailed",
			"ExecutionStarted", "StateEntered", "StateExited", "StateEntered", "StateFailed", "ExecutionFailed"}},
	} {
		t.Run(tc.level.String(), func(t *testing.T) {
			var buf testutil.SyncBuffer
			reg := prometheus.NewRegistry()
			l, err := NewExecutionLog(slog.NewJSONHandler(&buf, nil), ExecutionLogOptions{Level: tc.level, IncludeData: true, Registerer: reg})
			if err != nil {
				t.Fatal(err)
			}
			h := newLogHarness(t, l)
			if r := h.run(7, map[string]any{"a": 1}); r.Status != express.Succeeded {
				t.Fatalf("%+v", r)
			}
			if r := h.run(8, map[string]any{"fail": true}); r.Status != express.Failed {
				t.Fatalf("%+v", r)
			}
			l.Close()
			lines := jsonLines(t, &buf)
			var types []string
			for _, ln := range lines {
				types = append(types, ln["type"].(string))
			}
			if strings.Join(types, " ") != strings.Join(tc.types, " ") {
				t.Fatalf("types:\n got %v\nwant %v", types, tc.types)
			}
			if h.stateN["Prep"] != 4 || h.stateN["Call"] != 4 || h.stateN["Done"] != 2 {
				t.Errorf("base hooks: %v", h.stateN)
			}
			if l.Written() != int64(len(lines)) || l.Dropped() != 0 {
				t.Errorf("written %d dropped %d, %d lines", l.Written(), l.Dropped(), len(lines))
			}
			for _, ln := range lines {
				switch ln["type"] {
				case "ExecutionFailed":
					want := map[string]any{"level": "ERROR", "msg": "execution failed", "workflow": "wf", "execution": "exec-i",
						"topic": "in", "partition": 2.0, "offset": 8.0, "state": "Call", "error": "Test.Boom", "cause": "asked to fail"}
					for k, v := range want {
						if ln[k] != v {
							t.Errorf("%s = %v, want %v in %v", k, ln[k], v, ln)
						}
					}
					if in, _ := ln["input"].(map[string]any); in["fail"] != true {
						t.Errorf("input: %v", ln)
					}
				case "ExecutionSucceeded":
					if out, _ := ln["output"].(map[string]any); out["r"] == nil || ln["duration_ms"] == nil {
						t.Errorf("succeeded: %v", ln)
					}
				case "StateFailed":
					if ln["state"] != "Call" || ln["state_type"] != "Task" || ln["error"] != "Test.Boom" {
						t.Errorf("state failed: %v", ln)
					}
				}
			}
			if tc.level != LogOff {
				if got := counterValue(t, reg, "express_log_lines_total", "error"); got != 2 {
					t.Errorf("express_log_lines_total{level=error} = %v", got)
				}
			}
		})
	}
}

// counterValue returns the value of the counter name whose label has
// value.
func counterValue(t *testing.T, reg *prometheus.Registry, name, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("%s{%s} not found", name, value)
	return 0
}

// TestExecutionLogSampling: beyond MaxPerSecond failures are dropped and
// counted; at ALL, whole executions are sampled.
func TestExecutionLogSampling(t *testing.T) {
	var buf testutil.SyncBuffer
	l, err := NewExecutionLog(slog.NewJSONHandler(&buf, nil), ExecutionLogOptions{Level: LogFatal, MaxPerSecond: 3})
	if err != nil {
		t.Fatal(err)
	}
	h := newLogHarness(t, l)
	start := time.Now()
	for i := range 10 {
		h.run(int64(i), map[string]any{"fail": true}) // two executions each
	}
	l.Close()
	if time.Since(start) > 900*time.Millisecond {
		t.Skip("too slow to stay within one second")
	}
	// 20 failures within (at most) two wall-clock seconds: 3 to 6 lines.
	if n := len(jsonLines(t, &buf)); n < 3 || n > 6 || l.Dropped() != int64(20-n) {
		t.Fatalf("%d lines, %d dropped", n, l.Dropped())
	}
}

// TestExecutionLogNeverBlocks: with a writer that blocks, executions go on
// and the lines that do not fit the queue are dropped.
func TestExecutionLogNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	w := writerFunc(func(p []byte) (int, error) { <-release; return len(p), nil })
	l, err := NewExecutionLog(slog.NewJSONHandler(w, nil), ExecutionLogOptions{Level: LogAll, MaxPerSecond: -1, QueueSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	h := newLogHarness(t, l)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 50 {
			h.run(int64(i), map[string]any{"a": i})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("executions blocked on the log writer")
	}
	close(release)
	l.Close()
	if l.Dropped() == 0 || l.Written()+l.Dropped() != 50*2*8 {
		t.Fatalf("written %d dropped %d", l.Written(), l.Dropped())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestExecutionLogCauseIsData: without IncludeData no line carries a
// failure's cause (causes quote record data), only its length; with it,
// the cause is logged whole.
func TestExecutionLogCauseIsData(t *testing.T) {
	const secret = "4111-1111-1111-1111"
	wf, err := compile.Compile([]byte(`{"StartAt":"Call","States":{
		"Call":{"Type":"Task","Resource":"arn:test","Catch":[{"ErrorEquals":["States.TaskFailed"],"ResultPath":"$.error","Next":"Use"}],"Next":"Use"},
		"Use":{"Type":"Pass","Parameters":{"n.$":"$.missing"},"End":true}}}`), compile.Options{Name: "wf",
		Invoker: express.InvokerFunc(func(_ context.Context, req *express.TaskRequest) (any, error) {
			m, _ := req.Input.(map[string]any)
			return nil, express.NewError(express.ErrTaskFailed, "card "+m["card"].(string)+" declined")
		})})
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range []bool{false, true} {
		var buf testutil.SyncBuffer
		l, err := NewExecutionLog(slog.NewJSONHandler(&buf, nil), ExecutionLogOptions{Level: LogAll, IncludeData: data})
		if err != nil {
			t.Fatal(err)
		}
		h := &logHarness{p: &Processor{o: Options{Workflow: wf, ExecutionLog: l}, wf: wf}}
		if r := h.run(3, map[string]any{"card": secret}); r.Status != express.Failed || !strings.Contains(r.Cause, secret) {
			t.Fatalf("%+v", r)
		}
		l.Close()
		failures := 0
		for _, ln := range jsonLines(t, &buf) {
			if ln["error"] == nil {
				continue
			}
			failures++
			cause, hasCause := ln["cause"].(string)
			n, hasLen := ln["cause_length"].(float64)
			switch {
			case !data && (hasCause || !hasLen || n < float64(len(secret))):
				t.Errorf("without IncludeData: %v", ln)
			case data && (!hasCause || hasLen || !strings.Contains(cause, secret)):
				t.Errorf("with IncludeData: %v", ln)
			}
		}
		if failures != 4 { // StateFailed and ExecutionFailed of Use (Call's error is caught), twice
			t.Errorf("IncludeData %v: %d failure lines", data, failures)
		}
		if got := strings.Contains(buf.String(), secret); got != data {
			t.Errorf("IncludeData %v: the record's data is in the log: %v\n%s", data, got, buf.String())
		}
	}
}
