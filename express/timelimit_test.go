package express_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
)

// TestTimeLimitCause: an execution ended by its time limit says which limit
// (the Express 5 minutes or the definition's TimeoutSeconds) and in or after
// which state it was reached.
func TestTimeLimitCause(t *testing.T) {
	failing := express.InvokerFunc(func(context.Context, *express.TaskRequest) (any, error) {
		return nil, express.NewError("Flaky", "try again")
	})
	virtual := func() express.ExecOptions {
		return express.ExecOptions{Clock: express.NewVirtualClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))}
	}
	for _, tc := range []struct {
		name, def string
		inv       express.Invoker
		opts      express.ExecOptions
		ctx       time.Duration // a deadline of the caller's context
		want      string        // the cause, or its start when it ends with "…"
	}{
		{"express limit in a Wait", `{"StartAt":"Wait1","States":{"Wait1":{"Type":"Wait","Seconds":400,"End":true}}}`, nil, virtual(), 0,
			`Execution timed out after 5m0s (the Express limit of 5 minutes) in state "Wait1"`},
		{"TimeoutSeconds above the cap", `{"TimeoutSeconds":900,"StartAt":"Wait1","States":{"Wait1":{"Type":"Wait","Seconds":400,"End":true}}}`, nil, virtual(), 0,
			`Execution timed out after 5m0s (the Express limit of 5 minutes) in state "Wait1"`},
		{"TimeoutSeconds", `{"TimeoutSeconds":5,"StartAt":"State_1","States":{"State_1":{"Type":"Wait","Seconds":60,"Next":"State_2"},"State_2":{"Type":"Pass","End":true}}}`, nil, virtual(), 0,
			`Execution timed out after 5s (the state machine's TimeoutSeconds of 5) in state "State_1"`},
		{"in a Map iteration", `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":600,"End":true}}},"End":true}}}`, nil,
			virtual(), 0,
			`Execution timed out after 5m0s (the Express limit of 5 minutes) in state "W"`},
		{"waiting to retry", `{"TimeoutSeconds":60,"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":90}],"End":true}}}`, failing, virtual(), 0,
			`Execution timed out after 1m0s (the state machine's TimeoutSeconds of 60) in state "T"`},
		{"blocking Task", `{"TimeoutSeconds":1,"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true}}}`, blocking, express.ExecOptions{}, 0,
			`Execution timed out after 1s (the state machine's TimeoutSeconds of 1) in state "T"`},
		{"loop of Pass states", `{"TimeoutSeconds":1,"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}}`, nil, express.ExecOptions{}, 0,
			// the limit is checked between states, every 64 transitions: before B, after A
			`Execution timed out after 1s (the state machine's TimeoutSeconds of 1) after state "A"`},
		{"caller's deadline", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true}}}`, blocking, express.ExecOptions{}, 50 * time.Millisecond,
			`Execution timed out after …`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wf := mustCompile(t, tc.def, compile.Options{Invoker: tc.inv})
			ctx := context.Background()
			if tc.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctx)
				defer cancel()
			}
			res := wf.Execute(ctx, map[string]any{"items": []any{int64(1), int64(2)}}, tc.opts)
			if res.Status != express.TimedOut || res.Error != express.ErrTimeout {
				t.Fatalf("status %s error %q cause %q, want TIMED_OUT States.Timeout", res.Status, res.Error, res.Cause)
			}
			if prefix, ok := strings.CutSuffix(tc.want, "…"); ok {
				if !strings.HasPrefix(res.Cause, prefix) || !strings.Contains(res.Cause, `the deadline of the context it was run with) in state "T"`) {
					t.Errorf("cause %q", res.Cause)
				}
			} else if res.Cause != tc.want {
				t.Errorf("cause %q\n want %q", res.Cause, tc.want)
			}
		})
	}
}
