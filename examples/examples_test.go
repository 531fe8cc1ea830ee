package examples

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/graph"
	"github.com/stepstream/express/internal/jsonv"
	"github.com/stepstream/express/mockconfig"
	"github.com/stepstream/express/testcase"
)

var update = flag.Bool("update", false, "rewrite the Mermaid blocks of README.md from the examples' .asl.json files, and the cases that inline a definition to point at the example's file")

// examples lists the example directories: those holding NAME/NAME.asl.json.
func examples(t *testing.T) []string {
	t.Helper()
	defs, err := filepath.Glob("*/*.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range defs {
		dir := filepath.Dir(d)
		if filepath.Base(d) == dir+".asl.json" {
			names = append(names, dir)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatal("no examples found")
	}
	return names
}

// TestCases runs every test case under examples/, as `express test
// examples/` does.
func TestCases(t *testing.T) {
	files, err := testcase.Collect([]string{"."})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no test cases found")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(f, ".json"), func(t *testing.T) {
			t.Parallel()
			c, err := testcase.Load(f)
			if errors.Is(err, testcase.ErrMockConfig) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o := c.Run(context.Background()); !o.Passed {
				t.Errorf("%s: %s", c.Name, o.Problem)
			}
		})
	}
}

// TestMockConfigFile runs every case again with its Task results taken from
// MockConfigFile.json (Step Functions Local's mock configuration format:
// one state machine per example, one test case per case file, named in
// CamelCase) instead of its inline mocks, so the file stays in step with
// the cases and shows each example's paths in AWS's format.
func TestMockConfigFile(t *testing.T) {
	mc, err := mockconfig.Load("MockConfigFile.json")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, name := range examples(t) {
		files, err := filepath.Glob(filepath.Join(name, "tests", "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		sm := mc.StateMachines[name]
		if len(files) != len(sm.TestCases) {
			t.Errorf("%s: %d case files, %d test cases in MockConfigFile.json", name, len(files), len(sm.TestCases))
		}
		for _, f := range files {
			c, err := testcase.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			c.Mocks = nil
			c.StateMachine = name
			c.MockTestCase = camel(strings.TrimSuffix(filepath.Base(f), ".json"))
			if o := c.RunWith(context.Background(), testcase.RunOptions{MockConfig: mc}); !o.Passed {
				t.Errorf("%s with %s#%s: %s", f, name, c.MockTestCase, o.Problem)
			}
			seen++
		}
	}
	if seen < 50 {
		t.Fatalf("only %d cases ran", seen)
	}
}

// camel turns "alert-published" into "AlertPublished".
func camel(s string) string {
	var b strings.Builder
	for _, p := range strings.Split(s, "-") {
		if p != "" {
			b.WriteString(strings.ToUpper(p[:1]) + p[1:])
		}
	}
	return b.String()
}

// TestEveryExampleIsTested checks that each example has cases, that every
// case runs the example's definition file (its "definitionFile" is
// ../NAME.asl.json), and that every definition compiles. With -update the
// cases that inline a definition are rewritten to point at the file.
func TestEveryExampleIsTested(t *testing.T) {
	for _, name := range examples(t) {
		raw, err := os.ReadFile(filepath.Join(name, name+".asl.json"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := compile.Compile(raw, compile.Options{Name: name}); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		def, err := compile.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		cases, err := filepath.Glob(filepath.Join(name, "tests", "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(cases) == 0 {
			t.Errorf("%s: no test cases in %s/tests", name, name)
		}
		for _, f := range cases {
			c, err := testcase.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if c.DefinitionFile == "../"+name+".asl.json" && jsonv.Equal(c.Definition, def) {
				continue
			}
			if !*update {
				t.Errorf("%s: the case does not run %s/%s.asl.json: give it \"definitionFile\": \"../%s.asl.json\" (go test ./examples -update rewrites it)", f, name, name, name)
				continue
			}
			if err := rewriteDefinition(f, "../"+name+".asl.json"); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// caseKeys is the order of the fields of a case file.
var caseKeys = []string{"name", "source", "definitionFile", "input", "mocks", "expect"}

// rewriteDefinition replaces the definition of a case file with a
// definitionFile pointing at path, keeping the other fields as they are.
func rewriteDefinition(file string, path string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	delete(fields, "definition")
	fields["definitionFile"], _ = json.Marshal(path)
	var keys []string
	keys = append(keys, caseKeys...)
	var rest []string
	for k := range fields {
		if !contains(caseKeys, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	keys = append(keys, rest...)
	var out bytes.Buffer
	out.WriteByte('{')
	first := true
	for _, k := range keys {
		v, ok := fields[k]
		if !ok {
			continue
		}
		if !first {
			out.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		out.Write(kb)
		out.WriteByte(':')
		var compact bytes.Buffer
		if err := json.Compact(&compact, v); err != nil {
			return fmt.Errorf("%s: %s: %v", file, k, err)
		}
		out.Write(compact.Bytes())
	}
	out.WriteByte('}')
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, out.Bytes(), "", "  "); err != nil {
		return err
	}
	pretty.WriteByte('\n')
	return os.WriteFile(file, pretty.Bytes(), 0o644)
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// graphBlock matches a graph embedded in README.md: a marker comment naming
// the example, then a mermaid code block.
var graphBlock = regexp.MustCompile("(?s)<!-- graph: ([a-z0-9-]+) -->\n```mermaid\n(.*?)```\n")

// TestReadmeGraphs is a golden test: the Mermaid block after
// `<!-- graph: NAME -->` in README.md must be what package graph renders
// for NAME/NAME.asl.json, and every example must have one. With -update
// the blocks are rewritten.
func TestReadmeGraphs(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, name := range examples(t) {
		raw, err := os.ReadFile(filepath.Join(name, name+".asl.json"))
		if err != nil {
			t.Fatal(err)
		}
		def, err := compile.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		g, err := graph.Mermaid(def)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want[name] = g
	}
	seen := map[string]bool{}
	changed := false
	out := graphBlock.ReplaceAllFunc(readme, func(block []byte) []byte {
		m := graphBlock.FindSubmatch(block)
		name, got := string(m[1]), string(m[2])
		seen[name] = true
		g, ok := want[name]
		if !ok {
			t.Errorf("README.md has a graph of %q, which is not an example", name)
			return block
		}
		if got == g {
			return block
		}
		if !*update {
			t.Errorf("README.md: the graph of %s is out of date (go test ./examples -update rewrites it); it should be:\n%s", name, g)
			return block
		}
		changed = true
		return []byte("<!-- graph: " + name + " -->\n```mermaid\n" + g + "```\n")
	})
	for name := range want {
		if !seen[name] {
			t.Errorf("README.md has no graph of %s: add a line <!-- graph: %s --> followed by a mermaid block", name, name)
		}
	}
	if changed {
		if err := os.WriteFile("README.md", out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
