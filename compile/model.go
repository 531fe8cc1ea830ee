package compile

import (
	"fmt"

	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
)

// Model is the shape of a definition as the compiler reads it: its state
// machines, their states and the transitions between them, each with its
// JSON pointer. Tools that draw or inspect a definition (package graph)
// read this instead of the raw definition, so that they see what the
// engine runs: Iterator read as ItemProcessor, transitions resolved to
// states of the same scope.
type Model struct {
	// Machine is the top-level state machine.
	Machine *MachineModel
}

// MachineModel is one state machine: the top level, a Parallel branch or
// a Map's item processor.
type MachineModel struct {
	// Pointer is the JSON pointer of its {StartAt, States} object.
	Pointer string
	// States are its states in name order; transitions are indexes into it.
	States []*StateModel
	// Start is the index of StartAt's state.
	Start int
}

// StateModel is one state. A transition is an index into its machine's
// States, or -1 for none.
type StateModel struct {
	Name, Type string
	Pointer    string
	// Next is Next's state (not for Choice); End is set for "End": true.
	Next int
	End  bool
	// Choices are a Choice state's rules in order; Default its Default.
	Choices []ChoiceModel
	Default int
	// Retry and Catch are a Task's, Parallel's or Map's.
	Retry []express.Retrier
	Catch []CatchModel
	// Branches are a Parallel state's branches in order, or a Map state's
	// item processor (one).
	Branches []*MachineModel
}

// ChoiceModel is one Choice rule.
type ChoiceModel struct {
	// Rule is the rule as written (for showing it).
	Rule    map[string]any
	Next    int
	Pointer string
}

// CatchModel is one catcher.
type CatchModel struct {
	ErrorEquals []string
	Next        int
	Pointer     string
}

// ModelOf compiles a decoded definition (as Parse returns it) and returns
// its model. The error is a diag.Problems of the problems that leave the
// shape unknown (no StartAt or States, a state without a Type, a
// transition or StartAt naming no state, a Parallel without Branches, a Map
// without ItemProcessor); other problems of the definition, which
// Validate reports, do not stop the model.
func ModelOf(doc any) (*Model, error) {
	c := &compiler{}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, diag.Problems{{Pointer: "", Message: "a definition must be a JSON object with StartAt and States"}}
	}
	_, m := c.machine(root, "", c.topLanguage(root), scopeTop)
	if len(c.shapeProblems) > 0 {
		return nil, c.shapeProblems
	}
	return &Model{Machine: m}, nil
}

// shape reports a problem that leaves the definition's shape unknown.
func (c *compiler) shape(ptr, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.problems.Add(ptr, msg)
	c.shapeProblems.Add(ptr, msg)
}

// shapeStr is c.str for a field the shape depends on.
func (c *compiler) shapeStr(v any, ptr string) (string, bool) {
	s, ok := v.(string)
	if !ok {
		c.shape(ptr, "must be a string, not %s", typeName(v))
	}
	return s, ok
}

// model is the StateModel of the state being compiled.
func (sc *stateCompiler) model() *StateModel { return sc.b.model.States[sc.i] }
