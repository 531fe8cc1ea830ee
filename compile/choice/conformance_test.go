package choice

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
	"github.com/stepstream/express/internal/testutil"
)

// conformanceDir holds the cases recorded against AWS.
const conformanceDir = "../../../shared/conformance/aws"

// TestConformance runs every choice-* conformance case through a tiny
// driver that knows Choice, and Pass, Fail and Succeed in their simplest
// forms, on the real express runtime (so causes carry real event ids). A
// case that uses anything else is skipped with the reason.
func TestConformance(t *testing.T) {
	dir := conformanceDir
	if d := os.Getenv("CONFORMANCE_DIR"); d != "" {
		dir = d
	}
	files, _ := filepath.Glob(filepath.Join(dir, "choice-*.json"))
	if len(files) == 0 {
		testutil.Missing(t, "no choice-*.json cases under %s", dir)
	}
	checked, passed := 0, 0
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			defer func() {
				if !t.Skipped() {
					checked++
					if !t.Failed() {
						passed++
					}
				}
			}()
			runCase(t, f)
		})
	}
	t.Logf("conformance: %d/%d choice cases checked, %d passed", checked, len(files), passed)
}

func runCase(t *testing.T, file string) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonv.ParsePlain(raw)
	if err != nil {
		t.Fatalf("bad case JSON: %v", err)
	}
	tc, _ := v.(map[string]any)
	def, _ := tc["definition"].(map[string]any)
	expect, _ := tc["expect"].(map[string]any)
	if def == nil || expect == nil {
		t.Fatalf("case has no definition or expect")
	}
	if ql, _ := def["QueryLanguage"].(string); ql == "JSONata" {
		t.Skip("out of the driver's reach: JSONata definition")
	}
	input, ok := tc["input"]
	if !ok {
		input = map[string]any{}
	}
	m, problems, skip := buildMachine(def)
	if skip != "" {
		t.Skip("out of the driver's reach: " + skip)
	}
	status, _ := expect["status"].(string)
	if status == "INVALID" {
		if len(problems) == 0 {
			t.Fatalf("definition compiled, but AWS rejects it")
		}
		return
	}
	if len(problems) > 0 {
		t.Fatalf("definition rejected, but AWS accepts it:\n%v", problems)
	}
	wf := express.NewWorkflow(m, express.Options{Name: "conformance"})
	res := wf.Execute(context.Background(), input, express.ExecOptions{Clock: express.NewVirtualClock(time.Unix(0, 0))})
	if string(res.Status) != status {
		t.Fatalf("status %s (%s: %s), want %s", res.Status, res.Error, res.Cause, status)
	}
	if want, ok := expect["output"]; ok && !jsonv.Equal(res.Output, want) {
		t.Errorf("output %s, want %s", jsonv.Marshal(res.Output), jsonv.Marshal(want))
	}
	if want, ok := expect["error"].(string); ok && res.Error != want {
		t.Errorf("error %q, want %q", res.Error, want)
	}
	if want, ok := expect["cause"].(string); ok && res.Cause != want {
		t.Errorf("cause %q, want %q", res.Cause, want)
	}
	if want, ok := expect["causeContains"].(string); ok && !strings.Contains(res.Cause, want) {
		t.Errorf("cause %q does not contain %q", res.Cause, want)
	}
}

// buildMachine compiles the subset of ASL the driver knows. skip says why a
// definition is out of reach.
func buildMachine(def map[string]any) (m *express.Machine, ps diag.Problems, skip string) {
	states, _ := def["States"].(map[string]any)
	start, _ := def["StartAt"].(string)
	if states == nil || start == "" {
		return nil, nil, "no States or StartAt"
	}
	names := make([]string, 0, len(states))
	for n := range states {
		names = append(names, n)
	}
	sort.Strings(names)
	index := map[string]int{}
	for i, n := range names {
		index[n] = i
	}
	next := func(st map[string]any) (int, string) {
		if end, _ := st["End"].(bool); end {
			return express.End, ""
		}
		n, _ := st["Next"].(string)
		i, ok := index[n]
		if !ok {
			return 0, fmt.Sprintf("Next %q is not a state", n)
		}
		return i, ""
	}
	m = &express.Machine{Start: index[start]}
	if _, ok := index[start]; !ok {
		return nil, nil, "StartAt names no state"
	}
	for _, name := range names {
		st, _ := states[name].(map[string]any)
		typ, _ := st["Type"].(string)
		if extra := extraFields(st, allowed[typ]); extra != "" {
			return nil, nil, fmt.Sprintf("state %q (%s) uses %s", name, typ, extra)
		}
		s := &express.State{Name: name, Type: typ, ExitEvents: 1}
		switch typ {
		case "Pass":
			nx, why := next(st)
			if why != "" {
				return nil, nil, why
			}
			result, hasResult := st["Result"]
			s.Exec = func(_ *express.Scope, in any) (any, int, error) {
				if hasResult {
					return result, nx, nil
				}
				return in, nx, nil
			}
		case "Succeed":
			s.Exec = func(_ *express.Scope, in any) (any, int, error) { return in, express.End, nil }
		case "Fail":
			e := &express.Error{}
			e.Name, _ = st["Error"].(string)
			e.Cause, e.HasCause = st["Cause"].(string)
			s.ExitEvents = 0
			s.Exec = func(*express.Scope, any) (any, int, error) { return nil, 0, e }
		case "Choice":
			rules, _ := st["Choices"].([]any)
			conds := make([]Cond, len(rules))
			nexts := make([]int, len(rules))
			for i, r := range rules {
				rule, _ := r.(map[string]any)
				if extra := extraFields(rule, nil); strings.Contains(extra, "Assign") {
					return nil, nil, "a Choice rule uses Assign"
				}
				ptr := diag.Pointer("/States", name, "Choices", fmt.Sprint(i))
				c, p := Compile(rule, ptr)
				ps = append(ps, p...)
				conds[i] = c
				n, _ := rule["Next"].(string)
				ni, ok := index[n]
				if !ok {
					return nil, nil, fmt.Sprintf("rule Next %q is not a state", n)
				}
				nexts[i] = ni
			}
			def := -1
			if d, ok := st["Default"].(string); ok {
				i, ok := index[d]
				if !ok {
					return nil, nil, "Default names no state"
				}
				def = i
			}
			s.Exec = func(sc *express.Scope, in any) (any, int, error) {
				for i, c := range conds {
					ok, err := c(sc, in)
					if err != nil {
						return nil, 0, err
					}
					if ok {
						return in, nexts[i], nil
					}
				}
				if def < 0 {
					return nil, 0, sc.StateError(express.ErrNoChoiceMatched, "No Matches!")
				}
				return in, def, nil
			}
		default:
			return nil, nil, fmt.Sprintf("state %q has type %s", name, typ)
		}
		m.States = append(m.States, s)
	}
	return m, ps, ""
}

var allowed = map[string][]string{
	"Pass":    {"Type", "Comment", "Next", "End", "Result"},
	"Succeed": {"Type", "Comment"},
	"Fail":    {"Type", "Comment", "Error", "Cause"},
	"Choice":  {"Type", "Comment", "Choices", "Default"},
}

// extraFields names the fields of obj that are not in ok, sorted.
func extraFields(obj map[string]any, ok []string) string {
	var extra []string
	for k := range obj {
		found := false
		for _, o := range ok {
			found = found || k == o
		}
		if !found {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	return strings.Join(extra, ", ")
}
