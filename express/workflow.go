package express

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stepstream/express/internal/jsonv"
)

// MaxExecutionTime is the Express workflow cap on one execution.
const MaxExecutionTime = 5 * time.Minute

// MaxPayloadBytes is the AWS limit on a state's input or output (256 KiB).
const MaxPayloadBytes = 256 * 1024

// Status is the final status of an execution.
type Status string

// Execution statuses, as AWS names them.
const (
	Succeeded Status = "SUCCEEDED"
	Failed    Status = "FAILED"
	TimedOut  Status = "TIMED_OUT"
	Aborted   Status = "ABORTED"
)

// Result is the outcome of one execution.
type Result struct {
	Name   string
	Status Status
	// Output is the final output of a succeeded execution.
	Output any
	// Error and Cause describe a failed, timed-out or aborted execution;
	// State names the top-level state whose failure ended it (for an error
	// inside a Map or Parallel, that state; "" when the execution was
	// stopped from outside: its time limit, cancellation).
	Error string
	Cause string
	State string
	Start time.Time
	Stop  time.Time
	// Transitions counts states entered.
	Transitions int

	// lease is the memory of the objects the execution built, for
	// Release; exclusive says nothing outside the result holds them.
	lease     jsonv.Lease
	exclusive bool
}

// Release hands the memory of the objects and strings the execution built
// back to the engine, which builds the values of later executions in it:
// it spares the allocator one allocation (about 1 KiB) per execution. Call
// it once the result's Output, and every value read from it, is no longer
// used by anybody (for instance, once the output is serialised): after
// Release they change. Status, Error, Cause, State, Name, Start, Stop and
// Transitions stay valid (Error and Cause never share the execution's
// memory). Release clears r.Output.
//
// Not calling Release is always safe: the memory is then the collector's.
// Release hands nothing back when the execution's values may be held
// elsewhere: when its machine was not compiled by package compile (see
// Machine.KeepsNoValues), when it recorded a History, or when it passed
// its values to a Task resource that does not take the engine's objects
// (see ObjectsOK, whose implementers promise to keep nothing of a
// request). It reports whether nothing outside the result held the
// execution's values, the input's included: only then may the caller
// also release the memory of the input it parsed
// (jsonv.Parser.ParseLeased), since the output may share the input's
// strings:
//
//	in, inLease, err := parser.ParseLeased(record)
//	res := wf.Execute(ctx, in, opts)
//	out = jsonv.AppendJSON(out[:0], res.Output)
//	if res.Release() {
//		inLease.Release()
//	}
//
// Copies of a Result share its memory: only the first Release of any of
// them hands it back, the others hand nothing back (a lease's generation
// says it was released), so a copy kept by mistake is never released
// twice; the same holds for the input's lease.
func (r *Result) Release() (exclusive bool) {
	l, ex := r.lease, r.exclusive
	r.lease, r.exclusive, r.Output = jsonv.Lease{}, false, nil
	l.Release()
	return ex
}

// Err returns the failure as an *Error, or nil for a succeeded execution.
func (r *Result) Err() *Error {
	if r.Status == Succeeded {
		return nil
	}
	return &Error{Name: r.Error, Cause: r.Cause, HasCause: r.Cause != ""}
}

// Hooks observe executions; every field is optional. Hooks are called on the
// execution's goroutine (and on Map/Parallel goroutines) and must be fast and
// safe for concurrent use: they sit on the hot path.
type Hooks struct {
	ExecutionStart func(wf *Workflow, name string)
	// ExecutionEnd is given a copy of the execution's result: its Output
	// must not be kept after the call (the caller of Execute may release
	// it, see Result.Release).
	ExecutionEnd func(wf *Workflow, r *Result)
	// StateExit is called when a state finishes, successfully or not
	// (err is nil on success), with the time spent in it. Setting it makes
	// the engine read the clock twice per state.
	StateExit func(wf *Workflow, state, typ string, d time.Duration, err *Error)
	// StateDone is StateExit without the duration, for counting states:
	// it costs no clock reads, and err is the error the state ended with
	// also when a Catcher caught it (the machine goes on at the
	// catcher's Next); nil when it succeeded, on a retry or not. It is
	// given the state itself, so that a
	// hook can keep its figures in a slice by State.ID (a state of
	// wf.Machine.AllStates when compile built the machine).
	StateDone func(wf *Workflow, st *State, err *Error)
	// TaskDone is called after each Task invocation attempt, with its
	// duration; 0 for an inline resource (a fixed result returned at once),
	// which is not timed.
	TaskDone func(wf *Workflow, state, resource string, d time.Duration, err *Error)
	// Retry is called when a Retrier schedules a new attempt.
	Retry func(wf *Workflow, state string, err *Error)
	// Transition is called when a state hands its output to the next
	// state of its machine (by Next, a Choice rule, Default or a Catcher):
	// from and to are states of the same Machine. It is not called for a
	// state that ends its machine or fails. The console counts the edges
	// of its graph with it; unset, it costs one nil check per state.
	Transition func(wf *Workflow, from, to *State)
}

