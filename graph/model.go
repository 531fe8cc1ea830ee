package graph

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
)

// maxLabel is the longest edge label, in runes, before it is shortened
// with an ellipsis.
const maxLabel = 60

// machine is one scope of states: the top level, a Parallel branch or a
// Map's item processor.
type machine struct {
	start *node
	nodes []*node // StartAt order (depth first), then unreachable ones by name
	// all are the nodes in the compiler's order (by name), as its
	// transitions index them.
	all []*node
}

// node is one state.
type node struct {
	name string
	typ  string
	id   string
	st   *compile.StateModel
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

// build reads a decoded definition through the compiler's model
// (compile.ModelOf); its error lists what leaves the shape unknown.
func build(def any) (*model, error) {
	cm, err := compile.ModelOf(def)
	if err != nil {
		return nil, err
	}
	m := &model{ids: map[string]bool{}}
	m.top = m.machine(cm.Machine)
	m.edges = append(m.edges, edge{to: m.top.start})
	m.link(m.top, true)
	return m, nil
}

// machine makes the nodes of a compiled machine, ordered and with ids.
func (m *model) machine(cm *compile.MachineModel) *machine {
	mc := &machine{all: make([]*node, len(cm.States))}
	for i, st := range cm.States {
		mc.all[i] = &node{name: st.Name, typ: st.Type, st: st}
	}
	mc.start = mc.all[cm.Start]
	// Order: depth first from StartAt, following transitions in the order
	// they are written; then whatever is unreachable, by name.
	seen := map[*node]bool{}
	var visit func(n *node)
	visit = func(n *node) {
		if seen[n] {
			return
		}
		seen[n] = true
		mc.nodes = append(mc.nodes, n)
		for _, next := range successors(n.st) {
			visit(mc.all[next])
		}
	}
	visit(mc.start)
	for _, n := range mc.all {
		visit(n)
	}
	// Ids in that order, so that they do not depend on map order.
	for _, n := range mc.nodes {
		n.id = m.newID(n.name)
		for i, b := range n.st.Branches {
			n.branches = append(n.branches, m.machine(b))
			if n.typ == "Parallel" {
				n.branchIDs = append(n.branchIDs, m.newID(n.name+"_branch"+strconv.Itoa(i+1)))
			}
		}
		if len(n.branches) > 0 {
			n.title = n.name + " (" + n.typ + ")"
		}
		n.retries = retryLabels(n.st.Retry)
		if len(n.branches) > 0 && len(n.retries) > 0 {
			n.title += " · " + strings.Join(n.retries, " · ")
		}
	}
	return mc
}

// link adds the edges of every state of mc, then of the scopes inside.
func (m *model) link(mc *machine, top bool) {
	for _, n := range mc.nodes {
		st := n.st
		for _, r := range st.Choices {
			m.edges = append(m.edges, edge{from: n, to: mc.all[r.Next], label: shorten(ruleLabel(r.Rule))})
		}
		if st.Default >= 0 {
			m.edges = append(m.edges, edge{from: n, to: mc.all[st.Default], label: "default"})
		}
		if st.Next >= 0 {
			m.edges = append(m.edges, edge{from: n, to: mc.all[st.Next]})
		}
		if st.End && top {
			m.edges = append(m.edges, edge{from: n})
		}
		for _, c := range st.Catch {
			m.edges = append(m.edges, edge{from: n, to: mc.all[c.Next], label: shorten(strings.Join(c.ErrorEquals, ", ")), kind: edgeCatch})
		}
		if len(n.branches) == 0 {
			for _, r := range n.retries {
				m.edges = append(m.edges, edge{from: n, to: n, label: shorten(r), kind: edgeRetry})
			}
		}
		for _, b := range n.branches {
			m.link(b, false)
		}
	}
}

// reachesEnd reports whether an edge leads to the end of the execution.
func (m *model) reachesEnd() bool {
	for _, e := range m.edges {
		if e.to == nil {
			return true
		}
	}
	return false
}

// newID returns a node id made of ASCII letters, digits and underscores,
// unique in the model: "s_" and the state name with every other character
// replaced by '_', with a numeric suffix when two names collide.
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

// successors lists the states a state can go to, in the order written:
// Choice rules, Default, Next, catchers.
func successors(st *compile.StateModel) []int {
	var out []int
	for _, r := range st.Choices {
		out = append(out, r.Next)
	}
	if st.Default >= 0 {
		out = append(out, st.Default)
	}
	if st.Next >= 0 {
		out = append(out, st.Next)
	}
	for _, c := range st.Catch {
		out = append(out, c.Next)
	}
	return out
}

// retryLabels renders each Retrier as what it does: "retry ×3 on
// States.Timeout, States.TaskFailed", "retry ×2 on any error" (States.ALL),
// "no retry on X" (MaxAttempts 0). Error names that do not fit in a label
// (maxLabel) are counted: "retry ×3 on A, B +2 more".
func retryLabels(rs []express.Retrier) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		prefix := "retry ×" + strconv.Itoa(r.MaxAttempts) + " on "
		if r.MaxAttempts == 0 {
			prefix = "no retry on "
		}
		if len(r.ErrorEquals) == 1 && r.ErrorEquals[0] == express.ErrALL {
			out = append(out, prefix+"any error")
			continue
		}
		names, more := "", ""
		for i, e := range r.ErrorEquals {
			rest := ""
			if n := len(r.ErrorEquals) - i - 1; n > 0 {
				rest = " +" + strconv.Itoa(n) + " more"
			}
			next := e
			if i > 0 {
				next = names + ", " + e
			}
			if i > 0 && utf8.RuneCountInString(prefix+next+rest) > maxLabel {
				more = " +" + strconv.Itoa(len(r.ErrorEquals)-i) + " more"
				break
			}
			names, more = next, rest
		}
		// A name too long by itself is cut, keeping the count after it.
		if room := maxLabel - utf8.RuneCountInString(prefix+more); utf8.RuneCountInString(names) > room {
			names = string([]rune(names)[:room-1]) + "…"
		}
		out = append(out, prefix+names+more)
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
