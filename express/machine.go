package express

import "time"

// End is the Next index of a state that ends its machine (End: true, Succeed).
const End = -1

// Machine is a compiled list of states: a whole state machine, a Parallel
// branch or a Map item processor. It is immutable once built and safe for
// concurrent use by any number of executions.
type Machine struct {
	States []*State
	Start  int
	// Blocking is true when some state of the machine (or of a nested
	// machine) may wait: a Task, a Wait, a Map or Parallel with such states.
	// Map uses it to decide whether iterations need goroutines.
	Blocking bool
	// UsesContext is set when some state reads the context object ($$), so
	// that the time each state is entered must be recorded.
	UsesContext bool
	// AllStates is set on a workflow's top machine by package compile:
	// every state of the workflow, those of nested Map and Parallel
	// machines included, indexed by State.ID; its length is the number of
	// states. Hooks use it to keep per-state figures in slices.
	AllStates []*State
	// KeepsNoValues is set on a workflow's top machine by package
	// compile: no state of it keeps any part of an execution's values (its
	// input, what it builds) once the execution has ended, so its Result
	// may hand their memory back (Result.Release). A hand-built machine's
	// Exec functions may keep them (an input string in a test's log, say):
	// left false, Release hands nothing back.
	KeepsNoValues bool
}

// Exec is the compiled body of a state: it takes the state's raw input and
// returns its output (after all input and output processing) and the index of
// the next state, or End. It must not modify in: a state's input may be shared.
type Exec func(s *Scope, in any) (out any, next int, err error)

// State is one compiled state.
type State struct {
	Name string
	// ID is the state's index in its workflow's Machine.AllStates
	// (0..len-1, unique among all states of one compiled workflow, nested
	// machines included): hooks index per-state figures by it.
	ID   int
	Type string // "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"
	Exec Exec
	// Retry and Catch apply to Task, Parallel and Map states.
	Retry []Retrier
	Catch []Catcher
	// SubValue is set when the state's output is always its input or a part
	// of it (Choice, Succeed, Wait with at most InputPath/OutputPath): such
	// an output cannot be larger than the input, so its size is not checked.
	SubValue bool
	// ExitEvents is how many history events the state adds after its
	// Exec returns successfully (the StateExited event; 0 for Fail).
	ExitEvents int
	// CallsNothing is set when the state neither calls a resource nor runs
	// a nested machine (Pass, Choice, Wait, Succeed, Fail): nothing needs
	// to know how many times it was entered (see TaskRequest.CallKey), so
	// its entries are not counted.
	CallsNothing bool
}

// retrierFor returns the index of the state's Retrier that handles e: the
// first one whose ErrorEquals matches (only it counts, even when its
// attempts are spent); -1 when none does.
func (st *State) retrierFor(e *Error) int {
	for i := range st.Retry {
		if e.Matches(st.Retry[i].ErrorEquals) {
			return i
		}
	}
	return -1
}

// catcherFor returns the index of the first Catcher matching e, -1 when
// none does.
func (st *State) catcherFor(e *Error) int {
	for i := range st.Catch {
		if e.Matches(st.Catch[i].ErrorEquals) {
			return i
		}
	}
	return -1
}

// Retrier is one entry of a state's Retry list.
type Retrier struct {
	ErrorEquals []string
	Interval    time.Duration
	MaxAttempts int
	BackoffRate float64
	MaxDelay    time.Duration // 0: no cap
	FullJitter  bool
}

// Delay returns how long to wait before retry number attempt (0-based).
func (r *Retrier) Delay(attempt int, rnd func() float64) time.Duration {
	d := float64(r.Interval)
	for i := 0; i < attempt; i++ {
		d *= r.BackoffRate
		if r.MaxDelay > 0 && d > float64(r.MaxDelay) {
			break
		}
	}
	if r.MaxDelay > 0 && d > float64(r.MaxDelay) {
		d = float64(r.MaxDelay)
	}
	if r.FullJitter && rnd != nil {
		d *= rnd()
	}
	return time.Duration(d)
}

// Catcher is one entry of a state's Catch list. Apply turns the state's raw
// input and the error output into the next state's input (ResultPath) and
// performs the catcher's Assign.
type Catcher struct {
	ErrorEquals []string
	Next        int
	Apply       func(s *Scope, in any, errOut map[string]any) (any, error)
}
