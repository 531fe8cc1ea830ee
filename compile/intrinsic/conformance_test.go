package intrinsic

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stepstream/express/aslpath"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
	"github.com/stepstream/express/internal/testutil"
)

// conformanceDir is the shared AWS conformance suite, relative to this
// package's directory.
const conformanceDir = "../../../shared/conformance/aws"

type confCase struct {
	name       string
	definition map[string]any
	input      any
	expect     map[string]any
}

func loadCases(t *testing.T, pattern string) []confCase {
	t.Helper()
	if _, err := os.Stat(conformanceDir); err != nil {
		testutil.Missing(t, "conformance suite not found at %s: %v", conformanceDir, err)
	}
	files, err := filepath.Glob(filepath.Join(conformanceDir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var out []confCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonv.ParsePlain(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		m := v.(map[string]any)
		c := confCase{name: strings.TrimSuffix(filepath.Base(f), ".json")}
		c.definition, _ = m["definition"].(map[string]any)
		c.input = m["input"]
		if c.input == nil {
			c.input = map[string]any{}
		}
		c.expect, _ = m["expect"].(map[string]any)
		out = append(out, c)
	}
	return out
}

// singleState returns the name and body of a one-state machine.
func singleState(def map[string]any) (string, map[string]any, bool) {
	states, _ := def["States"].(map[string]any)
	if len(states) != 1 {
		return "", nil, false
	}
	for name, st := range states {
		m, ok := st.(map[string]any)
		return name, m, ok
	}
	return "", nil, false
}

// evalTemplate evaluates a payload template whose ".$" fields are intrinsic
// calls or paths: just enough of Parameters to run the suite's cases.
func evalTemplate(s *express.Scope, tmpl, in any) (any, error) {
	switch t := tmpl.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			if !strings.HasSuffix(k, ".$") {
				sub, err := evalTemplate(s, v, in)
				if err != nil {
					return nil, err
				}
				out[k] = sub
				continue
			}
			src := v.(string)
			var val any
			if IsIntrinsic(src) {
				f, err := Compile(src)
				if err != nil {
					return nil, err
				}
				if val, err = f.Eval(s, in); err != nil {
					return nil, err
				}
			} else {
				p, err := aslpath.Parse(src)
				if err != nil {
					return nil, err
				}
				val, _ = p.Get(s, in)
			}
			out[strings.TrimSuffix(k, ".$")] = val
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			v, err := evalTemplate(s, e, in)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	return tmpl, nil
}

// runPass runs a single Pass state with Parameters (and optional ResultPath
// and OutputPath) on the express runtime, so that $$ works as in a real
// execution.
func runPass(name string, st map[string]any, input any) express.Result {
	exec := func(s *express.Scope, in any) (any, int, error) {
		out, err := evalTemplate(s, st["Parameters"], in)
		if err != nil {
			return nil, 0, err
		}
		if rp, ok := st["ResultPath"].(string); ok {
			if out, err = aslpath.MustParse(rp).Set(in, out); err != nil {
				return nil, 0, err
			}
		}
		if op, ok := st["OutputPath"].(string); ok {
			out, _ = aslpath.MustParse(op).Get(s, out)
		}
		return out, express.End, nil
	}
	m := &express.Machine{States: []*express.State{{Name: name, Type: "Pass", Exec: exec}}}
	wf := express.NewWorkflow(m, express.Options{Name: "conformance"})
	return wf.Execute(context.Background(), input, express.ExecOptions{Clock: express.NewVirtualClock(time.Unix(0, 0))})
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestConformance runs every intrinsic-* case of the AWS conformance suite
// whose machine is a single Pass state with Parameters and checks the
// execution against AWS's recorded result.
func TestConformance(t *testing.T) {
	cases := loadCases(t, "intrinsic-*.json")
	passed, run := 0, 0
	for _, c := range cases {
		name, st, ok := singleState(c.definition)
		if !ok || st["Type"] != "Pass" || st["Parameters"] == nil {
			t.Logf("%s: skipped: not a single Pass state with Parameters", c.name)
			continue
		}
		run++
		ok = t.Run(c.name, func(t *testing.T) {
			res := runPass(name, st, c.input)
			if want, _ := c.expect["status"].(string); string(res.Status) != want {
				t.Fatalf("status %s (%s: %s), want %s", res.Status, res.Error, res.Cause, want)
			}
			if want, ok := c.expect["output"]; ok {
				if !jsonv.Equal(res.Output, want) {
					t.Fatalf("output %s, want %s", jsonv.Marshal(res.Output), jsonv.Marshal(want))
				}
				return
			}
			// Cases without a recorded output produce values that differ
			// run to run: check their shape instead.
			out, _ := res.Output.(map[string]any)
			v := out["FunctionResult"]
			switch {
			case strings.Contains(c.name, "uuid"):
				if s, _ := v.(string); !uuidRE.MatchString(s) {
					t.Fatalf("States.UUID gave %v, not a v4 UUID", v)
				}
			case strings.Contains(c.name, "math-random"):
				n, ok := v.(int64)
				fi := c.input.(map[string]any)["FunctionInput"].(map[string]any)
				lo, _ := jsonv.Number(fi["fst"])
				hi, _ := jsonv.Number(fi["snd"])
				if !ok || float64(n) < float64(int64(lo)) || float64(n) >= float64(int64(hi)) {
					t.Fatalf("States.MathRandom gave %v, want an integer in [%v, %v)", v, lo, hi)
				}
			default:
				t.Fatalf("no expected output and no shape check for %v", v)
			}
		})
		if ok {
			passed++
		}
	}
	t.Logf("conformance: %d/%d intrinsic cases pass (%d files)", passed, run, len(cases))
}

// TestConformanceValidation checks that the suite's invalid intrinsic calls
// are rejected by Compile.
func TestConformanceValidation(t *testing.T) {
	for _, c := range loadCases(t, "validation-intrinsic-*.json") {
		t.Run(c.name, func(t *testing.T) {
			if c.expect["status"] != "INVALID" {
				t.Skip("not a validation case")
			}
			_, st, ok := singleState(c.definition)
			params, _ := st["Parameters"].(map[string]any)
			if !ok || params == nil {
				t.Skip("not a single state with Parameters")
			}
			rejected := false
			for k, v := range params {
				if s, ok := v.(string); ok && strings.HasSuffix(k, ".$") && IsIntrinsic(s) {
					if _, err := Compile(s); err != nil {
						t.Logf("%s: %v", k, err)
						rejected = true
					}
				}
			}
			if !rejected {
				t.Fatal("the definition is invalid, but every intrinsic compiled")
			}
		})
	}
}

// TestConformanceOther covers the suite's other single-state cases that use
// intrinsics: a Fail state's ErrorPath/CausePath and a Pass state's Assign.
func TestConformanceOther(t *testing.T) {
	for _, c := range loadCases(t, "*intrinsic*.json") {
		if strings.HasPrefix(c.name, "intrinsic-") || strings.HasPrefix(c.name, "validation-") {
			continue
		}
		_, st, ok := singleState(c.definition)
		if !ok {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			switch {
			case st["Type"] == "Fail":
				for field, want := range map[string]any{"ErrorPath": c.expect["error"], "CausePath": c.expect["cause"]} {
					src, _ := st[field].(string)
					got, err := MustCompile(src).Eval(nil, c.input)
					if err != nil || got != want {
						t.Errorf("%s: got %v, %v; want %v", field, got, err, want)
					}
				}
			case st["Assign"] != nil:
				vars, err := evalTemplate(nil, st["Assign"], st["Result"])
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("assigned %s", jsonv.Marshal(vars))
			default:
				t.Skip("not a shape this test runs")
			}
		})
	}
}
