package express_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
)

func mustCompile(t *testing.T, def string, opts compile.Options) *express.Workflow {
	t.Helper()
	wf, err := compile.Compile([]byte(def), opts)
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

// blocking waits until its context is done.
var blocking = express.InvokerFunc(func(ctx context.Context, _ *express.TaskRequest) (any, error) {
	<-ctx.Done()
	return nil, ctx.Err()
})

func TestTaskTimeoutIsCatchable(t *testing.T) {
	wf := mustCompile(t, `{"StartAt":"T","States":{
		"T":{"Type":"Task","Resource":"r","TimeoutSeconds":1,"Catch":[{"ErrorEquals":["States.Timeout"],"Next":"C"}],"End":true},
		"C":{"Type":"Pass","End":true}}}`, compile.Options{Invoker: blocking})
	start := time.Now()
	res := wf.Execute(context.Background(), map[string]any{}, express.ExecOptions{})
	if res.Status != express.Succeeded {
		t.Fatalf("status %s: %s %s", res.Status, res.Error, res.Cause)
	}
	if out := res.Output.(map[string]any); out["Error"] != "States.Timeout" {
		t.Errorf("output %v", out)
	}
	if d := time.Since(start); d < time.Second || d > 5*time.Second {
		t.Errorf("took %v, want about 1s", d)
	}
}

func TestExecutionDeadlineEndsBlockingTask(t *testing.T) {
	m := &express.Machine{Blocking: true, States: []*express.State{{
		Name: "T", Type: "Task",
		Exec: func(s *express.Scope, in any) (any, int, error) {
			_, err := s.Invoke(&express.TaskRequest{Resource: "r", State: "T"})
			return nil, express.End, err
		},
		// States.ALL must not catch the execution's own time limit.
		Catch: []express.Catcher{{ErrorEquals: []string{"States.ALL"}, Next: express.End,
			Apply: func(*express.Scope, any, map[string]any) (any, error) { return "caught", nil }}},
	}}}
	wf := express.NewWorkflow(m, express.Options{Timeout: 100 * time.Millisecond, Invoker: blocking})
	res := wf.Execute(context.Background(), nil, express.ExecOptions{})
	if res.Status != express.TimedOut || res.Error != express.ErrTimeout {
		t.Fatalf("status %s error %q, want TIMED_OUT States.Timeout", res.Status, res.Error)
	}
}

func TestCancelAborts(t *testing.T) {
	wf := mustCompile(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true}}}`, compile.Options{Invoker: blocking})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	res := wf.Execute(ctx, nil, express.ExecOptions{})
	if res.Status != express.Aborted {
		t.Fatalf("status %s (%s %s), want ABORTED", res.Status, res.Error, res.Cause)
	}
}

func TestRealWaitSleeps(t *testing.T) {
	wf := mustCompile(t, `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"End":true}}}`, compile.Options{})
	start := time.Now()
	res := wf.Execute(context.Background(), map[string]any{}, express.ExecOptions{})
	if res.Status != express.Succeeded || time.Since(start) < time.Second {
		t.Fatalf("status %s after %v", res.Status, time.Since(start))
	}
}

func TestHooks(t *testing.T) {
	var mu sync.Mutex
	var states []string
	var starts, ends, tasks, retries atomic.Int32
	hooks := express.Hooks{
		ExecutionStart: func(*express.Workflow, string) { starts.Add(1) },
		ExecutionEnd:   func(_ *express.Workflow, r *express.Result) { ends.Add(1) },
		StateExit: func(_ *express.Workflow, state, typ string, _ time.Duration, err *express.Error) {
			mu.Lock()
			defer mu.Unlock()
			states = append(states, state+":"+typ)
		},
		TaskDone: func(*express.Workflow, string, string, time.Duration, *express.Error) { tasks.Add(1) },
		Retry:    func(*express.Workflow, string, *express.Error) { retries.Add(1) },
	}
	var calls atomic.Int32
	inv := express.InvokerFunc(func(context.Context, *express.TaskRequest) (any, error) {
		if calls.Add(1) == 1 {
			return nil, express.NewError("Flaky", "first call")
		}
		return 1, nil
	})
	wf := mustCompile(t, `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"T"},
		"T":{"Type":"Task","Resource":"r","Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":1}],"End":true}}}`,
		compile.Options{Invoker: inv, Hooks: hooks})
	res := wf.Execute(context.Background(), map[string]any{}, express.ExecOptions{Clock: express.NewVirtualClock(time.Unix(0, 0))})
	if res.Status != express.Succeeded {
		t.Fatal(res.Error, res.Cause)
	}
	if starts.Load() != 1 || ends.Load() != 1 || tasks.Load() != 2 || retries.Load() != 1 {
		t.Errorf("starts %d ends %d tasks %d retries %d", starts.Load(), ends.Load(), tasks.Load(), retries.Load())
	}
	if len(states) != 2 || states[0] != "A:Pass" || states[1] != "T:Task" {
		t.Errorf("states %v", states)
	}
}

func TestPanicInStateIsRuntimeError(t *testing.T) {
	m := &express.Machine{States: []*express.State{{Name: "P", Type: "Pass",
		Exec: func(*express.Scope, any) (any, int, error) { panic("boom") }}}}
	res := express.NewWorkflow(m, express.Options{}).Execute(context.Background(), nil, express.ExecOptions{})
	if res.Status != express.Failed || res.Error != express.ErrRuntime {
		t.Fatalf("got %s %s", res.Status, res.Error)
	}
}

func TestErrorMatching(t *testing.T) {
	cases := []struct {
		name  string
		list  []string
		match bool
	}{
		{"Custom", []string{"Custom"}, true},
		{"Custom", []string{"States.ALL"}, true},
		{"Custom", []string{"States.TaskFailed"}, true},
		{"States.Timeout", []string{"States.TaskFailed"}, false},
		{"States.Timeout", []string{"States.ALL"}, true},
		{"States.DataLimitExceeded", []string{"States.ALL"}, false},
		{"States.DataLimitExceeded", []string{"States.DataLimitExceeded"}, true},
		{"States.Runtime", []string{"States.Runtime"}, false},
		{"States.Runtime", []string{"States.ALL"}, false},
	}
	for _, tc := range cases {
		if got := express.NewError(tc.name, "").Matches(tc.list); got != tc.match {
			t.Errorf("%s vs %v: %v, want %v", tc.name, tc.list, got, tc.match)
		}
	}
	if e := express.AsError(errors.New("plain")); e.Name != express.ErrTaskFailed || e.Cause != "plain" {
		t.Errorf("AsError: %+v", e)
	}
}

func TestRetryDelay(t *testing.T) {
	r := express.Retrier{Interval: time.Second, BackoffRate: 2, MaxDelay: 5 * time.Second}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if got := r.Delay(i, nil); got != w {
			t.Errorf("attempt %d: %v, want %v", i, got, w)
		}
	}
	r.FullJitter = true
	if got := r.Delay(2, func() float64 { return 0.5 }); got != 2*time.Second {
		t.Errorf("full jitter: %v", got)
	}
}

func TestDataLimit(t *testing.T) {
	big := make([]byte, express.MaxPayloadBytes)
	for i := range big {
		big[i] = 'a'
	}
	wf := mustCompile(t, `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`, compile.Options{})
	res := wf.Execute(context.Background(), map[string]any{"s": string(big)}, express.ExecOptions{})
	if res.Status != express.Failed || res.Error != express.ErrDataLimitExceeded {
		t.Fatalf("oversized input: %s %s", res.Status, res.Error)
	}
	// Just under the limit passes; escapes count (a quote becomes \").
	res = wf.Execute(context.Background(), map[string]any{"s": string(big[:express.MaxPayloadBytes-10])}, express.ExecOptions{})
	if res.Status != express.Succeeded {
		t.Fatalf("input under the limit: %s %s", res.Status, res.Cause)
	}
	quotes := make([]byte, express.MaxPayloadBytes/2)
	for i := range quotes {
		quotes[i] = '"'
	}
	res = wf.Execute(context.Background(), map[string]any{"s": string(quotes)}, express.ExecOptions{})
	if res.Status != express.Failed {
		t.Fatalf("escaped input over the limit: %s", res.Status)
	}
}

func TestResultStateAndStateDone(t *testing.T) {
	var done []string
	wf := mustCompile(t, `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"P"},
		"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E"}}}]}}}`,
		compile.Options{Hooks: express.Hooks{StateDone: func(_ *express.Workflow, st *express.State, err *express.Error) {
			done = append(done, st.Name)
		}}})
	res := wf.Execute(context.Background(), map[string]any{}, express.ExecOptions{})
	if res.Status != express.Failed || res.Error != "E" || res.State != "P" {
		t.Fatalf("status %s error %q state %q", res.Status, res.Error, res.State)
	}
	if len(done) != 3 || done[0] != "A" || done[1] != "F" || done[2] != "P" {
		t.Errorf("StateDone calls %v", done)
	}
}

// TestStateDoneErrors: StateDone gets the error a state ended with, also
// when a Catcher caught it, and none for a state that succeeded on a
// retry.
func TestStateDoneErrors(t *testing.T) {
	var got []string
	attempts := 0
	wf := mustCompile(t, `{"StartAt":"T","States":{
		"T":{"Type":"Task","Resource":"flaky","Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":1,"MaxAttempts":1}],"Next":"C"},
		"C":{"Type":"Task","Resource":"broken","Catch":[{"ErrorEquals":["States.ALL"],"Next":"Done"}],"End":true},
		"Done":{"Type":"Succeed"}}}`,
		compile.Options{Hooks: express.Hooks{StateDone: func(_ *express.Workflow, st *express.State, err *express.Error) {
			e := "-"
			if err != nil {
				e = err.Name
			}
			got = append(got, st.Name+":"+e)
		}}, Invoker: express.InvokerFunc(func(_ context.Context, req *express.TaskRequest) (any, error) {
			if req.Resource == "broken" {
				return nil, express.NewError("Broken", "always")
			}
			if attempts++; attempts == 1 {
				return nil, express.NewError("Flaky", "first time")
			}
			return map[string]any{}, nil
		})})
	res := wf.Execute(context.Background(), map[string]any{}, express.ExecOptions{Clock: express.NewVirtualClock(time.Unix(0, 0))})
	if res.Status != express.Succeeded {
		t.Fatalf("status %s %s %s", res.Status, res.Error, res.Cause)
	}
	if want := []string{"T:-", "C:Broken", "Done:-"}; !slices.Equal(got, want) {
		t.Errorf("StateDone calls %v, want %v", got, want)
	}
}

// TestAsErrorNoAllocation: the engine's own errors are returned as they are,
// without errors.As (whose target escapes): a failed execution calls
// AsError several times. Wrapped errors are still found.
func TestAsErrorNoAllocation(t *testing.T) {
	e := express.NewError("Test.Fail", "cause")
	if n := testing.AllocsPerRun(100, func() {
		if express.AsError(e) != e {
			t.Fatal("not the same error")
		}
	}); n != 0 {
		t.Errorf("express.AsError(*Error) allocates %v times", n)
	}
	if got := express.AsError(fmt.Errorf("wrapped: %w", e)); got != e {
		t.Errorf("wrapped: got %v", got)
	}
	if got := express.AsError(errors.New("plain")); got.Name != express.ErrTaskFailed || got.Cause != "plain" {
		t.Errorf("plain error: got %+v", got)
	}
}
