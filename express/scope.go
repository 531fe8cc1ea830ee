package express

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/stepstream/express/internal/jsonv"
)

// Scope is where a state runs: the execution, the variables visible to it
// and the context object's per-state fields. The top-level machine has one
// scope; every Parallel branch and Map iteration runs in a child scope that
// reads its parents' variables and assigns its own. A Scope is used by one
// goroutine at a time.
type Scope struct {
	x      *Execution
	parent *Scope
	vars   map[string]any

	stateName    string
	enteredAt    time.Time
	enteredEvent int64
	retryCount   int
	// lastEvent is the id of the scope's last history event: the
	// previousEventId of its next one (kept up to date only while the
	// execution records its history).
	lastEvent int64

	inMap    bool
	mapIndex int
	mapValue any

	// up is the scope whose Map or Parallel state runs this one (also for
	// an isolated child); iter is this scope's item or branch index when
	// hasIter. visit counts the earlier entries of the running state in
	// this scope (a loop): seen has a bit per state index below 64,
	// revisits the counts. They make TaskRequest.CallKey.
	up       *Scope
	iter     int
	hasIter  bool
	visit    int
	seen     uint64
	revisits map[int]int

	// inOwned/outOwned: see OwnsInput. An owned value is a map or an
	// *jsonv.Object; ownedMap/ownedObj hold whichever it is.
	inOwned, outOwned owned

	// req is reused by the Tasks of this scope (see TaskRequest).
	req TaskRequest

	// inSize is an upper bound of the current state input's JSON size, -1
	// when unknown; outSize is the bound the state reported for its output.
	inSize, outSize int

	// arena holds the objects the scope's states build (see Arena).
	arena jsonv.Arena

	// pendTrans and pendEvents are the transitions and history events a
	// scope other than the root has counted and not yet added to the
	// execution's (see Run).
	pendTrans, pendEvents int64
}

// Arena is where the states running in this scope allocate the objects
// they build (jsonv.Arena): a scope runs on one goroutine, and so does
// its arena. A nil scope has none.
func (s *Scope) Arena() *jsonv.Arena {
	if s == nil {
		return nil
	}
	return &s.arena
}

// InputSize returns an upper bound of the JSON size of the state's input,
// or -1 when it is not known.
func (s *Scope) InputSize() int { return s.inSize }

// SetOutputSize reports an upper bound of the JSON size of the state's
// output (-1: unknown). When the bound is within the payload limit the
// engine skips measuring the output.
func (s *Scope) SetOutputSize(n int) { s.outSize = n }

// OutputSize returns the bound last given to SetOutputSize.
func (s *Scope) OutputSize() int { return s.outSize }

// Execution returns the execution the scope belongs to.
func (s *Scope) Execution() *Execution { return s.x }

// StateName is the name of the state running in this scope.
func (s *Scope) StateName() string { return s.stateName }

// RetryCount is the current state's retry attempt number (0 on first try).
func (s *Scope) RetryCount() int { return s.retryCount }

// AddEvents counts history events, so that error causes can say "entered at
// the event id #N" as AWS does.
func (s *Scope) AddEvents(n int) { atomic.AddInt64(&s.x.events, int64(n)) }

// Child returns a scope for a Parallel branch or Map iteration.
func (s *Scope) Child() *Scope {
	c := &Scope{x: s.x, parent: s, up: s, stateName: s.stateName, enteredAt: s.enteredAt,
		enteredEvent: s.enteredEvent, retryCount: s.retryCount, lastEvent: s.lastEvent, inSize: -1}
	if s.inMap {
		c.inMap, c.mapIndex, c.mapValue = true, s.mapIndex, s.mapValue
	}
	return c
}

// MapItem sets the $$.Map.Item fields of a Map iteration scope (and the
// item's index in its calls' keys, see TaskRequest.CallKey).
func (s *Scope) MapItem(index int, value any) {
	s.inMap, s.mapIndex, s.mapValue = true, index, value
	s.iter, s.hasIter = index, true
}

// Branch returns a scope for branch i of a Parallel state: a Child whose
// calls' keys name the branch (see TaskRequest.CallKey).
func (s *Scope) Branch(i int) *Scope {
	c := s.Child()
	c.iter, c.hasIter = i, true
	return c
}

