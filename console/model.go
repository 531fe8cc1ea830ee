package console

import (
	"fmt"
	"strings"

	"github.com/stepstream/express/compile"
)

// This file is the one place that reads a state machine definition: it
// builds the console's graph model (Model) from the compiler's model
// (compile.ModelOf), as package graph does, so that the console draws
// what the engine runs (Iterator read as ItemProcessor, transitions
// resolved to states of the same scope).

// Model is what the console draws: every state of a definition (nested
// ones included), the transitions between them, and the scopes (Map item
// processors, Parallel branches) that hold nested states.
type Model struct {
	// Start is the top-level StartAt.
	Start string
	Nodes []Node
	Edges []Edge
	// Groups are the nested scopes, in definition order.
	Groups []Group
}

// Node is one state. Names are unique in a definition (ASL requires it).
type Node struct {
	Name string
	Type string
	// Group is the index in Model.Groups of the scope holding the state,
	// -1 for the top level.
	Group int
}

// EdgeKind says how a transition is taken.
type EdgeKind string

// Edge kinds.
const (
	EdgeNext    EdgeKind = "next"    // Next
	EdgeChoice  EdgeKind = "choice"  // a Choice rule
	EdgeDefault EdgeKind = "default" // a Choice's Default
	EdgeCatch   EdgeKind = "catch"   // a Catcher
)

// Edge is a transition between two states of the same scope.
type Edge struct {
	From, To string
	// Label says which rule or catcher it is ("rule 1", "States.ALL").
	Label string
	Kind  EdgeKind
}

// Group is a nested scope: a Map's item processor or one branch of a
// Parallel state.
type Group struct {
	// Owner is the Map or Parallel state; Branch the branch's index (0 for
	// a Map).
	Owner  string
	Branch int
	Start  string
}

// ModelFromDefinition builds the model of a definition (JSON or YAML, as
// compile.Parse reads it). Its error lists what leaves the shape unknown
// (compile.ModelOf), or names a state name used twice.
func ModelFromDefinition(def []byte) (*Model, error) {
	doc, err := compile.Parse(def)
	if err != nil {
		return nil, fmt.Errorf("console: definition: %w", err)
	}
	cm, err := compile.ModelOf(doc)
	if err != nil {
		return nil, fmt.Errorf("console: definition: %w", err)
	}
	m := &Model{}
	seen := map[string]bool{}
	if err := m.scope(cm.Machine, -1, seen); err != nil {
		return nil, err
	}
	m.Start = cm.Machine.States[cm.Machine.Start].Name
	return m, nil
}

// scope adds the states of machine mc, held by group g: its start state
// first, then in the order of a depth-first walk, then the rest in name
// order (the compiler's), whatever the JSON object's order.
func (m *Model) scope(mc *compile.MachineModel, g int, seen map[string]bool) error {
	var order []int
	visited := make([]bool, len(mc.States))
	var walk func(int)
	walk = func(i int) {
		if i < 0 || i >= len(mc.States) || visited[i] {
			return
		}
		visited[i] = true
		order = append(order, i)
		for _, e := range successors(mc, mc.States[i]) {
			walk(e.to)
		}
	}
	walk(mc.Start)
	for i := range mc.States {
		if !visited[i] {
			order = append(order, i)
		}
	}
	for _, i := range order {
		st := mc.States[i]
		if seen[st.Name] {
			return fmt.Errorf("console: %s: a state named %q already exists (names are unique in a state machine)", st.Pointer, st.Name)
		}
		seen[st.Name] = true
		m.Nodes = append(m.Nodes, Node{Name: st.Name, Type: st.Type, Group: g})
		for _, e := range successors(mc, st) {
			e.Edge.To = mc.States[e.to].Name
			m.Edges = append(m.Edges, e.Edge)
		}
		for b, bm := range st.Branches {
			gi := len(m.Groups)
			m.Groups = append(m.Groups, Group{Owner: st.Name, Branch: b, Start: bm.States[bm.Start].Name})
			if err := m.scope(bm, gi, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

type succ struct {
	Edge
	to int
}

// successors lists the transitions out of st (To is filled in by the
// caller from the index).
func successors(mc *compile.MachineModel, st *compile.StateModel) []succ {
	var out []succ
	ok := func(i int) bool { return i >= 0 && i < len(mc.States) }
	if st.Type != "Choice" && ok(st.Next) {
		out = append(out, succ{Edge{From: st.Name, Kind: EdgeNext}, st.Next})
	}
	for i, c := range st.Choices {
		if ok(c.Next) {
			out = append(out, succ{Edge{From: st.Name, Kind: EdgeChoice, Label: fmt.Sprintf("rule %d", i+1)}, c.Next})
		}
	}
	if st.Type == "Choice" && ok(st.Default) {
		out = append(out, succ{Edge{From: st.Name, Kind: EdgeDefault, Label: "Default"}, st.Default})
	}
	for _, c := range st.Catch {
		if ok(c.Next) {
			out = append(out, succ{Edge{From: st.Name, Kind: EdgeCatch, Label: strings.Join(c.ErrorEquals, ", ")}, c.Next})
		}
	}
	return out
}
