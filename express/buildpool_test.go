package express_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stepstream/express/express"
)

// chargeWorkflow charges n bytes, then waits for hold (when not nil)
// before it ends.
func chargeWorkflow(n int, hold <-chan struct{}, charged chan<- error) *express.Workflow {
	m := &express.Machine{Blocking: true, States: []*express.State{{
		Name: "Build", Type: "Pass",
		Exec: func(s *express.Scope, in any) (any, int, error) {
			err := s.Execution().Charge(n)
			if charged != nil {
				charged <- err
			}
			if hold != nil {
				<-hold
			}
			if err != nil {
				return nil, 0, express.NewError(express.ErrRuntime, err.Error())
			}
			return in, express.End, nil
		},
	}}}
	return express.NewWorkflow(m, express.Options{Name: "build"})
}

// TestBuildPool: executions sharing a BuildPool fail when together they
// have built more than it, and give their bytes back when they end.
func TestBuildPool(t *testing.T) {
	pool := express.NewBuildPool(1000)
	hold := make(chan struct{})
	charged := make(chan error, 1)
	first := chargeWorkflow(600, hold, charged).WithBuildPool(pool)
	done := make(chan express.Result, 1)
	go func() { done <- first.Execute(context.Background(), map[string]any{}, express.ExecOptions{}) }()
	if err := <-charged; err != nil {
		t.Fatalf("first execution: %v", err)
	}
	// while the first one runs, a second one building 600 bytes overflows
	second := chargeWorkflow(600, nil, nil).WithBuildPool(pool)
	res := second.Execute(context.Background(), map[string]any{}, express.ExecOptions{})
	if res.Status != express.Failed || res.Error != express.ErrRuntime {
		t.Fatalf("second execution: %s %s %s", res.Status, res.Error, res.Cause)
	}
	var le *express.BuildLimitError
	if err := pool.Used(); err != 600 {
		t.Fatalf("pool holds %d bytes with the first execution running, want 600", err)
	}
	close(hold)
	if r := <-done; r.Status != express.Succeeded {
		t.Fatalf("first execution: %s %s", r.Status, r.Cause)
	}
	if pool.Used() != 0 {
		t.Fatalf("pool holds %d bytes after every execution ended", pool.Used())
	}
	// one at a time, each fits
	for range 5 {
		if r := second.Execute(context.Background(), map[string]any{}, express.ExecOptions{}); r.Status != express.Succeeded {
			t.Fatalf("lone execution: %s %s", r.Status, r.Cause)
		}
	}
	ch := make(chan error, 1)
	_ = chargeWorkflow(2000, nil, ch).WithBuildPool(express.NewBuildPool(1000)).Execute(context.Background(), map[string]any{}, express.ExecOptions{})
	if err := <-ch; !errors.As(err, &le) || !le.Shared || le.Limit != 1000 {
		t.Fatalf("overflow error %v", err)
	}
}