// entered records an entry of state i in the scope: visit is the number
// of earlier entries (a loop).
func (s *Scope) entered(i int) {
	if i < 64 {
		bit := uint64(1) << uint(i)
		if s.seen&bit == 0 {
			s.seen |= bit
			s.visit = 0
			return
		}
	}
	if s.revisits == nil {
		s.revisits = make(map[int]int, 2)
	}
	n, ok := s.revisits[i]
	switch {
	case i < 64:
		n++ // the first entry is the bit
	case ok:
		n++
	}
	s.revisits[i] = n
	s.visit = n
}

// Var looks a variable up in this scope and its parents.
func (s *Scope) Var(name string) (any, bool) {
	for c := s; c != nil; c = c.parent {
		if v, ok := c.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

// Vars returns every variable visible in the scope, inner scopes winning.
func (s *Scope) Vars() map[string]any {
	out := map[string]any{}
	var walk func(c *Scope)
	walk = func(c *Scope) {
		if c == nil {
			return
		}
		walk(c.parent)
		for k, v := range c.vars {
			out[k] = v
		}
	}
	walk(s)
	return out
}

// Assign sets variables in this scope. All values of one Assign are
// evaluated before any is set, so callers pass them all at once.
func (s *Scope) Assign(vals map[string]any) {
	if len(vals) == 0 {
		return
	}
	if s.vars == nil {
		s.vars = make(map[string]any, len(vals))
	}
	for k, v := range vals {
		s.vars[k] = v
	}
}

// SetVar sets one variable in this scope.
func (s *Scope) SetVar(name string, v any) {
	if s.vars == nil {
		s.vars = make(map[string]any, 4)
	}
	s.vars[name] = v
}

// StateError builds an error for the running state with AWS's cause prefix:
// "An error occurred while executing the state 'X' (entered at the event id #N). ..."
func (s *Scope) StateError(name, format string, args ...any) *Error {
	return &Error{Name: name, HasCause: true, Cause: fmt.Sprintf("An error occurred while executing the state '%s' (entered at the event id #%d). ", s.stateName, s.enteredEvent) + fmt.Sprintf(format, args...)}
}

// Runtime is StateError with States.Runtime.
func (s *Scope) Runtime(format string, args ...any) *Error {
	return s.StateError(ErrRuntime, format, args...)
}

const timeLayout = "2006-01-02T15:04:05.000Z"

// ContextObject builds the context object ($$) as the running state sees it.
// It is built on demand: most workflows never read it.
func (s *Scope) ContextObject() map[string]any {
	x := s.x
	w := x.wf
	execID := "arn:aws:states:" + w.opts.Region + ":" + w.opts.Account + ":execution:" + w.opts.Name + ":" + x.Name
	entered := s.enteredAt
	if entered.IsZero() {
		entered = x.Start
	}
	c := map[string]any{
		"Execution": map[string]any{
			"Id":           execID,
			"Input":        x.Input,
			"Name":         x.Name,
			"RoleArn":      "arn:aws:iam::" + w.opts.Account + ":role/express",
			"StartTime":    x.Start.UTC().Format(timeLayout),
			"RedriveCount": int64(0),
		},
		"State": map[string]any{
			"EnteredTime": entered.UTC().Format(timeLayout),
			"Name":        s.stateName,
			"RetryCount":  int64(s.retryCount),
		},
		"StateMachine": map[string]any{
			"Id":   w.arn,
			"Name": w.opts.Name,
		},
	}
	if s.inMap {
		c["Map"] = map[string]any{"Item": map[string]any{"Index": int64(s.mapIndex), "Value": s.mapValue}}
	}
	return c
}

// Sleep waits d on the execution clock. It fails with the execution's
// terminal error when the wait would outlast the execution's time limit.
func (s *Scope) Sleep(d time.Duration) *Error {
	x := s.x
	now := x.clock.Now()
	if !now.Add(d).Before(x.deadline()) {
		_ = x.clock.Sleep(x.Context(), x.deadline().Sub(now))
		return errExecTimeout
	}
	if err := x.clock.Sleep(x.Context(), d); err != nil {
		return x.ctxErr(err)
	}
	return nil
}

// timedOut turns the execution's time-limit error into one whose cause
// says which limit ended the execution and in (or, with after, just after)
// which state; any other error is returned as it is. AWS records no cause
// for a timed-out execution; the cause is what an operator needs to see
// when a workflow meets the 5-minute cap.
func (s *Scope) timedOut(err error, state string, after bool) error {
	if err != error(errExecTimeout) {
		return err
	}
	x := s.x
	limit := x.wf.opts.Timeout
	elapsed := limit
	which := fmt.Sprintf("the Express limit of %d minutes", int(MaxExecutionTime/time.Minute))
	switch {
	case x.clock.Now().Before(x.deadline()):
		// the caller's context had an earlier deadline
		elapsed = x.clock.Now().Sub(x.Start).Round(time.Millisecond)
		which = "the deadline of the context it was run with"
	case limit < MaxExecutionTime:
		which = fmt.Sprintf("the state machine's TimeoutSeconds of %d", int64(limit/time.Second))
	}
	where := "in"
	if after {
		where = "after"
	}
	return &Error{Name: ErrTimeout, HasCause: true, terminal: true,
		Cause: fmt.Sprintf("Execution timed out after %v (%s) %s state %q", elapsed, which, where, state)}
}

// Run runs machine m from its start state with the given input in this
// scope and returns the output of its last state.
//
// The root scope runs alone: while it is in its loop no other goroutine
// of the execution counts transitions or events (Map and Parallel join
// theirs before their state returns), so it counts them with plain adds,
// no atomic operation per state. Other scopes count in pendTrans and
// pendEvents and add them to the execution's once, atomically, when they
// return.
func (s *Scope) Run(m *Machine, input any) (any, error) {
	if s == &s.x.root {
		return s.run(m, input, true)
	}
	defer s.settle()
	return s.run(m, input, false)
}

// run is Run; solo is set for the root scope.
func (s *Scope) run(m *Machine, input any, solo bool) (any, error) {
	x := s.x
	hooks := &x.wf.opts.Hooks
	i := m.Start
	size := s.inSize // bound of the input's size, -1 unknown
	timed := hooks.StateExit != nil || m.UsesContext || !isRealClock(x.clock)
	if !timed {
		s.enteredAt = time.Time{} // a child's copy of its parent's
	}
	recording := x.hist != nil
	entered := 0 // states entered by this call
	for {
		st := m.States[i]
		// States that block (Task, Wait) are bounded by the execution's
		// deadline themselves; a loop of quick states is caught here.
		if entered++; entered&63 == 0 {
			if e := x.checkLive(); e != nil {
				return nil, s.timedOut(e, s.stateName, true)
			}
		}
		if solo {
			x.transitions++
		} else {
			s.pendTrans++
		}
		s.stateName = st.Name
		s.retryCount = 0
		if !st.CallsNothing {
			s.entered(i)
		}
		if recording {
			s.recordEntered(st, input)
			s.enteredEvent = s.lastEvent
		} else if solo {
			x.events++
			s.enteredEvent = x.events
		} else {
			// the previous state's exit events go with this entry: one
			// atomic operation
			s.enteredEvent = atomic.AddInt64(&x.events, 1+s.pendEvents)
			s.pendEvents = 0
		}
		var t0 time.Time
		if timed {
			t0 = x.clock.Now()
			s.enteredAt = t0
		}
		s.inOwned, s.outOwned = s.outOwned, owned{}
		s.inSize, s.outSize = size, -1
		out, next, err := st.Exec(s, input)
		var caught *Error // the failure a Catcher took: the machine goes on
		if err != nil {
			s.outOwned = owned{}
			out, next, caught, err = s.handleError(st, input, err)
			size = -1
			if err == nil {
				err = x.sizeCheck(st.Name, out, &size)
			}
		} else if st.SubValue {
			// size stays: a part of the input is no larger than the input.
		} else if s.outSize >= 0 && s.outSize <= MaxPayloadBytes {
			size = s.outSize
		} else {
			err = x.sizeCheck(st.Name, out, &size)
		}
		if hooks.StateExit != nil {
			hooks.StateExit(x.wf, st.Name, st.Type, x.clock.Now().Sub(t0), AsError(err))
		}
		if hooks.StateDone != nil {
			e := AsError(err)
			if e == nil {
				e = caught
			}
			hooks.StateDone(x.wf, st, e)
		}
		if err != nil {
			if s.parent == nil {
				// A top-level state: its error ends the execution.
				x.failState = st.Name
			}
			return nil, s.timedOut(err, st.Name, false)
		}
		if recording {
			if st.ExitEvents > 0 {
				s.recordExited(st, out)
			}
		} else if solo {
			x.events += int64(st.ExitEvents)
		} else {
			s.pendEvents = int64(st.ExitEvents)
		}
		if next == End {
			return out, nil
		}
		if hooks.Transition != nil {
			hooks.Transition(x.wf, st, m.States[next])
		}
		input = out
		i = next
	}
}

// settle adds what a scope other than the root counted in Run to the
// execution's totals.
func (s *Scope) settle() {
	atomic.AddInt64(&s.x.transitions, s.pendTrans)
	atomic.AddInt64(&s.x.events, s.pendEvents)
	s.pendTrans, s.pendEvents = 0, 0
}

// addEvents counts n history events of the running state: plainly in the
// root scope, which runs alone while its state does (see Run),
// atomically in the others.
func (s *Scope) addEvents(n int64) {
	if s == &s.x.root {
		s.x.events += n
		return
	}
	atomic.AddInt64(&s.x.events, n)
}

// sizeCheck fails when out is over the payload limit and otherwise stores
// its exact size.
func (x *Execution) sizeCheck(state string, out any, size *int) error {
	n := SizeBound(out)
	if n > MaxPayloadBytes {
		n = exactSize(out, MaxPayloadBytes)
		if n > MaxPayloadBytes {
			return limitError(state)
		}
	}
	*size = n
	return nil
}

// handleError applies the state's Retry and Catch to a failure of its Exec.
//
// A failure a Catcher handles is returned as caught, with the catcher's
// output and next state and a nil error.
func (s *Scope) handleError(st *State, input any, err error) (out any, next int, caught *Error, _ error) {
	x := s.x
	var attempts [8]int
	counts := attempts[:0]
	if len(st.Retry) <= len(attempts) {
		counts = attempts[:len(st.Retry)]
	} else {
		counts = make([]int, len(st.Retry))
	}
	for {
		e := AsError(err)
		if e.Terminal() || x.overBuilt() {
			return nil, 0, nil, e
		}
		if ri := st.retrierFor(e); ri >= 0 && counts[ri] < st.Retry[ri].MaxAttempts {
			if d := st.Retry[ri].Delay(counts[ri], x.rnd); d > 0 {
				if se := s.Sleep(d); se != nil {
					return nil, 0, nil, se
				}
			}
			counts[ri]++
			s.retryCount++
			if h := x.wf.opts.Hooks.Retry; h != nil {
				h(x.wf, st.Name, e)
			}
			out, next, err2 := st.Exec(s, input)
			if err2 == nil {
				return out, next, nil, nil
			}
			err = err2
			continue
		}
		if ci := st.catcherFor(e); ci >= 0 {
			c := &st.Catch[ci]
			out, aerr := c.Apply(s, input, e.Output())
			if aerr != nil {
				return nil, 0, nil, aerr
			}
			return out, c.Next, e, nil
		}
		return nil, 0, nil, e
	}
}

// IsolatedChild returns a scope that does not see its parents' variables:
// a distributed Map's iterations run as separate executions.
func (s *Scope) IsolatedChild() *Scope {
	c := s.Child()
	c.parent = nil
	return c
}

// TaskRequest returns the scope's request value, reset, for a Task to fill
// in and pass to Invoke. It is reused by the next Task of the scope, so
// invokers must not keep it after they return (copy what they need).
func (s *Scope) TaskRequest() *TaskRequest {
	s.req = TaskRequest{}
	return &s.req
}

// Invoke runs a Task request on the execution's invoker, bounded by the
// state's timeout and the execution's deadline, counting the Task's history
// events. A state timeout fails with States.Timeout (which Retry and Catch
// see); the execution's deadline ends the execution.
func (s *Scope) Invoke(req *TaskRequest) (any, error) {
	x := s.x
	req.Execution = x.Name
	req.Attempt = s.retryCount
	req.Headers = x.headers
	req.scope, req.key = s, ""
	if req.Workflow == "" {
		req.Workflow = x.wf.opts.Name
	}
	recording := x.hist != nil
	if recording {
		s.recordTaskStart(req)
	} else {
		s.addEvents(2) // TaskScheduled, TaskStarted
	}
	inv := x.invoker
	if inv == nil {
		err := Errorf(ErrTaskFailed, "no resource is configured to run %q (state %q)", req.Resource, req.State)
		if recording {
			s.recordTaskEnd(req, nil, err)
		} else {
			s.addEvents(1)
		}
		return nil, err
	}
	var ctx context.Context
	inlined := false
	if inline(inv, req.Resource) {
		// An inline resource returns at once: no deadline to set up, no
		// clock to read.
		ctx, inlined = x.parent, true
	} else {
		ctx = x.Context()
	}
	var cancel context.CancelFunc
	if req.Timeout > 0 && isRealClock(x.clock) && ctx != x.parent {
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
	}
	hook := x.wf.opts.Hooks.TaskDone
	var t0 time.Time
	if hook != nil && !inlined {
		t0 = time.Now()
	}
	req.ResultSize = 0
	objects := acceptsObjects(inv, req.Resource)
	if !objects {
		// The plain copy shares the arena's strings, and the resource
		// may keep it.
		req.Input = jsonv.Plain(req.Input)
		x.escaped.Store(true) // Map and Parallel branches call at once
	}
	res, err := inv.Invoke(ctx, req)
	if req.ResultSize > 0 {
		s.outSize = req.ResultSize
	} else {
		s.outSize = -1
	}
	var e *Error
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			if le := x.checkLive(); le != nil {
				e = le
			} else if cancel != nil {
				e = &Error{Name: ErrTimeout, HasCause: true, Cause: "Task timed out after " + req.Timeout.String()}
			}
		}
		if e == nil {
			if e = AsError(err); objects {
				// The error outlives the execution (hooks, the result)
				// and could hold parts of the request's values, whose
				// memory Result.Release hands out again.
				e = e.detached()
			}
		}
	}
	if cancel != nil {
		cancel()
	}
	if recording {
		if e != nil {
			s.recordTaskEnd(req, nil, e)
		} else {
			s.recordTaskEnd(req, res, nil)
		}
	} else {
		s.addEvents(1) // TaskSucceeded / TaskFailed
	}
	if hook != nil {
		var d time.Duration
		if !inlined {
			d = time.Since(t0)
		}
		hook(x.wf, req.State, req.Resource, d, e)
	}
	if e != nil {
		return nil, e
	}
	return res, nil
}

