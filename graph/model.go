package graph

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxLabel is the longest edge label, in runes, before it is shortened
// with an ellipsis.
const maxLabel = 60

// machine is one scope of states: the top level, a Parallel branch or a
// Map's item processor.
type machine struct {
	start  *node
	nodes  []*node // StartAt order (depth first), then unreachable ones by name
	byName map[string]*node
}

// node is one state.
type node struct {
	name string
	typ  string
	id   string
	obj  map[string]any
	// title is the subgraph title of a Map or Parallel state.
	title    string
	branches []*machine // Parallel: its branches; Map: its item processor
	// branchIDs are the subgraph ids of a Parallel state's branches.
	branchIDs []string
	// retries are the labels of the state's retriers, in order.
	retries []string
}

// edgeKind says how an edge is drawn.
type edgeKind int

const (
	edgeNext  edgeKind = iota // Next, Choice rules, Default, start and end
	edgeCatch                 // a Catcher: dashed
	edgeRetry                 // a Retrier: dotted self-loop
)

// edge is a transition. A nil from is the start marker, a nil to the end
// marker.
type edge struct {
	from, to *node
	label    string
	kind     edgeKind
}

// model is a whole definition ready to be drawn.
type model struct {
	top   *machine
	edges []edge
	ids   map[string]bool
}

// build checks the shape of a decoded definition and builds its model.
func build(def any) (*model, error) {
	m := &model{ids: map[string]bool{}}
	top, err := m.machine(def, "")
	if err != nil {
		return nil, err
	}
	m.top = top
	m.edges = append(m.edges, edge{to: top.start})
	if err := m.link(top, true, ""); err != nil {
		return nil, err
	}
	return m, nil
}

// machine reads a {StartAt, States} object; ptr locates it in errors.
func (m *model) machine(v any, ptr string) (*machine, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: a state machine must be a JSON object with StartAt and States", where(ptr))
	}
	start, ok := obj["StartAt"].(string)
	if !ok {
		return nil, fmt.Errorf("%s: StartAt is missing or not a string", where(ptr+"/StartAt"))
	}
	states, ok := obj["States"].(map[string]any)
	if !ok || len(states) == 0 {
		return nil, fmt.Errorf("%s: States is missing, empty or not an object", where(ptr+"/States"))
	}
	mc := &machine{byName: make(map[string]*node, len(states))}
	for _, name := range slices.Sorted(maps.Keys(states)) {
		sptr := ptr + "/States/" + escapePointer(name)
		so, ok := states[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: a state must be a JSON object", where(sptr))
		}
		typ, _ := so["Type"].(string)
		if typ == "" {
			return nil, fmt.Errorf("%s: Type is missing or not a string", where(sptr+"/Type"))
		}
		mc.byName[name] = &node{name: name, typ: typ, obj: so}
	}
	mc.start = mc.byName[start]
	if mc.start == nil {
		return nil, fmt.Errorf("%s: StartAt names no state %q", where(ptr+"/StartAt"), start)
	}
	// Order: depth first from StartAt, following transitions in the order
	// they are written; then whatever is unreachable, by name.
	seen := map[*node]bool{}
	var visit func(n *node)
	visit = func(n *node) {
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		mc.nodes = append(mc.nodes, n)
		for _, next := range successors(n.obj) {
			visit(mc.byName[next])
		}
	}
	visit(mc.start)
	for _, name := range slices.Sorted(maps.Keys(states)) {
		visit(mc.byName[name])
	}
	// Ids in that order, so that they do not depend on map order.
	for _, n := range mc.nodes {
		n.id = m.newID(n.name)
		sptr := ptr + "/States/" + escapePointer(n.name)
		switch n.typ {
		case "Parallel":
			bs, ok := n.obj["Branches"].([]any)
			if !ok || len(bs) == 0 {
				return nil, fmt.Errorf("%s: Branches is missing, empty or not an array", where(sptr+"/Branches"))
			}
			for i, b := range bs {
				bm, err := m.machine(b, sptr+"/Branches/"+strconv.Itoa(i))
				if err != nil {
					return nil, err
				}
				n.branches = append(n.branches, bm)
				n.branchIDs = append(n.branchIDs, m.newID(n.name+"_branch"+strconv.Itoa(i+1)))
			}
			n.title = n.name + " (Parallel)"
		case "Map":
			field := "ItemProcessor"
			proc, ok := n.obj[field]
			if !ok {
				field = "Iterator"
				proc, ok = n.obj[field]
			}
			if !ok {
				return nil, fmt.Errorf("%s: a Map state needs an ItemProcessor", where(sptr))
			}
			bm, err := m.machine(proc, sptr+"/"+field)
			if err != nil {
				return nil, err
			}
			n.branches = []*machine{bm}
			n.title = n.name + " (Map)"
		}
		n.retries = retryLabels(n.obj)
		if len(n.branches) > 0 && len(n.retries) > 0 {
			n.title += " · " + strings.Join(n.retries, " · ")
		}
	}
	return mc, nil
}

