package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestGraphCommand(t *testing.T) {
	dir := t.TempDir()
	yaml := filepath.Join(dir, "hello.asl.yaml")
	writeFile(t, yaml, "StartAt: Greet\nStates:\n  Greet:\n    Type: Pass\n    End: true\n")
	notJSON := filepath.Join(dir, "broken.asl.json")
	writeFile(t, notJSON, `{"StartAt": `)
	notMachine := filepath.Join(dir, "nostates.asl.json")
	writeFile(t, notMachine, `{"StartAt": "A"}`)
	badNext := filepath.Join(dir, "badnext.asl.json")
	writeFile(t, badNext, `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}`)

	cases := []struct {
		args        []string
		code        int
		out, errOut string
	}{
		{args: []string{"graph", "testdata/hello.asl.json"}, code: 0, out: "flowchart TD\n    START((\"Start\"))\n    s_Check{\"Check\"}\n"},
		{args: []string{"graph", "testdata/hello.asl.json"}, code: 0, out: `s_Check -->|"$.name == ''"| s_NoName`},
		{args: []string{"graph", "--format", "mermaid", "testdata/hello.asl.json"}, code: 0, out: "s_Greet --> END\n"},
		{args: []string{"graph", "--format", "dot", "testdata/hello.asl.json"}, code: 0, out: "digraph workflow {\n"},
		{args: []string{"graph", "testdata/hello.asl.json", "--format", "dot"}, code: 0, out: `s_Check -> s_Greet [label="default"];`},
		{args: []string{"graph", yaml}, code: 0, out: "START --> s_Greet\n"},
		{args: []string{"graph", "--format", "svg", "testdata/hello.asl.json"}, code: 2, errOut: `--format "svg": want mermaid or dot`},
		{args: []string{"graph"}, code: 2, errOut: "Usage: express graph"},
		{args: []string{"graph", "a.json", "b.json"}, code: 2, errOut: "Usage: express graph"},
		{args: []string{"graph", filepath.Join(dir, "missing.json")}, code: 1, errOut: "no such file"},
		{args: []string{"graph", notJSON}, code: 1, errOut: "not valid JSON"},
		{args: []string{"graph", notMachine}, code: 1, errOut: "1 problem(s)\n  /: States is missing"},
		{args: []string{"graph", badNext}, code: 1, errOut: `/States/A/Next: no state named "B"`},
	}
	for _, tc := range cases {
		code, out, errOut := runCLI(t, "", tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, code, tc.code, errOut)
		}
		if tc.out != "" && !strings.Contains(out, tc.out) {
			t.Errorf("%v: stdout %q, want it to contain %q", tc.args, out, tc.out)
		}
		if tc.errOut != "" && !strings.Contains(errOut, tc.errOut) {
			t.Errorf("%v: stderr %q, want it to contain %q", tc.args, errOut, tc.errOut)
		}
	}
}
