package console

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// This file is the one place that reads a state machine definition: it
// builds the console's graph model (Model) from the raw definition. When
// the compiler exports its typed model, only this file changes.

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

// ModelFromDefinition builds the model of a definition (JSON; the
// console shows definitions the compiler has already accepted, so it
// only checks what it reads).
func ModelFromDefinition(def []byte) (*Model, error) {
	var doc map[string]any
	if err := json.Unmarshal(def, &doc); err != nil {
		return nil, fmt.Errorf("console: definition: %w", err)
	}
	m := &Model{}
	start, err := m.scope(doc, -1, "")
	if err != nil {
		return nil, err
	}
	m.Start = start
	return m, nil
}

// scope adds the states of one {StartAt, States} object held by group g
// and returns its start state.
func (m *Model) scope(doc map[string]any, g int, ptr string) (string, error) {
	start, _ := doc["StartAt"].(string)
	states, ok := doc["States"].(map[string]any)
	if !ok || start == "" {
		return "", fmt.Errorf("console: %s: StartAt and States are required", ptrOr(ptr))
	}
	// StartAt first, then the order of a depth-first walk, then the rest
	// by name: a stable order whatever the JSON object's order.
	names := make([]string, 0, len(states))
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		o, ok := states[n].(map[string]any)
		if !ok || seen[n] {
			return
		}
		seen[n] = true
		names = append(names, n)
		for _, e := range successors(n, o) {
			walk(e.To)
		}
	}
	walk(start)
	var rest []string
	for n := range states {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	names = append(names, rest...)
	for _, n := range names {
		o, ok := states[n].(map[string]any)
		if !ok {
			return "", fmt.Errorf("console: %s/States/%s: not an object", ptrOr(ptr), n)
		}
		typ, _ := o["Type"].(string)
		for _, have := range m.Nodes {
			if have.Name == n {
				return "", fmt.Errorf("console: %s/States/%s: a state of that name already exists (names are unique in a state machine)", ptrOr(ptr), n)
			}
		}
		m.Nodes = append(m.Nodes, Node{Name: n, Type: typ, Group: g})
		m.Edges = append(m.Edges, successors(n, o)...)
		here := ptr + "/States/" + n
		switch typ {
		case "Parallel":
			bs, _ := o["Branches"].([]any)
			for i, b := range bs {
				bo, _ := b.(map[string]any)
				if err := m.nested(bo, n, i, fmt.Sprintf("%s/Branches/%d", here, i)); err != nil {
					return "", err
				}
			}
		case "Map":
			key := "ItemProcessor"
			if _, ok := o[key]; !ok {
				key = "Iterator"
			}
			bo, _ := o[key].(map[string]any)
			if err := m.nested(bo, n, 0, here+"/"+key); err != nil {
				return "", err
			}
		}
	}
	return start, nil
}

func (m *Model) nested(doc map[string]any, owner string, branch int, ptr string) error {
	g := len(m.Groups)
	m.Groups = append(m.Groups, Group{Owner: owner, Branch: branch})
	start, err := m.scope(doc, g, ptr)
	m.Groups[g].Start = start
	return err
}

// successors lists the transitions out of state name (object o).
func successors(name string, o map[string]any) []Edge {
	var out []Edge
	if n, ok := o["Next"].(string); ok {
		out = append(out, Edge{From: name, To: n, Kind: EdgeNext})
	}
	if cs, ok := o["Choices"].([]any); ok {
		for i, c := range cs {
			if co, ok := c.(map[string]any); ok {
				if n, ok := co["Next"].(string); ok {
					out = append(out, Edge{From: name, To: n, Kind: EdgeChoice, Label: fmt.Sprintf("rule %d", i+1)})
				}
			}
		}
	}
	if n, ok := o["Default"].(string); ok {
		out = append(out, Edge{From: name, To: n, Kind: EdgeDefault, Label: "Default"})
	}
	if cs, ok := o["Catch"].([]any); ok {
		for _, c := range cs {
			co, _ := c.(map[string]any)
			n, ok := co["Next"].(string)
			if !ok {
				continue
			}
			var errs []string
			for _, e := range asList(co["ErrorEquals"]) {
				if s, ok := e.(string); ok {
					errs = append(errs, s)
				}
			}
			out = append(out, Edge{From: name, To: n, Kind: EdgeCatch, Label: strings.Join(errs, ", ")})
		}
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func ptrOr(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
