// Package graph draws an Amazon States Language state machine as a
// Mermaid flowchart or a Graphviz DOT digraph.
//
// Both renderings show the same things: every state as a node shaped by its
// type (Task and Pass as boxes, Choice as a diamond, Wait as a
// parallelogram, Succeed and Fail as distinct terminal shapes), the
// transitions (Next; Choice rules labelled with a short rendering of the
// rule such as `$.value > 30`; Default labelled "default"), Catch edges
// dashed and labelled with their error names, each Retrier as a dotted
// self-loop labelled with what it does, e.g. "retry up to 3 times on
// States.Timeout" (on the title for Map and Parallel), and Map and
// Parallel states as subgraphs holding their branches. Top-level states
// with End lead to an End marker.
//
// The states and transitions are the compiler's (compile.ModelOf): what
// the engine would run, with its JSON pointers in errors.
//
// The output is deterministic: states are listed depth first from StartAt,
// following transitions in the order they are written, then unreachable
// states by name. Node ids are "s_" and the state name with everything but
// ASCII letters, digits and '_' replaced by '_' (made unique with a
// numeric suffix); labels are escaped for each format.
package graph

import (
	"fmt"
	"strings"
)

// Mermaid renders a decoded definition (as compile.Parse returns it) as a
// Mermaid flowchart. The error (a diag.Problems) says what leaves the
// definition's shape unknown: a missing StartAt or States, a transition to
// no state; other problems, which Validate reports, do not stop drawing.
func Mermaid(def any) (string, error) {
	m, err := build(def)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	b.WriteString("    START((\"Start\"))\n")
	classes := map[string][]string{}
	var nodes func(mc *machine, indent string)
	nodes = func(mc *machine, indent string) {
		for _, n := range mc.nodes {
			if len(n.branches) > 0 {
				fmt.Fprintf(&b, "%ssubgraph %s[\"%s\"]\n", indent, n.id, mermaidText(n.title))
				if n.typ == "Parallel" {
					for i, br := range n.branches {
						fmt.Fprintf(&b, "%s    subgraph %s[\"branch %d\"]\n", indent, n.branchIDs[i], i+1)
						nodes(br, indent+"        ")
						fmt.Fprintf(&b, "%s    end\n", indent)
					}
				} else {
					nodes(n.branches[0], indent+"    ")
				}
				fmt.Fprintf(&b, "%send\n", indent)
				continue
			}
			open, closing, class := mermaidShape(n.typ)
			fmt.Fprintf(&b, "%s%s%s\"%s\"%s\n", indent, n.id, open, mermaidText(n.name), closing)
			classes[class] = append(classes[class], n.id)
		}
	}
	nodes(m.top, "    ")
	if m.reachesEnd() {
		b.WriteString("    END((\"End\"))\n")
	}
	for _, e := range m.edges {
		from, to := "START", "END"
		if e.from != nil {
			from = e.from.id
		}
		if e.to != nil {
			to = e.to.id
		}
		arrow := "-->"
		if e.kind != edgeNext {
			arrow = "-.->"
		}
		if e.label == "" {
			fmt.Fprintf(&b, "    %s %s %s\n", from, arrow, to)
		} else {
			fmt.Fprintf(&b, "    %s %s|\"%s\"| %s\n", from, arrow, mermaidText(e.label), to)
		}
	}
	for _, c := range mermaidClasses {
		if ids := classes[c.name]; len(ids) > 0 {
			fmt.Fprintf(&b, "    classDef %s %s\n", c.name, c.style)
			fmt.Fprintf(&b, "    class %s %s\n", strings.Join(ids, ","), c.name)
		}
	}
	return b.String(), nil
}

// mermaidClasses style the node types, in output order.
var mermaidClasses = []struct{ name, style string }{
	{"task", "fill:#e8f0fe,stroke:#3b6fb6"},
	{"pass", "fill:#f3f3f3,stroke:#888"},
	{"choice", "fill:#fff4d6,stroke:#b8860b"},
	{"wait", "fill:#efe6fb,stroke:#7a4fb5"},
	{"succeed", "fill:#dff5e1,stroke:#2e7d32"},
	{"fail", "fill:#fde2e1,stroke:#c62828"},
}

// mermaidShape returns the brackets and class of a state type.
func mermaidShape(typ string) (open, closing, class string) {
	switch typ {
	case "Task":
		return "[", "]", "task"
	case "Choice":
		return "{", "}", "choice"
	case "Wait":
		return "[/", "/]", "wait"
	case "Succeed":
		return "([", "])", "succeed"
	case "Fail":
		return "{{", "}}", "fail"
	}
	return "(", ")", "pass"
}