// Options configure a Workflow.
type Options struct {
	// Name of the workflow (the state machine name in $$.StateMachine.Name).
	Name string
	// Timeout is the definition's TimeoutSeconds; 0 or more than
	// MaxExecutionTime means MaxExecutionTime.
	Timeout time.Duration
	// Invoker runs Task resources unless an execution brings its own.
	Invoker Invoker
	Hooks   Hooks
	// Region and Account make up the ARNs of the context object.
	Region, Account string
	// MaxBuildBytes limits the bytes of values one execution's JSONata
	// expressions and intrinsic functions may build; 0 means
	// DefaultMaxBuildBytes, a negative value no limit.
	MaxBuildBytes int64
	// BuildPool, when set, also bounds what all running executions that
	// share it have built together (see BuildPool).
	BuildPool *BuildPool
}

// Workflow is a compiled state machine. It is immutable and safe for
// concurrent use: run any number of executions at once.
type Workflow struct {
	Machine *Machine
	opts    Options
	arn     string
}

// NewWorkflow wraps a compiled machine (see package compile) as a runnable workflow.
func NewWorkflow(m *Machine, opts Options) *Workflow {
	if opts.Timeout <= 0 || opts.Timeout > MaxExecutionTime {
		opts.Timeout = MaxExecutionTime
	}
	if opts.Name == "" {
		opts.Name = "workflow"
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Account == "" {
		opts.Account = "111111111111"
	}
	return &Workflow{Machine: m, opts: opts,
		arn: "arn:aws:states:" + opts.Region + ":" + opts.Account + ":stateMachine:" + opts.Name}
}

// Name is the workflow's name.
func (w *Workflow) Name() string { return w.opts.Name }

// Timeout is the execution time limit.
func (w *Workflow) Timeout() time.Duration { return w.opts.Timeout }

// Invoker is what the workflow's Tasks run on unless an execution brings
// its own.
func (w *Workflow) Invoker() Invoker { return w.opts.Invoker }

// WithInvoker returns a copy of w that runs Tasks on inv.
func (w *Workflow) WithInvoker(inv Invoker) *Workflow {
	c := *w
	c.opts.Invoker = inv
	return &c
}

// WithHooks returns a copy of w with the given hooks.
func (w *Workflow) WithHooks(h Hooks) *Workflow {
	c := *w
	c.opts.Hooks = h
	return &c
}

// ExecOptions configure one execution.
type ExecOptions struct {
	// Name is the execution name and idempotency key; generated when empty.
	Name string
	// Invoker overrides the workflow's Invoker for this execution.
	Invoker Invoker
	// Clock overrides the real clock (tests use a VirtualClock).
	Clock Clock
	// Rand returns numbers in [0,1) for jitter and States.MathRandom; nil
	// means math/rand/v2.
	Rand func() float64
	// RawOutput leaves objects the engine built in the output in the
	// engine's own representation (internal/jsonv's Object) instead of
	// converting them to maps, which saves the conversion for callers of
	// this module that serialise the output with internal/jsonv (the
	// daemon). The representation is internal: callers outside this module
	// cannot read it and must leave RawOutput false, as every value they
	// get is then plain JSON (nil, bool, int64, float64, string, []any,
	// map[string]any).
	RawOutput bool
	// InputSize, when known (the length of the record the input was parsed
	// from), spares measuring the input against the payload limit.
	InputSize int
	// History, when not nil, records the execution's events (see History).
	History *History
	// Headers are passed on to every Task call of the execution
	// (TaskRequest.Headers): the input record's trace context. The engine
	// does not modify them; they must not change while it runs.
	Headers []Header
}

var execSeq atomic.Uint64

// Execute runs one execution to its end and returns its result. ctx cancels
// it (status ABORTED); the workflow's Timeout ends it with TIMED_OUT. input
// is not modified. Execute never panics on bad input: a panic inside a state
// is reported as a States.Runtime failure.
func (w *Workflow) Execute(ctx context.Context, input any, opts ExecOptions) (res Result) {
	// Executions are pooled: nothing refers to one once Execute returns
	// (Map and Parallel goroutines are joined, results are copied out).
	x := execPool.Get().(*Execution)
	defer func() {
		*x = Execution{}
		execPool.Put(x)
	}()
	// x is zero (see the deferred reset): only the fields that are not
	// are set.
	x.wf, x.parent, x.Input, x.Name = w, ctx, input, opts.Name
	x.invoker, x.clock, x.rnd = opts.Invoker, opts.Clock, opts.Rand
	x.inputSize, x.rawOutput, x.hist, x.headers = opts.InputSize, opts.RawOutput, opts.History, opts.Headers
	if x.Name == "" {
		x.Name = "exec-" + strconv.FormatUint(execSeq.Add(1), 10)
	}
	x.begin()
	res.Name = x.Name
	res.Start = x.Start
	if h := w.opts.Hooks.ExecutionStart; h != nil {
		h(w, x.Name)
	}
	s := &x.root
	s.x = x
	s.lastEvent = 1
	if x.hist != nil {
		x.recordExecutionStart(input)
	}
	out, err := x.runGuarded(s, input)
	x.finish(&res, out, err)
	if !x.escaped.Load() && x.hist == nil && w.Machine.KeepsNoValues {
		// Nothing outside the result refers to the root arena's values:
		// the caller may hand its memory back (Result.Release).
		// (Error and Cause are never in it: a Fail state copies its
		// Error and Cause when they come from values.)
		res.lease, res.exclusive = s.arena.Lease(), true
	}
	if x.hist != nil {
		x.recordExecutionEnd(&res, s.lastEvent)
	}
	if b := atomic.LoadInt64(&x.built); b != 0 && w.opts.BuildPool != nil {
		w.opts.BuildPool.used.Add(-b) // its values are no longer the execution's
	}
	if x.cancel != nil {
		x.cancel()
	}
	if h := w.opts.Hooks.ExecutionEnd; h != nil {
		// A copy, so that res itself does not escape to the heap when no
		// hook is set.
		r := res
		r.lease, r.exclusive = jsonv.Lease{}, false // the hook cannot release it
		h(w, &r)
	}
	return res
}

// begin fills in what the execution's options left out (the workflow's
// invoker, the real clock, math/rand/v2) and starts its clock (the deadline
// follows from the start, see deadline);
// event 1 is ExecutionStarted.
func (x *Execution) begin() {
	if x.invoker == nil {
		x.invoker = x.wf.opts.Invoker
	}
	if x.clock == nil {
		x.clock = RealClock
	}
	if x.rnd == nil {
		x.rnd = rand.Float64
	}
	x.Start = x.clock.Now()
	x.events = 1 // ExecutionStarted
}

func (x *Execution) runGuarded(s *Scope, input any) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Errorf(ErrRuntime, "internal error while executing state %q: %v", s.stateName, p)
		}
	}()
	// The length of the text the input was parsed from bounds its compact
	// JSON size, give or take number formatting (1e-7 is written 1e-07):
	// allow a quarter more.
	n := x.inputSize + x.inputSize/4
	if x.inputSize <= 0 || n > MaxPayloadBytes {
		n = SizeBound(input)
	}
	if n > MaxPayloadBytes {
		if n = exactSize(input, MaxPayloadBytes); n > MaxPayloadBytes {
			return nil, Errorf(ErrDataLimitExceeded, "The execution input is larger than %d bytes, the maximum payload size", MaxPayloadBytes)
		}
	}
	s.inSize = n
	return s.Run(x.wf.Machine, input)
}

