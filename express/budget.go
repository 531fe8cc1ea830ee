package express

import (
	"fmt"
	"math"
	"sync/atomic"
)

// DefaultMaxBuildBytes is the default limit on the bytes of values that one
// execution's JSONata expressions and intrinsic functions may build (64 MiB):
// strings, arrays and objects they create, counted where they are created,
// added up over the whole execution (Map iterations and Parallel branches
// included). With states' inputs and outputs capped at 256 KiB
// (MaxPayloadBytes), legitimate workloads stay far below it; an expression
// that doubles a string in a loop, or a $match that turns a large record into
// a hundred thousand objects, reaches it and fails instead of taking the
// process's memory. Set Options.MaxBuildBytes (or Workflow.WithMaxBuildBytes)
// to change it.
const DefaultMaxBuildBytes = 64 << 20

// buildLimit is the workflow's limit on built bytes per execution.
func (w *Workflow) buildLimit() int64 {
	switch n := w.opts.MaxBuildBytes; {
	case n == 0:
		return DefaultMaxBuildBytes
	case n < 0:
		return math.MaxInt64
	default:
		return n
	}
}

// MaxBuildBytes is the limit on the bytes of values one execution's
// expressions and intrinsic functions may build (see DefaultMaxBuildBytes);
// math.MaxInt64 when there is none.
func (w *Workflow) MaxBuildBytes() int64 { return w.buildLimit() }

// WithMaxBuildBytes returns a copy of w whose executions may build n bytes of
// values in expressions and intrinsic functions: 0 means
// DefaultMaxBuildBytes, a negative n no limit.
func (w *Workflow) WithMaxBuildBytes(n int64) *Workflow {
	c := *w
	c.opts.MaxBuildBytes = n
	return &c
}

// BuildLimitError is what Execution.Charge returns once the execution has
// built more than its limit. JSONata reports it as States.QueryEvaluationError
// and the intrinsic functions as States.Runtime, each naming the state and
// the expression; once the limit is exceeded, no Retry or Catch applies to
// the execution's errors (every state that builds anything would fail again).
type BuildLimitError struct {
	Limit int64
}

func (e *BuildLimitError) Error() string {
	return fmt.Sprintf("The execution exceeded its memory limit: its JSONata expressions and intrinsic functions built more than %d bytes (%s) of strings, arrays and objects.", e.Limit, mib(e.Limit))
}

// mib writes a byte count in MiB, or KiB below one MiB.
func mib(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.4g MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.4g KiB", float64(n)/(1<<10))
}

// Charge counts n bytes of values built by one of the execution's
// expressions or intrinsic functions (strings, arrays, objects: an estimate
// made where they are built). It returns a *BuildLimitError once the
// execution has built more than its limit (Options.MaxBuildBytes), and on
// every call after that. It is safe for concurrent use; callers that build
// many small values add them up and charge them in chunks.
func (x *Execution) Charge(n int) error {
	if atomic.AddInt64(&x.built, int64(n)) > x.wf.buildLimit() {
		return &BuildLimitError{Limit: x.wf.buildLimit()}
	}
	return nil
}

// Built returns the bytes charged so far (see Charge).
func (x *Execution) Built() int64 { return atomic.LoadInt64(&x.built) }

// overBuilt reports whether the execution has built more than its limit: its
// errors are then final, Retry and Catch do not apply.
func (x *Execution) overBuilt() bool { return atomic.LoadInt64(&x.built) > x.wf.buildLimit() }
