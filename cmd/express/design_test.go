package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestDesignDiagram checks DESIGN.md's diagram of packages against the
// imports: every import of a package of ours is an arrow of the diagram,
// and every arrow an import. Left out, as the text under the diagram
// says: imports of express and compile/diag, internal/, and the test-only
// folders (bench, faults, examples).
func TestDesignDiagram(t *testing.T) {
	b, err := os.ReadFile("../../DESIGN.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "```\ncmd/express")
	end := strings.Index(doc[start+3:], "```")
	if start < 0 || end < 0 {
		t.Fatal("no diagram in DESIGN.md")
	}
	drawn := diagramEdges(doc[start+4 : start+3+end])

	out, err := exec.Command("go", "list", "-json", "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/stepstream/express/"
	skip := func(p string) bool {
		return strings.HasPrefix(p, "internal/") || strings.HasPrefix(p, "bench") || strings.HasPrefix(p, "faults") ||
			strings.HasPrefix(p, "examples") || p == "testcase/seeds"
	}
	implicit := func(p string) bool { return p == "express" || p == "compile/diag" }
	real := map[[2]string]bool{}
	known := map[string]bool{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		from := strings.TrimPrefix(p.ImportPath, mod)
		if skip(from) {
			continue
		}
		known[from] = true
		for _, imp := range p.Imports {
			if to, ok := strings.CutPrefix(imp, mod); ok && !skip(to) && !implicit(to) {
				real[[2]string{from, to}] = true
				if !drawn[[2]string{from, to}] {
					t.Errorf("%s imports %s: DESIGN.md's diagram has no such arrow", from, to)
				}
			}
		}
	}
	notPackages := map[string]bool{"bench": true, "faults": true, "what they measure": true, "internal/jsonv": true}
	for e := range drawn {
		switch {
		case notPackages[e[0]] || notPackages[e[1]]:
		case !known[e[0]] || !known[e[1]]:
			t.Errorf("DESIGN.md draws %s ─→ %s: no such package", e[0], e[1])
		case !real[e]:
			t.Errorf("DESIGN.md draws %s ─→ %s, which is no import", e[0], e[1])
		}
	}
}

// diagramEdges reads "a, b ─→ c, d ─→ e" lines (and "├─→ x ─→ y" under
// the line above, whose first arrow they continue) into edges; x/{a,b}
// stands for x/a and x/b; parentheses are comments.
func diagramEdges(text string) map[[2]string]bool {
	edges := map[[2]string]bool{}
	paren := regexp.MustCompile(`\([^)]*\)`)
	expand := func(list string) []string {
		var out []string
		for _, item := range splitTop(paren.ReplaceAllString(list, "")) {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			if i := strings.Index(item, "{"); i >= 0 {
				for _, s := range strings.Split(strings.Trim(item[i:], "{}"), ",") {
					out = append(out, item[:i]+strings.TrimSpace(s))
				}
				continue
			}
			out = append(out, item)
		}
		return out
	}
	var chainHead []string // the first package of the last chain line
	for _, line := range strings.Split(text, "\n") {
		// a line may hold two statements side by side
		for _, stmt := range regexp.MustCompile(`\s{3,}`).Split(strings.TrimSpace(line), -1) {
			parts := strings.Split(stmt, "─→")
			if len(parts) < 2 {
				continue
			}
			first := strings.TrimSpace(parts[0])
			var prev []string
			switch {
			case strings.HasPrefix(first, "├") || strings.HasPrefix(first, "└"):
				prev = chainHead
			default:
				prev = expand(first)
				parts[0] = ""
			}
			for i, p := range parts {
				if i == 0 && parts[0] == "" {
					continue
				}
				if i == 0 {
					continue
				}
				cur := expand(p)
				for _, a := range prev {
					for _, b := range cur {
						edges[[2]string{a, b}] = true
					}
				}
				if i == 1 && !strings.HasPrefix(first, "├") && !strings.HasPrefix(first, "└") && len(parts) > 2 {
					chainHead = cur
				}
				prev = cur
			}
		}
	}
	return edges
}

// splitTop splits at commas outside braces.
func splitTop(s string) []string {
	var out []string
	depth, last := 0, 0
	for i, r := range s {
		switch r {
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[last:i])
				last = i + 1
			}
		}
	}
	return append(out, s[last:])
}
