package compile

import (
	"time"

	"github.com/stepstream/express/aslpath"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// flow is a state's query language: its data flow (how the effective input
// is made from the raw input, how the output is made from the result, which
// variables the state assigns) and the evaluators of the fields whose form
// depends on the language (Seconds or SecondsPath, ItemsPath or Items, a
// Choice rule...). pathFlow (flow_jsonpath.go) is JSONPath, jaFlow
// (flow_jsonata.go) JSONata. The state types (pass.go, task.go, choice.go,
// wait.go, end.go, parallel.go, map.go, catch.go) are written against this
// interface only; a second query language is a new flow, nothing else.
//
// A flow is made empty by newFlow, compiled by compile and the other
// compile-time methods, and then run: executions call only effective and
// finish (and the closures the flow compiled), never a compile-time method.
type flow interface {
	// fields lists the fields the language adds to a state type ("Pass",
	// "Task"... and "Catch" for a catcher), besides those every language
	// has, which the state type lists itself.
	fields(stateType string) []string
	// compile compiles the data-flow fields the state type has.
	compile(sc *stateCompiler, f ioFields)

	// effective turns the raw state input into the effective input
	// (InputPath + Parameters, or Arguments).
	effective(s *express.Scope, in any) (any, error)
	// finish turns the raw input and the state's result into the state
	// output and applies Assign. Variables assigned are visible only after
	// the output is computed, as in AWS.
	finish(s *express.Scope, in, result any) (any, error)

	// splitAssign removes the state-level Assign from the flow and returns
	// it (nil when there is none), for states that decide when it applies.
	splitAssign() assignFn
	// setOwnership tells the flow what the state does with its input, so
	// that it can reuse objects it owns (see express.Scope.OwnsInput).
	setOwnership(o ownership)
	// setResult tells the flow what the result of a Pass or Task is, for
	// its ownership and size bookkeeping; lit is a Pass's Result.
	setResult(kind resultKind, lit any)
	// plan is called once every state of the machine is compiled, with
	// the machine's transitions: a flow may prepare for what the states
	// after it do (state i is its own).
	plan(b *machineBuilder, i int)
	// passesInput reports whether the output of a state that passes its
	// input through (Choice, Wait, Succeed) is always its input or a part
	// of it (express.State.SubValue).
	passesInput() bool

	// catcher compiles a Catch entry's data fields into the function that
	// makes the input of its Next state.
	catcher(sc *stateCompiler, obj map[string]any, ptr string) catchFn
	// seconds compiles a positive number of seconds (TimeoutSeconds,
	// HeartbeatSeconds); nil when the state has none.
	seconds(sc *stateCompiler, field string) durationFn
	// waitUntil compiles Wait's Seconds or Timestamp: when the wait ends.
	waitUntil(sc *stateCompiler) timeFn
	// failField compiles Fail's Error or Cause; nil when absent. constant
	// reports a value that is the same in every execution (absent, or a
	// literal that fn returns without reading its arguments).
	failField(sc *stateCompiler, field string) (fn stringFn, constant bool)
	// rule compiles one Choice rule (not its Next).
	rule(sc *stateCompiler, obj map[string]any, ptr string) choiceRule
	// items compiles how a Map finds its items (ItemsPath, Items).
	items(sc *stateCompiler) itemsFn
	// itemSelector compiles a Map's ItemSelector (nil when absent).
	itemSelector(sc *stateCompiler) valueFn
	// number compiles a numeric field of a Map or of sc.obj's ItemBatcher
	// (MaxConcurrency, ToleratedFailureCount...).
	number(sc *stateCompiler, field string, integer bool) numberField
	// value compiles a payload field evaluated on the effective input
	// (ItemBatcher's BatchInput); field names it in messages.
	value(sc *stateCompiler, v any, field, ptr string) valueFn
	// credentials compiles a Task's Credentials (nil when absent or not
	// evaluated in this language).
	credentials(sc *stateCompiler, v any) valueFn
}

// The evaluators a flow compiles. in is the raw state input, eff the
// effective input.
type (
	valueFn    func(s *express.Scope, in any) (any, error)
	assignFn   func(s *express.Scope, in, result any) (map[string]any, error)
	catchFn    func(s *express.Scope, in any, errOut map[string]any) (any, error)
	durationFn func(s *express.Scope, in any) (time.Duration, error)
	timeFn     func(s *express.Scope, in any) (time.Time, error)
	stringFn   func(s *express.Scope, in any) (string, error)
	// itemsFn returns the items a Map iterates over.
	itemsFn func(s *express.Scope, in, eff any) ([]any, error)
)

// choiceRule is a compiled Choice rule: its condition and the Assign it
// applies when it matches, both on the effective input, and the Output it
// makes from the raw input (nil: the state's own).
type choiceRule struct {
	cond   func(s *express.Scope, eff any) (bool, error)
	assign func(s *express.Scope, eff any) (map[string]any, error)
	output valueFn
}

// numberField is a compiled numeric field: a literal (lit), or an
// expression evaluated per execution (eval).
type numberField struct {
	has  bool
	lit  float64
	eval func(s *express.Scope, eff any) (float64, error)
}

// value evaluates the field on the effective input (0 when absent).
func (nf *numberField) value(s *express.Scope, eff any) (float64, error) {
	if nf.eval == nil {
		return nf.lit, nil
	}
	return nf.eval(s, eff)
}

// literal reports whether the field is a literal number, which the
// compiler checks itself.
func (nf *numberField) literal() bool { return nf.has && nf.eval == nil }

// ioFields says which data-flow fields a state type has: InputPath,
// Parameters or Arguments, ResultSelector (in JSONata: Output and Assign
// see $states.result), ResultPath, OutputPath or Output, Assign.
type ioFields struct {
	input, params, resultSel, resultPath, output, assign bool
}

// newFlow makes the empty flow of the state's query language.
func (sc *stateCompiler) newFlow() flow {
	var fl flow
	if sc.lang == langJSONata {
		fl = newJAFlow()
	} else {
		fl = &pathFlow{}
	}
	sc.b.flows[sc.i] = fl
	return fl
}

// ownership says what a state does with its input and result, for reusing
// objects in place (see express.Scope.OwnsInput).
type ownership struct {
	// inputKept: the state may hand its raw input object (or a value that
	// contains it) to somebody else: a resource, branches, a variable, or
	// its own result. Such an input must never be modified.
	inputKept bool
	// freshResult: the result is an object the state has just built
	// (Parameters for a Pass without Result, ResultSelector for a Task).
	freshResult bool
	// passThrough: the result is the raw input itself (Choice, Wait,
	// Succeed); the flow knows whether its own fields keep it so.
	passThrough bool
}

// resultKind says what the result of a Pass or Task is.
type resultKind int

const (
	resultEffective resultKind = iota // Pass without Result: its effective input
	resultLiteral                     // Pass with Result: a literal
	resultInvoked                     // Task: the resource's answer
)

// stringOrJSON renders a value in a message: strings as they are, other
// values as JSON.
func stringOrJSON(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return jsonv.Marshal(v)
}

// quoteValue renders a value in an AWS cause: strings as they are, other
// values as JSON, in double quotes.
func quoteValue(v any) string {
	return "\"" + stringOrJSON(v) + "\""
}

// parseTimestamp parses an ISO-8601 extended offset date-time as AWS accepts
// it: date, 'T', time with optional fraction, and 'Z' or an offset.
func parseTimestamp(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// checkVarName reports a name Assign may not assign: not a variable name
// of at most aslpath.MaxVarNameLen bytes, or the reserved "states".
func (c *compiler) checkVarName(ptr, name string) {
	if len(name) > aslpath.MaxVarNameLen || !aslpath.ValidVarName(name) {
		c.problem(ptr, "%q is not a valid variable name: use letters, digits and underscores, not starting with a digit", name)
	}
	if name == "states" {
		c.problem(ptr, "$states is reserved and cannot be assigned")
	}
}