// link adds the edges of every state of mc, then of the scopes inside.
func (m *model) link(mc *machine, top bool, ptr string) error {
	target := func(n *node, name, field string) (*node, error) {
		t := mc.byName[name]
		if t == nil {
			return nil, fmt.Errorf("%s: %s names no state %q in its scope", where(ptr+"/States/"+escapePointer(n.name)), field, name)
		}
		return t, nil
	}
	for _, n := range mc.nodes {
		o := n.obj
		if n.typ == "Choice" {
			rules, _ := o["Choices"].([]any)
			for i, r := range rules {
				rm, _ := r.(map[string]any)
				next, _ := rm["Next"].(string)
				t, err := target(n, next, fmt.Sprintf("Choices[%d].Next", i))
				if err != nil {
					return err
				}
				m.edges = append(m.edges, edge{from: n, to: t, label: shorten(ruleLabel(rm))})
			}
			if d, ok := o["Default"].(string); ok {
				t, err := target(n, d, "Default")
				if err != nil {
					return err
				}
				m.edges = append(m.edges, edge{from: n, to: t, label: "default"})
			}
		}
		if next, ok := o["Next"].(string); ok && n.typ != "Choice" {
			t, err := target(n, next, "Next")
			if err != nil {
				return err
			}
			m.edges = append(m.edges, edge{from: n, to: t})
		}
		if end, _ := o["End"].(bool); end && top {
			m.edges = append(m.edges, edge{from: n})
		}
		catches, _ := o["Catch"].([]any)
		for i, c := range catches {
			cm, _ := c.(map[string]any)
			next, _ := cm["Next"].(string)
			t, err := target(n, next, fmt.Sprintf("Catch[%d].Next", i))
			if err != nil {
				return err
			}
			m.edges = append(m.edges, edge{from: n, to: t, label: shorten(strings.Join(strs(cm["ErrorEquals"]), ", ")), kind: edgeCatch})
		}
		if len(n.branches) == 0 {
			for _, r := range n.retries {
				m.edges = append(m.edges, edge{from: n, to: n, label: shorten(r), kind: edgeRetry})
			}
		}
		for i, b := range n.branches {
			bptr := ptr + "/States/" + escapePointer(n.name) + "/Branches/" + strconv.Itoa(i)
			if n.typ == "Map" {
				bptr = ptr + "/States/" + escapePointer(n.name) + "/ItemProcessor"
			}
			if err := m.link(b, false, bptr); err != nil {
				return err
			}
		}
	}
	return nil
}

// newID returns a node id made of ASCII letters, digits and underscores,
// unique in the model: "s_" and the state name with every other character
// replaced by '_', with a numeric suffix when two names collide.
// reachesEnd reports whether an edge leads to the end of the execution.
func (m *model) reachesEnd() bool {
	for _, e := range m.edges {
		if e.to == nil {
			return true
		}
	}
	return false
}