// mermaidText escapes a label for a quoted Mermaid string with entity
// codes, so that no character can end the string or start markup (a '<'
// could open an HTML tag; '>' and '|' are harmless inside quotes).
func mermaidText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString("#quot;")
		case '#':
			b.WriteString("#35;")
		case '<':
			b.WriteString("#lt;")
		case '&':
			b.WriteString("#amp;")
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// DOT renders a decoded definition (as compile.Parse returns it) as a
// Graphviz digraph; Map and Parallel states are clusters, and edges to and
// from them use compound edges (lhead/ltail). Errors are as for Mermaid.
func DOT(def any) (string, error) {
	m, err := build(def)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("digraph workflow {\n")
	b.WriteString("    rankdir=TB;\n    compound=true;\n")
	b.WriteString("    graph [fontname=\"Helvetica\", fontsize=11];\n")
	b.WriteString("    node [fontname=\"Helvetica\", fontsize=11];\n")
	b.WriteString("    edge [fontname=\"Helvetica\", fontsize=9];\n")
	b.WriteString("    START [label=\"Start\", shape=circle, width=0.4];\n")
	var nodes func(mc *machine, indent string)
	nodes = func(mc *machine, indent string) {
		for _, n := range mc.nodes {
			if len(n.branches) > 0 {
				fmt.Fprintf(&b, "%ssubgraph cluster_%s {\n", indent, n.id)
				fmt.Fprintf(&b, "%s    label=%s;\n%s    style=rounded;\n", indent, dotText(n.title), indent)
				if n.typ == "Parallel" {
					for i, br := range n.branches {
						fmt.Fprintf(&b, "%s    subgraph cluster_%s {\n", indent, n.branchIDs[i])
						fmt.Fprintf(&b, "%s        label=\"branch %d\";\n%s        style=dashed;\n", indent, i+1, indent)
						nodes(br, indent+"        ")
						fmt.Fprintf(&b, "%s    }\n", indent)
					}
				} else {
					nodes(n.branches[0], indent+"    ")
				}
				fmt.Fprintf(&b, "%s}\n", indent)
				continue
			}
			fmt.Fprintf(&b, "%s%s [label=%s, %s];\n", indent, n.id, dotText(n.name), dotShape(n.typ))
		}
	}
	nodes(m.top, "    ")
	if m.reachesEnd() {
		b.WriteString("    END [label=\"End\", shape=doublecircle, width=0.3];\n")
	}
	for _, e := range m.edges {
		from, to := "START", "END"
		var attrs []string
		if e.from != nil {
			from = e.from.id
			if len(e.from.branches) > 0 {
				from = anchor(e.from)
				attrs = append(attrs, "ltail=cluster_"+e.from.id)
			}
		}
		if e.to != nil {
			to = e.to.id
			if len(e.to.branches) > 0 {
				to = anchor(e.to)
				attrs = append(attrs, "lhead=cluster_"+e.to.id)
			}
		}
		if e.label != "" {
			attrs = append(attrs, "label="+dotText(e.label))
		}
		switch e.kind {
		case edgeCatch:
			attrs = append(attrs, "style=dashed")
		case edgeRetry:
			attrs = append(attrs, "style=dotted")
		}
		if len(attrs) == 0 {
			fmt.Fprintf(&b, "    %s -> %s;\n", from, to)
		} else {
			fmt.Fprintf(&b, "    %s -> %s [%s];\n", from, to, strings.Join(attrs, ", "))
		}
	}
	b.WriteString("}\n")
	return b.String(), nil
}

// anchor is the node that stands for a cluster at the end of a compound
// edge: the first state of its first branch (recursively).
func anchor(n *node) string {
	for len(n.branches) > 0 {
		n = n.branches[0].start
	}
	return n.id
}

// dotShape returns the node attributes of a state type.
func dotShape(typ string) string {
	switch typ {
	case "Task":
		return "shape=box, style=filled, fillcolor=\"#e8f0fe\""
	case "Choice":
		return "shape=diamond, style=filled, fillcolor=\"#fff4d6\""
	case "Wait":
		return "shape=parallelogram, style=filled, fillcolor=\"#efe6fb\""
	case "Succeed":
		return "shape=oval, style=filled, fillcolor=\"#dff5e1\""
	case "Fail":
		return "shape=hexagon, style=filled, fillcolor=\"#fde2e1\""
	}
	return "shape=box, style=\"rounded,filled\", fillcolor=\"#f3f3f3\""
}

// dotText quotes s as a DOT string.
func dotText(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\r', '\t':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
