package console

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
)

const routeDef = `{"StartAt":"In","States":{
	"In":{"Type":"Pass","Next":"Route"},
	"Route":{"Type":"Choice","Choices":[{"Variable":"$.ok","BooleanEquals":true,"Next":"Good"}],"Default":"Bad"},
	"Good":{"Type":"Succeed"},
	"Bad":{"Type":"Fail","Error":"Input.Bad","Cause":"not ok"}}}`

func run(t *testing.T, wf *express.Workflow, w *Workflow, input map[string]any) express.Result {
	t.Helper()
	h := w.Sample()
	res := wf.Execute(context.Background(), input, express.ExecOptions{History: h})
	w.Executed(&kgo.Record{Topic: "in", Partition: 1, Offset: 7}, &res, h)
	return res
}

// TestRecorder: transitions are counted per edge by the hook, histories
// are recorded for at most SamplePerSecond executions a second, failed
// sampled executions keep their path and events (without data unless
// ExecutionData), every failure its error and cause.
func TestRecorder(t *testing.T) {
	for _, data := range []bool{false, true} {
		c := New(Options{SamplePerSecond: 3, ExecutionData: data})
		w := c.Workflow("route")
		if err := w.SetDefinition([]byte(routeDef)); err != nil {
			t.Fatal(err)
		}
		wf, err := compile.Compile([]byte(routeDef), compile.Options{Name: "route", Hooks: w.Hooks(express.Hooks{})})
		if err != nil {
			t.Fatal(err)
		}
		for range 4 {
			run(t, wf, w, map[string]any{"ok": true})
		}
		if w.Sample() != nil {
			t.Fatal("more samples than the budget")
		}
		c.Tick(time.Now()) // refills
		for range 2 {
			if res := run(t, wf, w, map[string]any{"ok": false}); res.Status != express.Failed {
				t.Fatalf("status %s", res.Status)
			}
		}
		run(t, wf, w, map[string]any{"ok": false}) // sampled: the third of this second
		run(t, wf, w, map[string]any{"ok": false}) // not sampled
		c.Tick(time.Now())
		s := w.Stats()
		counts := map[string]int64{}
		for _, e := range s.Edges {
			counts[e.From+">"+e.To] = e.Count
		}
		if counts["In>Route"] != 8 || counts["Route>Good"] != 4 || counts["Route>Bad"] != 4 || len(counts) != 3 {
			t.Errorf("edges %v", counts)
		}
		if len(s.Failures) != 4 || s.Failures[0].Error != "Input.Bad" || s.Failures[0].Cause != "not ok" || s.Failures[0].Offset != 7 {
			t.Errorf("failures %+v", s.Failures)
		}
		if len(s.Failed) != 3 {
			t.Fatalf("%d sampled failed executions", len(s.Failed))
		}
		f := s.Failed[0]
		if strings.Join(f.Path, ">") != "In>Route>Bad" || f.State != "Bad" || len(f.Events) != 7 {
			t.Errorf("failed execution %+v", f)
		}
		all := ""
		for _, e := range f.Events {
			all += string(e)
		}
		for _, ev := range []string{"ExecutionStarted", "PassStateEntered", "ChoiceStateExited", "FailStateEntered", "ExecutionFailed", "not ok"} {
			if !strings.Contains(all, ev) {
				t.Errorf("events lack %s: %s", ev, all)
			}
		}
		if hasInput := strings.Contains(all, `"input"`); hasInput != data || (f.Input != nil) != data {
			t.Errorf("data %v: input in events %v, input %v", data, hasInput, f.Input)
		}
		if st := s.States["In"]; st == nil || st.Samples != 6 || st.P99 < st.P50 {
			t.Errorf("durations of In: %+v", st)
		}
	}
}

func TestDeadLetters(t *testing.T) {
	for _, data := range []bool{false, true} {
		c := New(Options{ExecutionData: data})
		w := c.Workflow("x")
		for i := range DeadLettersKept + 5 {
			w.DeadLettered(&kgo.Record{Topic: "dlq", Key: []byte{byte('a' + i)}, Value: []byte(strings.Repeat("v", maxShownValue+1)),
				Headers: []kgo.RecordHeader{{Key: "x-express-error", Value: []byte("E")}}})
		}
		s := w.Stats()
		if len(s.DeadLetters) != DeadLettersKept || s.DeadLetters[0].Key != string(rune('a'+DeadLettersKept+4)) || s.DeadLetters[0].Headers[0].Value != "E" {
			t.Fatalf("dead letters %+v", s.DeadLetters[0])
		}
		if v := s.DeadLetters[0].Value; (v != nil) != data || (data && (len(*v) != maxShownValue || !s.DeadLetters[0].Truncated)) {
			t.Errorf("data %v: value %v", data, v)
		}
	}
}

// TestTransitionKinds: Catch edges and the edges inside Map iterations
// and Parallel branches are counted too; a state that ends its machine or
// fails has no transition.
func TestTransitionKinds(t *testing.T) {
	def := `{"StartAt":"Each","States":{
		"Each":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","End":true}}},"ResultPath":null,"Next":"Both"},
		"Both":{"Type":"Parallel","Branches":[{"StartAt":"Boom","States":{"Boom":{"Type":"Fail","Error":"E"}}}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Recover"}],"End":true},
		"Recover":{"Type":"Succeed"}}}`
	c := New(Options{})
	w := c.Workflow("k")
	if err := w.SetDefinition([]byte(def)); err != nil {
		t.Fatal(err)
	}
	wf, err := compile.Compile([]byte(def), compile.Options{Name: "k", Hooks: w.Hooks(express.Hooks{})})
	if err != nil {
		t.Fatal(err)
	}
	if res := run(t, wf, w, map[string]any{"items": []any{1, 2, 3}}); res.Status != express.Succeeded {
		t.Fatalf("%+v", res)
	}
	c.Tick(time.Now())
	got := map[string]int64{}
	for _, e := range w.Stats().Edges {
		got[e.From+">"+e.To] = e.Count
	}
	want := map[string]int64{"A>B": 3, "Each>Both": 1, "Both>Recover": 1}
	if len(got) != len(want) {
		t.Errorf("edges %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("edge %s: %d, want %d", k, got[k], v)
		}
	}
}
