package express

import (
	"context"
	"fmt"
	"math"
)

// Statuses of a state tested alone (StateTest.Status), as the TestState API
// names them.
const (
	TestSucceeded   = "SUCCEEDED"
	TestFailed      = "FAILED"
	TestRetriable   = "RETRIABLE"
	TestCaughtError = "CAUGHT_ERROR"
)

// Inspection stages reported to StateTestOptions.Inspect, named as the
// fields of TestState's inspectionData.
const (
	StageInput               = "input"
	StageAfterInputPath      = "afterInputPath"
	StageAfterParameters     = "afterParameters"
	StageAfterArguments      = "afterArguments"
	StageResult              = "result"
	StageAfterResultSelector = "afterResultSelector"
	StageAfterResultPath     = "afterResultPath"
	StageAfterItemsPath      = "afterItemsPath"
	StageAfterItemSelector   = "afterItemSelector"
)

// StateTestOptions configure Workflow.TestState.
type StateTestOptions struct {
	// Invoker runs the state's Task resource (a mock, or the configured
	// resources); nil: the workflow's.
	Invoker Invoker
	// Vars are the variables the state sees (TestState's variables).
	Vars map[string]any
	// RetryCount is how many retries the state's matching Retrier has
	// already made (TestState's stateConfiguration.retrierRetryCount).
	RetryCount int
	// Inspect, when set, receives the state's data at each stage of its
	// data flow (the Stage* names) as the state's flow reaches it.
	Inspect func(stage string, v any)
	// Clock overrides the real clock.
	Clock Clock
}

// StateTest is the outcome of one state run alone.
type StateTest struct {
	// Status is TestSucceeded, TestFailed, TestRetriable or TestCaughtError.
	Status string
	// Output is the state's output (for a caught error, the Catcher's
	// output); HasOutput says whether there is one.
	Output    any
	HasOutput bool
	// Error and Cause are the failure's, when Status is not TestSucceeded.
	Error, Cause string
	// NextState is the state that would run next: the state's Next, the
	// Choice's branch, the Catcher's Next; "" at the end or on failure.
	NextState string
	// RetryIndex and CatchIndex are the matching Retrier's or Catcher's
	// index, -1 when none; RetryBackoffSeconds is the Retrier's interval
	// before the next attempt (without jitter).
	RetryIndex, CatchIndex int
	RetryBackoffSeconds    int64
	// Vars are the variables after the state (its Assign).
	Vars map[string]any
}

// TestState runs one top-level state of the workflow alone, with input, as
// the TestState API does: its data flow, its work (a Task calls
// o.Invoker), its Choice or Next, and for a failure its Retry (RETRIABLE
// while the first matching Retrier has attempts left after o.RetryCount)
// and Catch (CAUGHT_ERROR). It never sleeps for a Retry.
func (w *Workflow) TestState(ctx context.Context, state string, input any, o StateTestOptions) (t StateTest) {
	t.RetryIndex, t.CatchIndex = -1, -1
	idx := -1
	for i, st := range w.Machine.States {
		if st.Name == state {
			idx = i
		}
	}
	if idx < 0 {
		t.Status, t.Error, t.Cause = TestFailed, ErrRuntime, fmt.Sprintf("no state named %q", state)
		return t
	}
	st := w.Machine.States[idx]
	x := &Execution{wf: w, parent: ctx, Input: input, Name: "test-state", invoker: o.Invoker, clock: o.Clock, inspect: o.Inspect,
		rnd: func() float64 { return 1 }}
	x.begin()
	s := &x.root
	s.x, s.lastEvent, s.inSize = x, 1, -1
	for k, v := range o.Vars {
		s.SetVar(k, v)
	}
	s.stateName, s.enteredAt = st.Name, x.Start
	s.enteredEvent = s.x.events + 1
	x.events++
	s.retryCount = o.RetryCount
	if x.inspect != nil {
		x.inspect(StageInput, input)
	}
	out, next, err := runStateGuarded(s, st, input)
	if x.cancel != nil {
		defer x.cancel()
	}
	if err == nil {
		size := -1
		err = x.sizeCheck(st.Name, out, &size)
	}
	if err == nil {
		t.Status, t.Output, t.HasOutput = TestSucceeded, out, true
		if next != End {
			t.NextState = w.Machine.States[next].Name
		}
		t.Vars = s.Vars()
		return t
	}
	e := AsError(err)
	t.Error, t.Cause = e.Name, e.Cause
	if !e.Terminal() {
		if ri := st.retrierFor(e); ri >= 0 && o.RetryCount < st.Retry[ri].MaxAttempts {
			t.Status, t.RetryIndex = TestRetriable, ri
			t.RetryBackoffSeconds = int64(math.Ceil(st.Retry[ri].Delay(o.RetryCount, nil).Seconds()))
			return t
		}
		if ci := st.catcherFor(e); ci >= 0 {
			c := &st.Catch[ci]
			out, aerr := c.Apply(s, input, e.Output())
			if aerr != nil {
				ae := AsError(aerr)
				t.Status, t.Error, t.Cause = TestFailed, ae.Name, ae.Cause
				return t
			}
			t.Status, t.CatchIndex, t.Output, t.HasOutput = TestCaughtError, ci, out, true
			t.NextState = w.Machine.States[c.Next].Name
			t.Vars = s.Vars()
			return t
		}
	}
	t.Status = TestFailed
	return t
}

func runStateGuarded(s *Scope, st *State, input any) (out any, next int, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Errorf(ErrRuntime, "internal error while executing state %q: %v", st.Name, p)
		}
	}()
	return st.Exec(s, input)
}

// Inspecting reports whether the state runs under TestState with
// inspection: flows that would build a stage's value only for Inspect
// check this first.
func (s *Scope) Inspecting() bool { return s.x.inspect != nil }

// Inspect reports the state's data at a stage of its flow (a Stage* name)
// when the state runs under TestState with inspection; it does nothing
// otherwise, and only for the top-level state (not inside Map or
// Parallel).
func (s *Scope) Inspect(stage string, v any) {
	if f := s.x.inspect; f != nil && s == &s.x.root {
		f(stage, v)
	}
}
