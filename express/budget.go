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
	// Shared says the limit is a BuildPool's: the executions running at
	// the time built more than it together.
	Shared bool
}

func (e *BuildLimitError) Error() string {
	if e.Shared {
		return fmt.Sprintf("The execution exceeded its memory limit: the executions running in this process together built more than %d bytes (%s) of strings, arrays and objects, the limit they share.", e.Limit, mib(e.Limit))
	}
	return fmt.Sprintf("The execution exceeded its memory limit: its JSONata expressions and intrinsic functions built more than %d bytes (%s) of strings, arrays and objects.", e.Limit, mib(e.Limit))
}

// BuildPool bounds the bytes that the running executions sharing it (through
// Options.BuildPool) have built in their expressions and intrinsic functions
// together: each execution's Charge counts against its own limit and the
// pool's, and its bytes return to the pool when it ends. A daemon running
// hundreds of executions at once needs it: hundreds of per-execution limits
// add up to more memory than a machine has, while the pool keeps the sum
// bounded and fails only executions that build a lot while the pool is
// full. It is safe for concurrent use.
type BuildPool struct {
	limit int64
	used  atomic.Int64
}

// NewBuildPool returns a pool of limit bytes.
func NewBuildPool(limit int64) *BuildPool { return &BuildPool{limit: limit} }

// Used returns the bytes the running executions have built.
func (p *BuildPool) Used() int64 { return p.used.Load() }

// Limit returns the pool's size.
func (p *BuildPool) Limit() int64 { return p.limit }

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
	built := atomic.AddInt64(&x.built, int64(n))
	p := x.wf.opts.BuildPool
	// the pool gets every byte the execution counts: Execute gives back
	// what it built in all
	shared := p != nil && p.used.Add(int64(n)) > p.limit
	switch {
	case built > x.wf.buildLimit():
		return &BuildLimitError{Limit: x.wf.buildLimit()}
	case shared:
		return &BuildLimitError{Limit: p.limit, Shared: true}
	}
	return nil
}

// WithBuildPool returns a copy of w whose executions also charge p (see
// BuildPool); nil removes the pool.
func (w *Workflow) WithBuildPool(p *BuildPool) *Workflow {
	c := *w
	c.opts.BuildPool = p
	return &c
}

// Built returns the bytes charged so far (see Charge).
func (x *Execution) Built() int64 { return atomic.LoadInt64(&x.built) }

// overBuilt reports whether the execution has built more than its limit: its
// errors are then final, Retry and Catch do not apply.
func (x *Execution) overBuilt() bool { return atomic.LoadInt64(&x.built) > x.wf.buildLimit() }
