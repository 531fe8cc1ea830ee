package compile

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	v, err := jsonv.Parse([]byte(s))
	if err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

// TestValidationProblems checks that each broken definition is rejected with
// a problem at the expected JSON pointer, and that all problems are reported.
func TestValidationProblems(t *testing.T) {
	cases := []struct {
		name string
		def  string
		want []string // "pointer: substring of message"
	}{
		{"not an object", `[]`, []string{"/: a definition must be a JSON object"}},
		{"missing StartAt and States", `{}`, []string{"/: StartAt is missing", "/: States is missing"}},
		{"StartAt unknown with suggestion", `{"StartAt":"Strat","States":{"Start":{"Type":"Pass","End":true}}}`,
			[]string{`/StartAt: no state named "Strat" (did you mean "Start"?)`}},
		{"Next target missing", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Alrt"},"Alert":{"Type":"Succeed"}}}`,
			[]string{`/States/A/Next: no state named "Alrt" (did you mean "Alert"?)`}},
		{"choice next missing", `{"StartAt":"Route","States":{"Route":{"Type":"Choice","Choices":[
			{"Variable":"$.a","IsPresent":true,"Next":"X"},
			{"Variable":"$.a","IsNull":true,"Next":"X"},
			{"Variable":"$.a","IsString":true,"Next":"Alrt"}],"Default":"X"},"X":{"Type":"Succeed"}}}`,
			[]string{`/States/Route/Choices/2/Next: no state named "Alrt"`}},
		{"End and Next", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B","End":true},"B":{"Type":"Succeed"}}}`,
			[]string{"/States/A: a state cannot have both Next and End"}},
		{"no transition", `{"StartAt":"A","States":{"A":{"Type":"Pass"}}}`,
			[]string{`/States/A: the state needs either "Next"`}},
		{"unreachable", `{"StartAt":"A","States":{"A":{"Type":"Succeed"},"B":{"Type":"Succeed"}}}`,
			[]string{`/States/B: state "B" is unreachable`}},
		{"unknown type", `{"StartAt":"A","States":{"A":{"Type":"Pas","End":true}}}`,
			[]string{`/States/A/Type: unknown state type "Pas"`}},
		{"unknown field", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"ResultPth":"$.x"}}}`,
			[]string{`/States/A/ResultPth: unknown field "ResultPth" (did you mean "ResultPath"?)`}},
		{"bad jsonpath", `{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"a.b","End":true}}}`,
			[]string{"/States/A/InputPath: "}},
		{"bad parameters path", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"nope"},"End":true}}}`,
			[]string{"/States/A/Parameters/x.$: "}},
		{"bad intrinsic", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"States.Nope($.a)"},"End":true}}}`,
			[]string{"/States/A/Parameters/x.$: invalid intrinsic"}},
		{"retry ALL not last", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","End":true,
			"Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["X"]}]}}}`,
			[]string{"/States/T/Retry/0/ErrorEquals/0: the States.ALL entry must be the last one"}},
		{"retry bad types", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","End":true,
			"Retry":[{"ErrorEquals":["X"],"MaxAttempts":-1,"BackoffRate":0.5,"JitterStrategy":"SOME"}]}}}`,
			[]string{"/States/T/Retry/0/MaxAttempts: ", "/States/T/Retry/0/BackoffRate: ", "/States/T/Retry/0/JitterStrategy: "}},
		{"catch without next", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","End":true,
			"Catch":[{"ErrorEquals":["X"]}]}}}`,
			[]string{"/States/T/Catch/0: a catcher needs Next"}},
		{"task needs resource", `{"StartAt":"T","States":{"T":{"Type":"Task","End":true}}}`,
			[]string{"/States/T: a Task needs a Resource"}},
		{"sync rejected", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::glue:startJobRun.sync","End":true}}}`,
			[]string{"/States/T/Resource: the .sync integration pattern"}},
		{"token rejected", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken","End":true}}}`,
			[]string{"/States/T/Resource: the .waitForTaskToken pattern"}},
		{"activity rejected", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:us-east-1:1:activity:a","End":true}}}`,
			[]string{"/States/T/Resource: activities"}},
		{"item batcher needs a limit", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemBatcher":{},
			"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}}`,
			[]string{"/States/M/ItemBatcher: ItemBatcher needs MaxItemsPerBatch"}},
		{"item reader rejected", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemReader":{},
			"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}}`,
			[]string{"/States/M/ItemReader: ItemReader reads or writes S3"}},
		{"wait needs one field", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"SecondsPath":"$.s","End":true}}}`,
			[]string{"/States/W: a Wait state needs exactly one"}},
		{"wait bad timestamp", `{"StartAt":"W","States":{"W":{"Type":"Wait","Timestamp":"2016-13-05T21:29:29Z","End":true}}}`,
			[]string{"/States/W/Timestamp: "}},
		{"fail both error fields", `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E","ErrorPath":"$.e"}}}`,
			[]string{"/States/F: Error and ErrorPath cannot both be set"}},
		{"resultpath not reference", `{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$.a[*]","End":true}}}`,
			[]string{"/States/A/ResultPath: ResultPath must be a reference path"}},
		{"nested branch problem", `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nope"}}}]}}}`,
			[]string{`/States/P/Branches/0/States/A/Next: no state named "Nope"`}},
		{"map label", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"Label":"a b",
			"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}}`,
			[]string{"/States/M/Label: Label must not contain whitespace"}},
		{"assign bad name", `{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"1x":1},"End":true}}}`,
			[]string{`/States/A/Assign/1x: "1x" is not a valid variable name`}},
		{"language downgrade", `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","QueryLanguage":"JSONPath","End":true}}}`,
			[]string{"/States/A/QueryLanguage: a state cannot use JSONPath"}},
		{"unknown integration", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:query","End":true}}}`,
			[]string{`/States/T/Resource: unknown service integration "dynamodb:query"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile([]byte(tc.def), Options{})
			probs, ok := err.(diag.Problems)
			if !ok {
				t.Fatalf("got %v (%T), want problems", err, err)
			}
			text := probs.Error()
			for _, w := range tc.want {
				if !strings.Contains("\n"+text, "\n"+w) && !strings.Contains(text, w) {
					t.Errorf("missing problem %q in:\n%s", w, text)
				}
			}
		})
	}
}

func TestYAMLDefinition(t *testing.T) {
	def := "StartAt: A\nStates:\n  A:\n    Type: Pass\n    Result: {n: 3}\n    End: true\n"
	wf, err := Compile([]byte(def), Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := wf.Execute(context.Background(), map[string]any{}, express.ExecOptions{})
	if res.Status != express.Succeeded || !jsonv.Equal(res.Output, map[string]any{"n": int64(3)}) {
		t.Fatalf("got %+v", res)
	}
}

// run compiles def and executes it with virtual time and the given task handler.
func run(t *testing.T, def string, input string, inv express.InvokerFunc) express.Result {
	t.Helper()
	wf, err := Compile([]byte(def), Options{Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	var iv express.Invoker
	if inv != nil {
		iv = inv
	}
	return wf.Execute(context.Background(), mustJSON(t, input), express.ExecOptions{
		Name: "e1", Invoker: iv, Clock: express.NewVirtualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
	})
}

// TestExecutions covers data flow, errors and limits end to end.
func TestExecutions(t *testing.T) {
	fail := func(name, cause string) express.InvokerFunc {
		return func(context.Context, *express.TaskRequest) (any, error) { return nil, express.NewError(name, cause) }
	}
	echo := express.InvokerFunc(func(_ context.Context, r *express.TaskRequest) (any, error) {
		return map[string]any{"got": r.Input, "exec": r.Execution}, nil
	})
	cases := []struct {
		name   string
		def    string
		input  string
		inv    express.InvokerFunc
		status express.Status
		output string
		errN   string
		cause  string
	}{
		{name: "pass result path merge", def: `{"StartAt":"A","States":{"A":{"Type":"Pass","Result":{"x":1},"ResultPath":"$.a.b","End":true}}}`,
			input: `{"k":1}`, status: express.Succeeded, output: `{"k":1,"a":{"b":{"x":1}}}`},
		{name: "result path null keeps input", def: `{"StartAt":"A","States":{"A":{"Type":"Pass","Result":1,"ResultPath":null,"End":true}}}`,
			input: `{"k":1}`, status: express.Succeeded, output: `{"k":1}`},
		{name: "input and output path", def: `{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"$.a","OutputPath":"$.b","End":true}}}`,
			input: `{"a":{"b":[1,2]}}`, status: express.Succeeded, output: `[1,2]`},
		{name: "task sees execution name", def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Parameters":{"v.$":"$.v"},"ResultSelector":{"e.$":"$.exec","g.$":"$.got.v"},"End":true}}}`,
			input: `{"v":5}`, inv: echo, status: express.Succeeded, output: `{"e":"e1","g":5}`},
		{name: "retry then succeed", def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Retry":[{"ErrorEquals":["Boom"],"MaxAttempts":2}],"ResultSelector":{"n.$":"$$.State.RetryCount"},"End":true}}}`,
			input: `{}`, inv: flaky(2), status: express.Succeeded, output: `{"n":2}`},
		{name: "retry exhausted", def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Retry":[{"ErrorEquals":["Boom"],"MaxAttempts":1}],"End":true}}}`,
			input: `{}`, inv: flaky(5), status: express.Failed, errN: "Boom"},
		{name: "catch result path", def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Catch":[{"ErrorEquals":["States.TaskFailed"],"ResultPath":"$.err","Next":"D"}],"End":true},"D":{"Type":"Succeed"}}}`,
			input: `{"a":1}`, inv: fail("Custom", "why"), status: express.Succeeded, output: `{"a":1,"err":{"Error":"Custom","Cause":"why"}}`},
		{name: "task failed does not catch timeout", def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Catch":[{"ErrorEquals":["States.TaskFailed"],"Next":"D"}],"End":true},"D":{"Type":"Succeed"}}}`,
			input: `{}`, inv: fail("States.Timeout", ""), status: express.Failed, errN: "States.Timeout"},
		{name: "runtime not caught by ALL", def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","OutputPath":"$.nope","Catch":[{"ErrorEquals":["States.ALL"],"Next":"D"}],"End":true},"D":{"Type":"Succeed"}}}`,
			input: `{}`, inv: echo, status: express.Failed, errN: "States.Runtime",
			cause: "An error occurred while executing the state 'T' (entered at the event id #2). Invalid path '$.nope' : No results for path: $['nope']"},
		{name: "choice no match", def: `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","NumericEquals":1,"Next":"D"}]},"D":{"Type":"Succeed"}}}`,
			input: `{"a":2}`, status: express.Failed, errN: "States.Runtime"},
		{name: "execution timeout", def: `{"TimeoutSeconds":5,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":10,"End":true}}}`,
			input: `{}`, status: express.TimedOut, errN: "States.Timeout"},
		{name: "wait under timeout", def: `{"TimeoutSeconds":50,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":10,"End":true}}}`,
			input: `{"a":1}`, status: express.Succeeded, output: `{"a":1}`},
		{name: "five minute cap", def: `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":301,"End":true}}}`,
			input: `{}`, status: express.TimedOut},
		{name: "infinite loop ends at cap", def: `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"Next":"W"}}}`,
			input: `{}`, status: express.TimedOut},
		{name: "parallel order", def: `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
			{"StartAt":"A","States":{"A":{"Type":"Pass","Result":1,"End":true}}},
			{"StartAt":"B","States":{"B":{"Type":"Wait","Seconds":1,"Next":"B2"},"B2":{"Type":"Pass","Result":2,"End":true}}}]}}}`,
			input: `{}`, status: express.Succeeded, output: `[1,2]`},
		{name: "map with context", def: `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.xs","ItemSelector":{"i.$":"$$.Map.Item.Index","v.$":"$$.Map.Item.Value","k.$":"$.k"},
			"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
			input: `{"xs":["a","b"],"k":7}`, status: express.Succeeded, output: `[{"i":0,"v":"a","k":7},{"i":1,"v":"b","k":7}]`},
		{name: "map concurrent with tasks keeps order", def: `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":3,
			"ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","ResultSelector":{"v.$":"$.got"},"End":true}}},"End":true}}}`,
			input: `[1,2,3,4,5,6,7]`, inv: echo, status: express.Succeeded, output: `[{"v":1},{"v":2},{"v":3},{"v":4},{"v":5},{"v":6},{"v":7}]`},
		{name: "variables scoped", def: `{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x":1},"Next":"M"},
			"M":{"Type":"Map","ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","Assign":{"y.$":"$x"},"Parameters":{"x.$":"$x"},"End":true}}},"ResultPath":"$.r","Next":"B"},
			"B":{"Type":"Pass","Parameters":{"y.$":"$y"},"End":true}}}`,
			input: `[1,2]`, status: express.Failed, errN: "States.Runtime"},
		{name: "data limit", def: `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":"$","b.$":"$"},"Next":"A"}}}`,
			input: `{"s":"0123456789012345678901234567890123456789"}`, status: express.Failed, errN: "States.DataLimitExceeded"},
		{name: "item batcher", def: `{"StartAt":"M","States":{"M":{"Type":"Map","ItemBatcher":{"MaxItemsPerBatch":2,"BatchInput":{"k.$":"$.k"}},"ItemsPath":"$.xs",
			"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
			input: `{"xs":[1,2,3],"k":"v"}`, status: express.Succeeded, output: `[{"Items":[1,2],"BatchInput":{"k":"v"}},{"Items":[3],"BatchInput":{"k":"v"}}]`},
		{name: "item batcher jsonata", def: `{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","Items":"{% $states.input.xs %}",
			"ItemBatcher":{"MaxItemsPerBatch":"{% 1 + 1 %}","BatchInput":{"k":"{% $states.input.k %}","lit":"x.$"}},
			"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
			input: `{"xs":[1,2,3],"k":"v"}`, status: express.Succeeded, output: `[{"Items":[1,2],"BatchInput":{"k":"v","lit":"x.$"}},{"Items":[3],"BatchInput":{"k":"v","lit":"x.$"}}]`},
		{name: "fail state", def: `{"StartAt":"F","States":{"F":{"Type":"Fail","ErrorPath":"$.e","CausePath":"States.Format('x={}', $.x)"}}}`,
			input: `{"e":"E1","x":3}`, status: express.Failed, errN: "E1", cause: "x=3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, tc.def, tc.input, tc.inv)
			if res.Status != tc.status {
				t.Fatalf("status %s (%s: %s), want %s", res.Status, res.Error, res.Cause, tc.status)
			}
			if tc.output != "" && !jsonv.Equal(res.Output, mustJSON(t, tc.output)) {
				t.Errorf("output %s, want %s", jsonv.Marshal(res.Output), tc.output)
			}
			if tc.errN != "" && res.Error != tc.errN {
				t.Errorf("error %q (%s), want %q", res.Error, res.Cause, tc.errN)
			}
			if tc.cause != "" && res.Cause != tc.cause {
				t.Errorf("cause %q, want %q", res.Cause, tc.cause)
			}
		})
	}
}

// flaky fails with Boom n times per execution, then succeeds.
func flaky(n int) express.InvokerFunc {
	var calls atomic.Int32
	return func(ctx context.Context, r *express.TaskRequest) (any, error) {
		if int(calls.Add(1)) <= n {
			return nil, express.NewError("Boom", "flaky")
		}
		return map[string]any{"ok": true}, nil
	}
}
