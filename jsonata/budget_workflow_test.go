package jsonata_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/jsonata"
)

// TestWorkflowBuildLimit: a JSONata state that builds more than the
// execution's limit fails the execution with States.QueryEvaluationError
// naming the state, the field and the limit; its Retry and Catch do not
// apply once the limit is exceeded, and nothing like the gigabytes the
// expression asks for is allocated.
func TestWorkflowBuildLimit(t *testing.T) {
	def := `{
	  "QueryLanguage": "JSONata",
	  "StartAt": "Grow",
	  "States": {
	    "Grow": {
	      "Type": "Task",
	      "Resource": "arn:aws:lambda:us-east-1:111111111111:function:echo",
	      "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}],
	      "Output": "{% $reduce([1..40], function($acc, $v) { $acc & $acc }, $states.input.s) %}",
	      "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
	      "End": true
	    },
	    "Caught": {"Type": "Succeed"}
	  }
	}`
	echo := express.InlineFunc(func(_ context.Context, r *express.TaskRequest) (any, error) { return r.Input, nil })
	wf, err := compile.Compile([]byte(def), compile.Options{Name: "grow", Invoker: echo})
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]any{"s": strings.Repeat("x", 1000)}
	for _, tc := range []struct {
		wf    *express.Workflow
		limit string
		bytes uint64
	}{
		{wf, "67108864 bytes (64 MiB)", express.DefaultMaxBuildBytes},
		{wf.WithMaxBuildBytes(8 << 20), "8388608 bytes (8 MiB)", 8 << 20},
	} {
		var res express.Result
		n := jsonata.Allocated(func() {
			res = tc.wf.Execute(context.Background(), in, express.ExecOptions{Clock: express.NewVirtualClock(time.Unix(0, 0))})
		})
		if res.Status != express.Failed || res.Error != express.ErrQueryEvaluation || res.State != "Grow" || res.Transitions != 1 {
			t.Fatalf("status %s, error %s (%s) in %q; want FAILED with %s in Grow", res.Status, res.Error, res.Cause, res.State, express.ErrQueryEvaluation)
		}
		for _, want := range []string{
			"An error occurred while executing the state 'Grow' (entered at the event id #2). ",
			"specified for the field 'Output' threw an error during evaluation. D1016: ",
			"The execution exceeded its memory limit: its JSONata expressions and intrinsic functions built more than " + tc.limit,
		} {
			if !strings.Contains(res.Cause, want) {
				t.Errorf("cause %q\nlacks %q", res.Cause, want)
			}
		}
		if n > 2*tc.bytes {
			t.Errorf("the execution allocated %d MiB, limit %d MiB", n>>20, tc.bytes>>20)
		}
	}
	// Without a limit the expression runs into JSONata's cap on one
	// string (D1015), which Catch handles, after allocating far more.
	var res express.Result
	n := jsonata.Allocated(func() {
		res = wf.WithMaxBuildBytes(-1).Execute(context.Background(), in, express.ExecOptions{Clock: express.NewVirtualClock(time.Unix(0, 0))})
	})
	if res.Status != express.Succeeded || n < 2*express.DefaultMaxBuildBytes {
		t.Errorf("without a limit: %s %s (%s), %d MiB allocated; want it caught after more than 128 MiB", res.Status, res.Error, res.Cause, n>>20)
	}
}