func (x *Execution) finish(res *Result, out any, err error) {
	res.Stop = x.clock.Now()
	res.Transitions = int(atomic.LoadInt64(&x.transitions))
	if err == nil {
		res.Status = Succeeded
		if x.rawOutput {
			res.Output = out
		} else {
			res.Output = jsonv.Plain(out)
		}
		return
	}
	e := AsError(err)
	res.Error, res.Cause = e.Name, e.Cause
	if !e.terminal {
		res.State = x.failState
	}
	switch {
	case e == errExecTimeout || (e.terminal && e.Name == ErrTimeout):
		res.Status = TimedOut
	case e.terminal && e.Name == ErrExecutionAborted:
		res.Status = Aborted
	default:
		res.Status = Failed
	}
}

var errExecTimeout = &Error{Name: ErrTimeout, Cause: "", terminal: true}

// Execution is the state of one running execution, shared by all its scopes.
type Execution struct {
	wf      *Workflow
	parent  context.Context
	ctxMu   sync.Mutex      // Map and Parallel branches ask for ctx at once
	ctx     context.Context // parent with the deadline, made on first need
	cancel  context.CancelFunc
	Name    string
	Input   any
	Start   time.Time
	clock   Clock
	rnd     func() float64
	invoker Invoker

	inputSize int
	rawOutput bool
	hist      *History
	headers   []Header
	inspect   func(stage string, v any) // TestState's inspection, see Scope.Inspect
	failState string                    // the top-level state whose error ended the execution
	// escaped is set when the root arena's values may be held outside
	// the execution's result (a Task resource given them as plain
	// values): its memory is then not offered for reuse (Result.Release).
	escaped atomic.Bool
	// events and transitions are updated atomically: Map and Parallel
	// branches run on several goroutines.
	events      int64
	transitions int64
	// built counts the bytes of values built by expressions and intrinsic
	// functions (atomically): see Charge.
	built int64
	root  Scope
}

