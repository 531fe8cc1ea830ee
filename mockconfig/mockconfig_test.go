package mockconfig

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// The example of AWS's page on the mock configuration file, as it is.
func TestAWSExample(t *testing.T) {
	f, err := Load("testdata/MockConfigFile.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.TestCase("LambdaSQSIntegration", "RetryPath")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.States(), ","); got != "LambdaState,SQSState" {
		t.Fatalf("states %s", got)
	}
	inv := m.Invoker(nil)
	want := []string{"Lambda.ResourceNotReadyException", "Lambda.TimeoutException", "Lambda.TimeoutException", "", ""}
	for i, w := range want {
		res, err := inv.Invoke(context.Background(), &express.TaskRequest{State: "LambdaState"})
		var e *express.Error
		switch {
		case w == "" && err != nil:
			t.Fatalf("call %d: %v", i, err)
		case w == "" && jsonv.Marshal(res) != `{"Payload":{"StatusCode":200,"body":"Hello from Lambda!"},"StatusCode":200}`:
			t.Fatalf("call %d: %s", i, jsonv.Marshal(res))
		case w != "" && (!errors.As(err, &e) || e.Name != w):
			t.Fatalf("call %d: %v, want %s", i, err, w)
		}
	}
	// Counts are per invoker (per execution).
	if _, err := m.Invoker(nil).Invoke(context.Background(), &express.TaskRequest{State: "LambdaState"}); err == nil {
		t.Fatal("a new execution starts again at invocation 0")
	}
	// An unmocked state goes to the next invoker, or fails naming itself.
	hm, _ := f.TestCase("LambdaSQSIntegration", "HybridPath")
	_, err = hm.Invoker(nil).Invoke(context.Background(), &express.TaskRequest{State: "SQSState"})
	if err == nil || !strings.Contains(err.Error(), `"SQSState" has no mock in test case "HybridPath"`) {
		t.Fatalf("unmocked: %v", err)
	}
	next := express.InvokerFunc(func(context.Context, *express.TaskRequest) (any, error) { return "real", nil })
	if res, err := hm.Invoker(next).Invoke(context.Background(), &express.TaskRequest{State: "SQSState"}); err != nil || res != "real" {
		t.Fatalf("fallback: %v %v", res, err)
	}
	if _, err := f.TestCase("LambdaSQSIntegration", "HapyPath"); err == nil || !strings.Contains(err.Error(), `did you mean "HappyPath"`) {
		t.Fatalf("unknown test case: %v", err)
	}
	if _, err := f.TestCase("Nope", "HappyPath"); err == nil || !strings.Contains(err.Error(), `no state machine named "Nope"`) {
		t.Fatalf("unknown state machine: %v", err)
	}
}

