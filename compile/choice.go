package compile

import (
	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
)

// choice compiles a Choice state: the first rule whose condition holds on
// the effective input names the next state, else Default.
func (sc *stateCompiler) choice() {
	c := sc.c
	fl := sc.newFlow()
	sc.allow(fl.fields("Choice"), "Choices", "Default")
	fl.compile(sc, ioFields{input: true, output: true, assign: true})
	// The state's own Assign applies only when Default is taken; a rule's
	// Assign when that rule matches.
	defAssign := fl.splitAssign()
	fl.setOwnership(ownership{passThrough: true, inputKept: defAssign != nil || mentionsAssign(sc.obj["Choices"])})
	sc.st.SubValue = fl.passesInput()
	type rule struct {
		choiceRule
		next int
	}
	var rules []rule
	arr, ok := sc.obj["Choices"].([]any)
	if !ok || len(arr) == 0 {
		c.problem(sc.ptr, "a Choice state needs Choices: a non-empty array of rules")
	}
	for i, rv := range arr {
		rptr := diag.Pointer(sc.ptr, "Choices", itoa(i))
		obj, ok := rv.(map[string]any)
		if !ok {
			c.problem(rptr, "a Choice rule must be an object")
			continue
		}
		r := rule{next: express.End}
		if n, ok := obj["Next"]; ok {
			r.next = sc.b.target(sc.i, n, diag.Pointer(rptr, "Next"))
		} else {
			c.shape(rptr, "a Choice rule needs Next: the state to go to when it matches")
		}
		sc.model().Choices = append(sc.model().Choices, ChoiceModel{Rule: obj, Next: r.next, Pointer: rptr})
		r.choiceRule = fl.rule(sc, obj, rptr)
		rules = append(rules, r)
	}
	def := -1
	if v, ok := sc.obj["Default"]; ok {
		def = sc.b.target(sc.i, v, sc.field("Default"))
		sc.model().Default = def
	}
	sc.st.Exec = func(s *express.Scope, in any) (any, int, error) {
		eff, err := fl.effective(s, in)
		if err != nil {
			return nil, 0, err
		}
		for i := range rules {
			r := &rules[i]
			if r.cond == nil {
				continue
			}
			ok, err := r.cond(s, eff)
			if err != nil {
				return nil, 0, err
			}
			if !ok {
				continue
			}
			var assigned map[string]any
			if r.assign != nil {
				if assigned, err = r.assign(s, eff); err != nil {
					return nil, 0, err
				}
			}
			var out any
			if r.output != nil {
				if out, err = r.output(s, in); err != nil {
					return nil, 0, err
				}
			} else if out, err = fl.finish(s, in, eff); err != nil {
				return nil, 0, err
			}
			if assigned != nil {
				s.Assign(assigned)
			}
			return out, r.next, nil
		}
		if def < 0 {
			// AWS reports this as States.Runtime (not States.NoChoiceMatched).
			return nil, 0, s.Runtime("No Choice rule matched and no Default is set")
		}
		var assigned map[string]any
		if defAssign != nil {
			if assigned, err = defAssign(s, in, eff); err != nil {
				return nil, 0, err
			}
		}
		out, err := fl.finish(s, in, eff)
		if err == nil && assigned != nil {
			s.Assign(assigned)
		}
		return out, def, err
	}
}

// mentionsAssign reports whether any Choice rule has an Assign.
func mentionsAssign(v any) bool {
	rules, _ := v.([]any)
	for _, r := range rules {
		if m, ok := r.(map[string]any); ok {
			if _, has := m["Assign"]; has {
				return true
			}
		}
	}
	return false
}
