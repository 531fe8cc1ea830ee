package testcase

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
)

// TestDefinitionFile: a case may name its definition by a path relative
// to the case file; the definition is the file's.
func TestDefinitionFile(t *testing.T) {
	c, err := Load("testdata/deffile/cases/mocked.json")
	if err != nil {
		t.Fatal(err)
	}
	if c.DefinitionFile != "../wf.asl.json" || c.Definition == nil {
		t.Fatalf("case %+v", c)
	}
	if o := c.Run(context.Background()); !o.Passed {
		t.Fatal(o.Problem)
	}
	for _, tc := range []struct{ json, want string }{
		{`{"definition":{},"definitionFile":"x","expect":{"status":"SUCCEEDED"}}`, `give "definition" or "definitionFile", not both`},
		{`{"definitionFile":3,"expect":{"status":"SUCCEEDED"}}`, `"definitionFile" must be a path`},
		{`{"expect":{"status":"SUCCEEDED"}}`, `"definition" (or "definitionFile") is missing`},
		{`{"definition":{},"resources":{"r":1},"expect":{"status":"SUCCEEDED"}}`, `resources.r: a target is a string`},
	} {
		if _, err := Parse([]byte(tc.json)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.json, err, tc.want)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "c.json")
	if err := os.WriteFile(p, []byte(`{"definitionFile":"missing.asl.json","expect":{"status":"SUCCEEDED"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "definitionFile") {
		t.Fatalf("missing file: %v", err)
	}
}

// staticInvoker answers every Task with its resource's name.
type staticInvoker struct{}

func (staticInvoker) Invoke(_ context.Context, req *express.TaskRequest) (any, error) {
	return req.Resource, nil
}

// TestRunWith: unmocked states go to the given invoker; Check sees which
// states are mocked and its problems reject the definition.
func TestRunWith(t *testing.T) {
	c, err := Parse([]byte(`{"definition":{"StartAt":"A","States":{
	  "A":{"Type":"Task","Resource":"ra","ResultPath":"$.a","Next":"B"},
	  "B":{"Type":"Task","Resource":"rb","ResultPath":"$.b","End":true}}},
	  "mocks":{"A":[{"Return":1}]},
	  "expect":{"status":"SUCCEEDED","output":{"a":1,"b":"rb"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if o := c.RunWith(context.Background(), RunOptions{Invoker: staticInvoker{}}); !o.Passed {
		t.Fatal(o.Problem)
	}
	var seen []string
	check := func(tasks []compile.TaskRef, mocked func(string) bool) diag.Problems {
		var ps diag.Problems
		for _, tk := range tasks {
			seen = append(seen, tk.State)
			if !mocked(tk.State) {
				ps.Add(tk.Pointer+"/Resource", "unmapped")
			}
		}
		return ps
	}
	o := c.RunWith(context.Background(), RunOptions{Invoker: staticInvoker{}, Check: check})
	if o.Passed || !strings.Contains(o.Problem, "definition rejected: /States/B/Resource: unmapped") || strings.Join(seen, ",") != "A,B" {
		t.Fatalf("passed %v, problem %q, seen %v", o.Passed, o.Problem, seen)
	}
}

// TestOwnResources: Run calls the case's own resources for unmocked
// states.
func TestOwnResources(t *testing.T) {
	c, err := Load("testdata/deffile/cases/resources.json")
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Run(context.Background()); !o.Passed {
		t.Fatal(o.Problem)
	}
	c.Resources = map[string][]string{"price": {"ftp://x"}}
	if o := c.Run(context.Background()); o.Passed || !strings.Contains(o.Problem, "resources: price:") {
		t.Fatalf("bad target: %+v", o.Problem)
	}
}