func (m *model) newID(name string) string {
	var b strings.Builder
	b.WriteString("s_")
	for _, r := range name {
		if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	id := b.String()
	for i := 2; m.ids[id]; i++ {
		id = b.String() + "_" + strconv.Itoa(i)
	}
	m.ids[id] = true
	return id
}

// successors lists the states a state can go to, in the order written.
func successors(o map[string]any) []string {
	var out []string
	if rules, ok := o["Choices"].([]any); ok {
		for _, r := range rules {
			if rm, ok := r.(map[string]any); ok {
				if s, ok := rm["Next"].(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	for _, k := range []string{"Default", "Next"} {
		if s, ok := o[k].(string); ok {
			out = append(out, s)
		}
	}
	if cs, ok := o["Catch"].([]any); ok {
		for _, c := range cs {
			if cm, ok := c.(map[string]any); ok {
				if s, ok := cm["Next"].(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// retryLabels renders each Retrier as "retry 3x: FirstError +N" (N more
// errors), 3x being MaxAttempts.
func retryLabels(o map[string]any) []string {
	rs, _ := o["Retry"].([]any)
	var out []string
	for _, r := range rs {
		rm, _ := r.(map[string]any)
		attempts := "3"
		if v, ok := rm["MaxAttempts"]; ok {
			attempts = number(v)
		}
		errs := strs(rm["ErrorEquals"])
		label := "retry " + attempts + "x"
		if len(errs) > 0 {
			label += ": " + errs[0]
		}
		if len(errs) > 1 {
			label += " +" + strconv.Itoa(len(errs)-1)
		}
		out = append(out, label)
	}
	return out
}

// compareOps maps a Choice comparison (without the Path suffix) to an
// operator.
var compareOps = map[string]string{
	"StringEquals": "==", "StringLessThan": "<", "StringGreaterThan": ">",
	"StringLessThanEquals": "<=", "StringGreaterThanEquals": ">=", "StringMatches": "matches",
	"NumericEquals": "==", "NumericLessThan": "<", "NumericGreaterThan": ">",
	"NumericLessThanEquals": "<=", "NumericGreaterThanEquals": ">=",
	"BooleanEquals":   "==",
	"TimestampEquals": "==", "TimestampLessThan": "<", "TimestampGreaterThan": ">",
	"TimestampLessThanEquals": "<=", "TimestampGreaterThanEquals": ">=",
}

// typeTests maps the Is* tests to what they say.
var typeTests = map[string]string{
	"IsNull": "null", "IsPresent": "present", "IsNumeric": "numeric",
	"IsString": "a string", "IsBoolean": "a boolean", "IsTimestamp": "a timestamp",
}

// ruleLabel renders a Choice rule (JSONPath or JSONata) in one short line.
func ruleLabel(r map[string]any) string {
	if c, ok := r["Condition"]; ok {
		if s, ok := c.(string); ok {
			s = strings.TrimSpace(s)
			if strings.HasPrefix(s, "{%") && strings.HasSuffix(s, "%}") {
				s = strings.TrimSpace(s[2 : len(s)-2])
			}
			return strings.Join(strings.Fields(s), " ")
		}
		return jsonText(c)
	}
	for _, op := range []string{"And", "Or"} {
		if subs, ok := r[op].([]any); ok {
			parts := make([]string, 0, len(subs))
			for _, s := range subs {
				sm, _ := s.(map[string]any)
				parts = append(parts, nested(sm))
			}
			return strings.Join(parts, " "+strings.ToLower(op)+" ")
		}
	}
	if sub, ok := r["Not"].(map[string]any); ok {
		return "not " + nested(sub)
	}
	v, _ := r["Variable"].(string)
	for _, k := range slices.Sorted(maps.Keys(r)) {
		if k == "Variable" || k == "Next" || k == "Comment" || k == "Assign" || k == "Output" {
			continue
		}
		base, isPath := strings.CutSuffix(k, "Path")
		if op, ok := compareOps[base]; ok {
			val := jsonText(r[k])
			if isPath {
				val, _ = r[k].(string)
			}
			return v + " " + op + " " + val
		}
		if what, ok := typeTests[k]; ok {
			if b, _ := r[k].(bool); b {
				return v + " is " + what
			}
			return v + " is not " + what
		}
	}
	return "rule"
}

// nested renders a rule inside And, Or or Not, in parentheses when it is
// itself a combination.
func nested(r map[string]any) string {
	s := ruleLabel(r)
	for _, k := range []string{"And", "Or", "Not"} {
		if _, ok := r[k]; ok {
			return "(" + s + ")"
		}
	}
	return s
}

// shorten cuts s to maxLabel runes, ending it with an ellipsis.
func shorten(s string) string {
	if utf8.RuneCountInString(s) <= maxLabel {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:maxLabel-1])) + "…"
}

// jsonText renders a scalar as text: strings in single quotes, the rest as
// JSON.
func jsonText(v any) string {
	switch t := v.(type) {
	case string:
		// Single quotes keep the label readable in both formats.
		return "'" + strings.ReplaceAll(strings.ReplaceAll(t, `\`, `\\`), "'", `\'`) + "'"
	case nil:
		return "null"
	case bool, int64, float64, int:
		return number(t)
	}
	return fmt.Sprint(v)
}

// number renders a JSON number or boolean.
func number(v any) string {
	switch t := v.(type) {
	case int64:
		return strconv.FormatInt(t, 10)
	case int:
		return strconv.Itoa(t)
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	}
	return fmt.Sprint(v)
}

// strs returns the strings of a JSON array.
func strs(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, e := range a {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func where(ptr string) string {
	if ptr == "" {
		return "the definition"
	}
	return ptr
}
