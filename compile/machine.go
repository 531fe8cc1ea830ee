package compile

import (
	"fmt"
	"sort"

	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
)

type queryLang int

const (
	langJSONPath queryLang = iota
	langJSONata
)

func (c *compiler) queryLanguage(v any, ptr string, outer queryLang) queryLang {
	s, ok := v.(string)
	switch {
	case ok && s == "JSONPath":
		if outer == langJSONata {
			c.problem(ptr, "a state cannot use JSONPath when its state machine uses JSONata: remove QueryLanguage here or set the top-level QueryLanguage to JSONPath")
		}
		return langJSONPath
	case ok && s == "JSONata":
		return langJSONata
	}
	c.problem(ptr, "QueryLanguage must be \"JSONPath\" or \"JSONata\", not %s", describe(v))
	return outer
}

// machine compiles a StartAt/States object: the state machine or a branch.
func (c *compiler) machine(def map[string]any, ptr string, lang queryLang, kind scopeKind) (*express.Machine, *MachineModel) {
	m := &express.Machine{UsesContext: c.usesContext}
	mm := &MachineModel{Pointer: ptr, Start: -1}
	statesV, ok := def["States"]
	if !ok {
		c.shape(ptr, "States is missing: a state machine needs an object of named states")
	}
	states, isObj := statesV.(map[string]any)
	if ok && !isObj {
		c.shape(diag.Pointer(ptr, "States"), "States must be an object of named states")
	}
	if ok && isObj && len(states) == 0 {
		c.shape(diag.Pointer(ptr, "States"), "States must contain at least one state")
	}
	names := make([]string, 0, len(states))
	for n := range states {
		names = append(names, n)
	}
	sort.Strings(names)
	index := make(map[string]int, len(names))
	for i, n := range names {
		index[n] = i
	}
	startV, ok := def["StartAt"]
	m.Start = -1
	if !ok {
		c.shape(ptr, "StartAt is missing: name the first state to run")
	} else if s, ok := c.shapeStr(startV, diag.Pointer(ptr, "StartAt")); ok {
		if i, found := index[s]; found {
			m.Start = i
		} else if len(names) > 0 {
			c.shape(diag.Pointer(ptr, "StartAt"), "no state named %q%s", s, suggest(s, nameSet(names)))
		}
	}
	mm.Start = m.Start
	b := &machineBuilder{c: c, index: index, names: names, lang: lang, kind: kind, edges: make([][]int, len(names)), flows: make([]flow, len(names)), model: mm, arena: &arenaPlan{}}
	m.States = make([]*express.State, len(names))
	mm.States = make([]*StateModel, len(names))
	for i, n := range names {
		sptr := diag.Pointer(ptr, "States", n)
		mm.States[i] = &StateModel{Name: n, Pointer: sptr, Next: -1, Default: -1}
		if len(n) > 80 {
			c.problem(sptr, "state names must be at most 80 characters")
		}
		obj, ok := states[n].(map[string]any)
		if !ok {
			c.shape(sptr, "a state must be an object with a Type")
			m.States[i] = c.numbered(&express.State{Name: n})
			continue
		}
		st, blocking := b.state(i, n, obj, sptr)
		m.States[i] = st
		m.Blocking = m.Blocking || blocking
	}
	for i, f := range b.flows {
		if f != nil {
			f.plan(b, i)
		}
	}
	// Every state must be reachable from StartAt.
	if m.Start >= 0 {
		seen := walk(b.edges, m.Start)
		for i, n := range names {
			if !seen[i] {
				c.problem(diag.Pointer(ptr, "States", n), "state %q is unreachable: no Next, Default or Catch leads to it from StartAt", n)
			}
		}
	}
	return m, mm
}