// A whole execution: the Retry consumes invocations 0..2, the 4th call
// succeeds, in a Map whose iterations share the counts.
func TestExecution(t *testing.T) {
	f, err := Load("testdata/MockConfigFile.json")
	if err != nil {
		t.Fatal(err)
	}
	wf, err := compile.Compile([]byte(`{"StartAt":"LambdaState","States":{
	  "LambdaState":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f"},
	    "Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":3,"IntervalSeconds":1}],
	    "ResultSelector":{"body.$":"$.Payload.body"},"Next":"SQSState"},
	  "SQSState":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","Parameters":{"QueueUrl":"q","MessageBody":"m"},"ResultPath":"$.sqs","End":true}}}`), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run := func(tc string) express.Result {
		m, err := f.TestCase("LambdaSQSIntegration", tc)
		if err != nil {
			t.Fatal(err)
		}
		return wf.Execute(context.Background(), map[string]any{}, express.ExecOptions{Invoker: m.Invoker(nil), Clock: express.NewVirtualClock(testStart)})
	}
	res := run("RetryPath")
	if res.Status != express.Succeeded || jsonv.Marshal(res.Output) != `{"body":"Hello from Lambda!","sqs":{"MD5OfMessageBody":"3bcb6e8e-7h85-4375-b0bc-1a59812c6e51","MessageId":"3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}}` {
		t.Fatalf("RetryPath: %s %s %s %s", res.Status, res.Error, res.Cause, jsonv.Marshal(res.Output))
	}
	res = run("HybridPath")
	if res.Status != express.Failed || res.Error != "States.TaskFailed" || !strings.Contains(res.Cause, "SQSState") {
		t.Fatalf("HybridPath: %s %s %s", res.Status, res.Error, res.Cause)
	}

	// Map iterations running at once share one count per state.
	m, _ := f.TestCase("LambdaSQSIntegration", "RetryPath")
	inv := m.Invoker(nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fails := 0
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := inv.Invoke(context.Background(), &express.TaskRequest{State: "LambdaState"}); err != nil {
				mu.Lock()
				fails++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if fails != 3 {
		t.Fatalf("%d calls failed, want the first 3", fails)
	}
}

func TestProblems(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`[]`, `/: a mock configuration must be a JSON object`},
		{`{"StateMachines":{},"MockedResponses":{},"Extra":1}`, `/Extra: unknown field`},
		{`{"MockedResponses":{}}`, `/: StateMachines is missing`},
		{`{"StateMachines":{"A":{"TestCases":{"T":{"S":"Nope"}}}},"MockedResponses":{"Nop":{"0":{"Return":1}}}}`, `/StateMachines/A/TestCases/T/S: no mocked response named "Nope" under MockedResponses (did you mean "Nop"?)`},
		{`{"StateMachines":{"A":{"TestCases":{"T":{"S":3}}}},"MockedResponses":{}}`, `/StateMachines/A/TestCases/T/S: must be the name of a mocked response`},
		{`{"StateMachines":{"A":{"Tests":{}}},"MockedResponses":{}}`, `/StateMachines/A/Tests: unknown field`},
		{`{"StateMachines":{},"MockedResponses":{"R":{"1":{"Return":1}}}}`, `/MockedResponses/R/1: invocations 0 to 0 are missing`},
		{`{"StateMachines":{},"MockedResponses":{"R":{"0-2":{"Return":1},"2":{"Return":1}}}}`, `/MockedResponses/R/2: invocation 2 is given twice`},
		{`{"StateMachines":{},"MockedResponses":{"R":{"x":{"Return":1}}}}`, `/MockedResponses/R/x: an invocation key is a number`},
		{`{"StateMachines":{},"MockedResponses":{"R":{"2-1":{"Return":1}}}}`, `/MockedResponses/R/2-1: an invocation key`},
		{`{"StateMachines":{},"MockedResponses":{"R":{"01":{"Return":1}}}}`, `/MockedResponses/R/01: an invocation key`},
		{`{"StateMachines":{},"MockedResponses":{"R":{"0":{"Return":1,"Throw":{"Error":"E"}}}}}`, `/MockedResponses/R/0: has both Return and Throw`},
		{`{"StateMachines":{},"MockedResponses":{"R":{"0":{}}}}`, `/MockedResponses/R/0: needs Return or Throw`},
		{`{"StateMachines":{},"MockedResponses":{"R":{"0":{"Throw":{"Cause":"c"}}}}}`, `/MockedResponses/R/0/Throw/Error: must be a string`},
		{`{"StateMachines":{},"MockedResponses":{"a/b":{}}}`, `/MockedResponses/a~1b: must be an object of invocation numbers`},
		{`not json`, `not valid JSON`},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %s", tc.in, err, tc.want)
		}
	}
	if _, err := Parse([]byte(`{"StateMachines":{"A":{"TestCases":{}}},"MockedResponses":{"R":{"0-1":{"Return":null},"2":{"Throw":{"Error":"E"}}}}}`)); err != nil {
		t.Fatal(err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"StateMachines":{"A":{"TestCases":{"T":{"S":"R"}}}},"MockedResponses":{"R":{"0":{"Return":1},"1-3":{"Throw":{"Error":"E","Cause":"c"}}}}}`))
	f.Add([]byte(`{"MockedResponses":{"R":{"9-":{}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := Parse(b)
		if err != nil {
			return
		}
		for sm, m := range cfg.StateMachines {
			for tc := range m.TestCases {
				ms, err := cfg.TestCase(sm, tc)
				if err != nil {
					t.Fatal(err)
				}
				for _, st := range ms.States() {
					ms.Invoker(nil).Invoke(context.Background(), &express.TaskRequest{State: st})
				}
			}
		}
	})
}

var testStart = mustTime("2026-01-01T00:00:00Z")