// Ownership of the value flowing between states. A state that builds a new
// object (a Parameters template, a ResultPath copy) and hands it to the next
// state without anybody else keeping a reference may mark it owned; the
// next state may then add its result to it in place instead of copying it.
// The compiler decides, per state, when that is safe.

// owned is an object handed from one state to the next (see OwnsInput).
type owned struct {
	m map[string]any
	o *jsonv.Object
}

// OwnsInput reports whether in is an object (a map or an *jsonv.Object)
// the previous state built and handed over exclusively.
func (s *Scope) OwnsInput(in any) bool {
	switch t := in.(type) {
	case *jsonv.Object:
		return s.inOwned.o != nil && s.inOwned.o == t
	case map[string]any:
		return s.inOwned.m != nil && sameMap(s.inOwned.m, t)
	}
	return false
}

// SetOutputOwned marks the state's output object (a map or an
// *jsonv.Object) as exclusively owned by the flow; any other value clears.
func (s *Scope) SetOutputOwned(out any) {
	switch t := out.(type) {
	case *jsonv.Object:
		s.outOwned = owned{o: t}
	case map[string]any:
		s.outOwned = owned{m: t}
	default:
		s.outOwned = owned{}
	}
}

func sameMap(a, b map[string]any) bool {
	return *(*unsafe.Pointer)(unsafe.Pointer(&a)) == *(*unsafe.Pointer)(unsafe.Pointer(&b))
}
