package express_test

import (
	"context"
	"testing"

	"github.com/stepstream/express/express"
)

// plainInline is an invoker from outside the package that only says it is
// Inline: the engine must treat it so (before, only a Router's InlineFor
// was asked). An inline Task runs on the caller's context, not the
// execution's deadline context.
type plainInline struct{ ctxs chan context.Context }

func (p plainInline) Inline() bool { return true }

func (p plainInline) Invoke(ctx context.Context, _ *express.TaskRequest) (any, error) {
	p.ctxs <- ctx
	return map[string]any{}, nil
}

func TestOutsideInlineInvoker(t *testing.T) {
	m := &express.Machine{Blocking: true, States: []*express.State{{
		Name: "T", Type: "Task",
		Exec: func(s *express.Scope, in any) (any, int, error) {
			out, err := s.Invoke(&express.TaskRequest{Resource: "arn:x", State: "T", Input: in})
			if err != nil {
				return nil, 0, err
			}
			return out, express.End, nil
		},
	}}}
	inv := plainInline{ctxs: make(chan context.Context, 1)}
	wf := express.NewWorkflow(m, express.Options{Name: "inline", Invoker: inv})
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "caller")
	if res := wf.Execute(parent, map[string]any{}, express.ExecOptions{}); res.Status != express.Succeeded {
		t.Fatalf("%s %s %s", res.Status, res.Error, res.Cause)
	}
	ctx := <-inv.ctxs
	if _, has := ctx.Deadline(); has || ctx.Value(key{}) != "caller" {
		t.Fatal("an Inline invoker got the execution's deadline context, not the caller's")
	}
}
