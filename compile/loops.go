package compile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
)

// Check is Validate plus warnings: for a valid definition, the things AWS
// accepts that are almost certainly mistakes (see Warnings). A definition
// is valid when the result has no Errors.
func Check(def []byte) diag.Problems {
	ps := Validate(def)
	if len(ps) > 0 {
		return ps
	}
	doc, err := Parse(def)
	if err != nil {
		return diag.Problems{{Message: err.Error()}}
	}
	return Warnings(doc)
}

// Warnings lists the warnings of a decoded definition (which should be
// valid: a definition whose shape cannot be read has none). There is one
// kind: a loop of states with no way out, in the state machine or in a
// Parallel branch or Map item processor. An execution that enters such a
// loop can only end when it reaches its time limit, after 5 minutes of
// work for nothing.
func Warnings(doc any) diag.Problems {
	var ps diag.Problems
	if m, err := ModelOf(doc); err == nil {
		loopWarnings(m.Machine, &ps)
	}
	return ps
}

// loopWarnings warns about every loop of the machine m from which no state
// can end it, and looks into its Parallel branches and Map item
// processors.
//
// A state can end its machine when it has End, is a Succeed or Fail, is a
// Choice without Default (no matching rule fails the execution), or is a
// Task, Parallel or Map without a States.ALL catcher: its errors may end
// the execution, which is how a polling loop of Tasks (with Retry) stops.
// A loop is warned about when it is reachable from StartAt and no path from
// it leads to such a state through Next, Choice rules, Default or Catch.
func loopWarnings(m *MachineModel, ps *diag.Problems) {
	n := len(m.States)
	succ := make([][]int, n)
	pred := make([][]int, n)
	var exits []int
	for i, st := range m.States {
		if canEnd(st) {
			exits = append(exits, i)
		}
		for _, j := range transitions(st) {
			succ[i] = append(succ[i], j)
			pred[j] = append(pred[j], i)
		}
		for _, b := range st.Branches {
			loopWarnings(b, ps)
		}
	}
	reach, out := walk(succ, m.Start), walk(pred, exits...)
	trapped := make([]bool, n)
	for i := range trapped {
		trapped[i] = reach[i] && !out[i]
	}
	for _, loop := range loops(succ, trapped) {
		quoted := make([]string, len(loop))
		for k, i := range loop {
			quoted[k] = fmt.Sprintf("%q", m.States[i].Name)
		}
		what := "state " + quoted[0] + " loops to itself"
		if len(loop) > 1 {
			what = "states " + strings.Join(quoted, ", ") + " loop"
		}
		ps.Warn(m.States[loop[0]].Pointer, what+" with no way out: no path from there leads to End, Succeed, Fail, "+
			"a Choice without Default or a Task, Parallel or Map whose errors are not all caught, so an execution that gets here "+
			"runs until its time limit (5 minutes, or TimeoutSeconds) and times out")
	}
}

// transitions lists the states a state may go to: Next, Default, its
// Choice rules' and its catchers' Next.
func transitions(st *StateModel) []int {
	var out []int
	add := func(i int) {
		if i >= 0 {
			out = append(out, i)
		}
	}
	add(st.Next)
	add(st.Default)
	for _, c := range st.Choices {
		add(c.Next)
	}
	for _, c := range st.Catch {
		add(c.Next)
	}
	return out
}

// canEnd reports whether a state may end its machine by itself (see
// loopWarnings).
func canEnd(st *StateModel) bool {
	if st.End {
		return true
	}
	switch st.Type {
	case "Succeed", "Fail":
		return true
	case "Choice":
		return st.Default < 0
	case "Task", "Parallel", "Map":
		for _, c := range st.Catch {
			if slices.Contains(c.ErrorEquals, express.ErrALL) {
				return false
			}
		}
		return true
	}
	return false
}

// walk marks the nodes reachable from the roots along edges.
func walk(edges [][]int, roots ...int) []bool {
	seen := make([]bool, len(edges))
	stack := slices.Clone(roots)
	for _, r := range roots {
		seen[r] = true
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, j := range edges[i] {
			if !seen[j] {
				seen[j] = true
				stack = append(stack, j)
			}
		}
	}
	return seen
}

// loops returns the strongly connected components of the graph restricted
// to the nodes in keep that contain a cycle (more than one node, or one
// with an edge to itself), each sorted, ordered by their first node
// (Tarjan's algorithm).
func loops(succ [][]int, keep []bool) [][]int {
	n := len(succ)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var out [][]int
	next := 0
	var connect func(v int)
	connect = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		self := false
		for _, w := range succ[v] {
			switch {
			case !keep[w]:
			case w == v:
				self = true
			case index[w] < 0:
				connect(w)
				low[v] = min(low[v], low[w])
			case onStack[w]:
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] != index[v] {
			return
		}
		var comp []int
		for {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[w] = false
			comp = append(comp, w)
			if w == v {
				break
			}
		}
		if len(comp) > 1 || self {
			slices.Sort(comp)
			out = append(out, comp)
		}
	}
	for v := range succ {
		if keep[v] && index[v] < 0 {
			connect(v)
		}
	}
	slices.SortFunc(out, func(a, b []int) int { return a[0] - b[0] })
	return out
}