func nameSet(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// numbered gives st the next State.ID and records it for
// Machine.AllStates.
func (c *compiler) numbered(st *express.State) *express.State {
	st.ID = len(c.states)
	c.states = append(c.states, st)
	return st
}

type machineBuilder struct {
	c     *compiler
	index map[string]int
	names []string
	lang  queryLang
	kind  scopeKind
	edges [][]int
	// flows holds each state's flow (nil for states that failed to
	// compile before making one).
	flows []flow
	// model is the machine's Model.
	model *MachineModel
	// arena adds up the fields the machine's states' objects have room
	// for, filled in as their flows plan (see jsonv.Arena).
	arena *arenaPlan
}

// arenaPlan is what the objects built in one run of a machine ask for:
// the first arena allocation of a scope has room for all of them.
type arenaPlan struct {
	fields int
}

// target resolves a Next/Default name to a state index and records the edge.
func (b *machineBuilder) target(from int, v any, ptr string) int {
	s, ok := b.c.shapeStr(v, ptr)
	if !ok {
		return express.End
	}
	i, found := b.index[s]
	if !found {
		b.c.shape(ptr, "no state named %q%s", s, suggest(s, nameSet(b.names)))
		return express.End
	}
	b.edges[from] = append(b.edges[from], i)
	return i
}

// transition reads Next/End of a state that needs one.
func (b *machineBuilder) transition(from int, obj map[string]any, ptr string) int {
	next, hasNext := obj["Next"]
	end, hasEnd := obj["End"]
	switch {
	case hasNext && hasEnd:
		b.c.problem(ptr, "a state cannot have both Next and End: keep one")
	case hasNext:
		i := b.target(from, next, diag.Pointer(ptr, "Next"))
		b.model.States[from].Next = i
		return i
	case hasEnd:
		if e, ok := end.(bool); !ok || !e {
			b.c.problem(diag.Pointer(ptr, "End"), "End must be true (or use Next)")
		} else {
			b.model.States[from].End = true
		}
	default:
		b.c.problem(ptr, "the state needs either \"Next\" (the state to go to) or \"End\": true")
	}
	return express.End
}

func (b *machineBuilder) state(i int, name string, obj map[string]any, ptr string) (*express.State, bool) {
	c := b.c
	st := c.numbered(&express.State{Name: name, ExitEvents: 1})
	typ, ok := obj["Type"].(string)
	if !ok {
		if _, has := obj["Type"]; !has {
			c.shape(ptr, "Type is missing: use one of Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map")
		} else {
			c.shape(diag.Pointer(ptr, "Type"), "Type must be a string")
		}
		return st, false
	}
	st.Type = typ
	b.model.States[i].Type = typ
	lang := b.c.innerLang(obj, ptr, b.lang)
	sc := &stateCompiler{b: b, c: c, i: i, name: name, obj: obj, ptr: ptr, lang: lang, st: st}
	blocking := false
	switch typ {
	case "Pass":
		sc.pass()
	case "Task":
		sc.task()
		blocking = true
	case "Choice":
		sc.choice()
	case "Wait":
		sc.wait()
		blocking = true
	case "Succeed":
		sc.succeed()
	case "Fail":
		sc.fail()
	case "Parallel":
		blocking = sc.parallel()
	case "Map":
		blocking = sc.mapState()
	default:
		c.problem(diag.Pointer(ptr, "Type"), "unknown state type %q: use one of Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map%s", typ,
			suggest(typ, fieldSet("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")))
	}
	switch typ {
	case "Pass", "Choice", "Wait", "Succeed", "Fail":
		st.CallsNothing = true
	}
	if st.Exec == nil {
		st.Exec = func(s *express.Scope, in any) (any, int, error) {
			return nil, express.End, fmt.Errorf("state %q was not compiled", name)
		}
	}
	return st, blocking
}

// stateCompiler holds what compiling one state needs.
type stateCompiler struct {
	b    *machineBuilder
	c    *compiler
	i    int
	name string
	obj  map[string]any
	ptr  string
	lang queryLang
	st   *express.State
}

func (sc *stateCompiler) field(name string) string { return diag.Pointer(sc.ptr, name) }

// common fields every state may have.
var commonFields = []string{"Type", "Comment", "QueryLanguage"}

// allow reports the fields of the state that neither its query language
// (langFields) nor its type (own) has.
func (sc *stateCompiler) allow(langFields []string, own ...string) {
	all := fieldSet(append(append(own, langFields...), commonFields...)...)
	sc.c.allowed(sc.obj, sc.ptr, all)
}

// innerLang is the query language of a state, a branch or an item
// processor (obj at ptr) in a scope of language outer: its own
// QueryLanguage, else outer's.
func (c *compiler) innerLang(obj map[string]any, ptr string, outer queryLang) queryLang {
	if v, ok := obj["QueryLanguage"]; ok {
		return c.queryLanguage(v, diag.Pointer(ptr, "QueryLanguage"), outer)
	}
	return outer
}
