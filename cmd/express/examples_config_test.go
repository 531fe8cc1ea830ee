package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// exampleRuns names, per example, the test case whose input runs its
// happy path.
var exampleRuns = map[string]string{
	"iot-ingest":       "alert-published",
	"image-moderation": "safe-image-resized",
	"contact-form":     "submitted",
	"loan-application": "approved",
	"order-processing": "order-shipped",
}

// TestExampleConfigs: every example has an express.yaml that `validate
// --config` passes without a warning (every Task mapped, every mapping
// used), that `run --config` runs its happy path with, and under which
// `test --config` passes all its cases.
func TestExampleConfigs(t *testing.T) {
	defs, err := filepath.Glob("../../examples/*/*.asl.json")
	if err != nil || len(defs) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, def := range defs {
		dir := filepath.Dir(def)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			cfg := filepath.Join(dir, "express.yaml")
			code, out, errOut := runCLI(t, "", "validate", "--config", cfg)
			if code != 0 || strings.Contains(out, "warning") || errOut != "" {
				t.Fatalf("validate --config: exit %d\n%s%s", code, out, errOut)
			}
			c, ok := exampleRuns[name]
			if !ok {
				t.Fatalf("add the example's happy-path case to exampleRuns")
			}
			b, err := os.ReadFile(filepath.Join(dir, "tests", c+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var tc struct{ Input json.RawMessage }
			if err := json.Unmarshal(b, &tc); err != nil {
				t.Fatal(err)
			}
			// kafka: targets would need a broker: the happy path calls none
			var noKafka []string
			if name == "loan-application" {
				noKafka = []string{"--resource", "loan-manual-review=static:{}"}
			}
			code, out, errOut = runCLI(t, "", append([]string{"run", "--config", cfg, "--input", string(tc.Input)}, noKafka...)...)
			if code != 0 || !strings.HasPrefix(out, "{") {
				t.Fatalf("run --config: exit %d\n%s%s", code, out, errOut)
			}
			code, out, errOut = runCLI(t, "", append(append([]string{"test", "--config", cfg}, noKafka...), filepath.Join(dir, "tests"))...)
			if code != 0 || !strings.HasSuffix(out, " passed, 0 failed\n") {
				t.Fatalf("test --config: exit %d\n%s%s", code, out, errOut)
			}
		})
	}
}

// readmeRun matches the `express run --config` commands of
// examples/README.md.
var readmeRun = regexp.MustCompile("go run \\./cmd/express (run --config (?:[^`]|\\\\\\n)*?)\n```")

// TestExampleReadmeRuns runs the `express run --config` commands shown in
// examples/README.md, from the repository's root: each succeeds.
func TestExampleReadmeRuns(t *testing.T) {
	b, err := os.ReadFile("../../examples/README.md")
	if err != nil {
		t.Fatal(err)
	}
	ms := readmeRun.FindAllStringSubmatch(string(b), -1)
	if len(ms) < 5 {
		t.Fatalf("%d run commands in examples/README.md", len(ms))
	}
	for _, m := range ms {
		args := shellWords(strings.ReplaceAll(m[1], "\\\n", " "))
		for i, a := range args {
			if strings.HasPrefix(a, "examples/") {
				args[i] = "../../" + a
			}
		}
		if code, out, errOut := runCLI(t, "", args...); code != 0 || !strings.HasPrefix(out, "{") {
			t.Errorf("%s: exit %d\n%s%s", m[1], code, out, errOut)
		}
	}
}

// shellWords splits a command line at spaces, keeping single-quoted
// words whole.
func shellWords(s string) []string {
	var out []string
	var w strings.Builder
	in, quoted := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted, in = !quoted, true
		case (r == ' ' || r == '\n') && !quoted:
			if in {
				out = append(out, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, w.String())
	}
	return out
}