// execPool holds zeroed executions: Execute resets one before putting it
// back.
var execPool = sync.Pool{New: func() any { return new(Execution) }}

// Workflow returns the workflow being executed.
func (x *Execution) Workflow() *Workflow { return x.wf }

// Context returns a context that is done when the execution is cancelled or
// reaches its time limit.
func (x *Execution) Context() context.Context {
	x.ctxMu.Lock()
	defer x.ctxMu.Unlock()
	if x.ctx == nil {
		if _, virtual := x.clock.(*VirtualClock); virtual {
			x.ctx = x.parent
		} else {
			x.ctx, x.cancel = context.WithDeadline(x.parent, x.deadline())
		}
	}
	return x.ctx
}

// deadline is when the execution's time limit ends: worked out when
// needed (every 64 transitions, for a wait, a context), not per execution.
func (x *Execution) deadline() time.Time { return x.Start.Add(x.wf.opts.Timeout) }

// Rand returns a pseudo-random number in [0,1).
func (x *Execution) Rand() float64 { return x.rnd() }

// Now is the execution clock's current time.
func (x *Execution) Now() time.Time { return x.clock.Now() }

// ctxErr converts a done context into the execution's terminal error.
func (x *Execution) ctxErr(err error) *Error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) && !x.clock.Now().Before(x.deadline()) {
		return errExecTimeout
	}
	if x.parent.Err() != nil {
		if errors.Is(x.parent.Err(), context.DeadlineExceeded) {
			return errExecTimeout
		}
		return &Error{Name: ErrExecutionAborted, Cause: "execution cancelled: " + x.parent.Err().Error(), HasCause: true, terminal: true}
	}
	return errExecTimeout
}

// checkLive reports the execution's terminal error once it has been
// cancelled or has run out of time.
func (x *Execution) checkLive() *Error {
	if err := x.parent.Err(); err != nil {
		return x.ctxErr(err)
	}
	if !x.clock.Now().Before(x.deadline()) {
		return errExecTimeout
	}
	return nil
}

func limitError(state string) *Error {
	return Errorf(ErrDataLimitExceeded, "The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", state)
}
