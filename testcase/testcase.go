// Package testcase runs workflow test cases: one execution of one state
// machine with mocked Task results, checked against an expected outcome.
// The format is documented in docs/testcase-format.md (the same format as
// the conformance suite); `express test` and the conformance test use it.
package testcase

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
	"github.com/stepstream/express/mockconfig"
	"github.com/stepstream/express/resources"
)

// Case is one test case file.
type Case struct {
	File   string
	Name   string
	Source string
	// Definition is the state machine, inline or read from DefinitionFile
	// (a path relative to the case file).
	Definition     any
	DefinitionFile string
	Input          any
	Mocks          map[string][]Mock
	// Resources maps Task resources to targets as express serve's
	// --resource does (RESOURCE → TARGET strings); Task states without a
	// mock call them (see RunWith).
	Resources map[string][]string
	Expect    Expect
	// StateMachine and MockTestCase name a test case of a Step Functions
	// Local mock configuration (RunOptions.MockConfig) whose mocked
	// responses answer the Task states; inline Mocks answer the states it
	// does not mock. StateMachine may be left out when the mock
	// configuration has one state machine.
	StateMachine, MockTestCase string
}

// ErrMockConfig is returned by Parse for a Step Functions Local mock
// configuration file: it holds mocks for cases, it is not one itself.
var ErrMockConfig = errors.New("a Step Functions Local mock configuration, not a test case (give it with --mock-config)")

// Mock is one canned answer of a Task state.
type Mock struct {
	Return    any
	HasReturn bool
	Error     string
	Cause     string
	HasCause  bool
}

// Expect is what the execution must produce.
type Expect struct {
	Status        string
	Output        any
	HasOutput     bool
	Error         *string
	Cause         *string
	CauseContains *string
}

// Load reads a case file.
func Load(file string) (*Case, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	c.File = file
	if c.Name == "" {
		c.Name = strings.TrimSuffix(filepath.Base(file), ".json")
	}
	if c.DefinitionFile != "" {
		path := c.DefinitionFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(file), path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: definitionFile: %w", file, err)
		}
		if c.Definition, err = compile.Parse(b); err != nil {
			return nil, fmt.Errorf("%s: definitionFile %s: %w", file, c.DefinitionFile, err)
		}
	}
	return c, nil
}

// Parse decodes a case from JSON text.
func Parse(b []byte) (*Case, error) {
	v, err := jsonv.ParsePlain(b)
	if err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("a test case must be a JSON object")
	}
	c := &Case{Input: map[string]any{}}
	c.Name, _ = m["name"].(string)
	c.Source, _ = m["source"].(string)
	def, hasDef := m["definition"]
	df, hasFile := m["definitionFile"]
	switch {
	case hasDef && hasFile:
		return nil, fmt.Errorf("give \"definition\" or \"definitionFile\", not both")
	case hasFile:
		s, ok := df.(string)
		if !ok || s == "" {
			return nil, fmt.Errorf("\"definitionFile\" must be a path, relative to the case file")
		}
		c.DefinitionFile = s
	case hasDef:
		c.Definition = def
	default:
		if _, mock := m["MockedResponses"]; mock {
			return nil, ErrMockConfig
		}
		return nil, fmt.Errorf("\"definition\" (or \"definitionFile\") is missing")
	}
	for _, f := range []struct {
		key string
		to  *string
	}{{"stateMachine", &c.StateMachine}, {"mockTestCase", &c.MockTestCase}} {
		if v, ok := m[f.key]; ok {
			s, ok := v.(string)
			if !ok || s == "" {
				return nil, fmt.Errorf("%q must be a non-empty string", f.key)
			}
			*f.to = s
		}
	}
	if c.StateMachine != "" && c.MockTestCase == "" {
		return nil, fmt.Errorf("\"stateMachine\" names the state machine of a mock configuration; give \"mockTestCase\" too")
	}
	if rv, ok := m["resources"]; ok {
		var err error
		if c.Resources, err = parseResources(rv); err != nil {
			return nil, err
		}
	}
	if in, ok := m["input"]; ok {
		c.Input = in
	}
	if mv, ok := m["mocks"]; ok {
		mm, ok := mv.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("\"mocks\" must be an object of state name to a list of mocks")
		}
		c.Mocks = map[string][]Mock{}
		for state, lv := range mm {
			list, ok := lv.([]any)
			if !ok || len(list) == 0 {
				return nil, fmt.Errorf("mocks.%s must be a non-empty array", state)
			}
			for i, e := range list {
				em, ok := e.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("mocks.%s[%d] must be an object with Return or Throw", state, i)
				}
				var mk Mock
				if r, ok := em["Return"]; ok {
					mk.Return, mk.HasReturn = r, true
				} else if t, ok := em["Throw"].(map[string]any); ok {
					mk.Error, _ = t["Error"].(string)
					if cv, ok := t["Cause"]; ok {
						mk.Cause, _ = cv.(string)
						mk.HasCause = true
					}
				} else {
					return nil, fmt.Errorf("mocks.%s[%d] needs Return or Throw", state, i)
				}
				c.Mocks[state] = append(c.Mocks[state], mk)
			}
		}
	}
	ev, ok := m["expect"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("\"expect\" is missing or not an object")
	}
	c.Expect.Status, _ = ev["status"].(string)
	switch c.Expect.Status {
	case "SUCCEEDED", "FAILED", "TIMED_OUT", "INVALID":
	default:
		return nil, fmt.Errorf("expect.status must be SUCCEEDED, FAILED, TIMED_OUT or INVALID, not %q", c.Expect.Status)
	}
	if o, ok := ev["output"]; ok {
		c.Expect.Output, c.Expect.HasOutput = o, true
	}
	str := func(k string) *string {
		if s, ok := ev[k].(string); ok {
			return &s
		}
		return nil
	}
	c.Expect.Error, c.Expect.Cause, c.Expect.CauseContains = str("error"), str("cause"), str("causeContains")
	return c, nil
}

// Outcome is the verdict on one case.
type Outcome struct {
	Case   *Case
	Passed bool
	// Problem says, in one line, what differed.
	Problem string
	Result  express.Result
	// History is the execution's events when RunOptions.History is set.
	History *express.History
}

// mockInvoker answers Task states from a case's mocks, counting calls per
// state name, and the others from next (when set). It is used by one
// execution (and its Map/Parallel goroutines).
type mockInvoker struct {
	mu    sync.Mutex
	mocks map[string][]Mock
	calls map[string]int
	next  express.Invoker
}

func (m *mockInvoker) Invoke(ctx context.Context, req *express.TaskRequest) (any, error) {
	m.mu.Lock()
	list, ok := m.mocks[req.State]
	n := m.calls[req.State]
	m.calls[req.State] = n + 1
	m.mu.Unlock()
	if !ok && m.next != nil {
		return m.next.Invoke(ctx, req)
	}
	if !ok {
		return nil, errNoMock{req.State}
	}
	if n >= len(list) {
		n = len(list) - 1
	}
	mk := list[n]
	if mk.HasReturn {
		return mk.Return, nil
	}
	return nil, &express.Error{Name: mk.Error, Cause: mk.Cause, HasCause: mk.HasCause}
}

type errNoMock struct{ state string }

func (e errNoMock) Error() string {
	return fmt.Sprintf("Task state %q has no mock: add one under \"mocks\"", e.state)
}

// RunOptions say what answers the Task states a case does not mock.
type RunOptions struct {
	// Invoker answers the Task states with no mock (nil: such a state
	// fails the case when it runs, with a message asking for a mock).
	Invoker express.Invoker
	// Check, when set, is given the definition's Task states before the
	// execution, with whether each is mocked; the problems it returns
	// (JSON pointers into the definition) reject the case's definition as
	// compile problems do: the case passes only if it expects INVALID.
	Check func(tasks []compile.TaskRef, mocked func(state string) bool) diag.Problems
	// MockConfig answers the cases that name a mock test case.
	MockConfig *mockconfig.File
	// History records the execution's events in Outcome.History.
	History bool
	// Start is the virtual clock's start (zero: now, to the millisecond).
	Start time.Time
}

// mockTestCase returns the mocks of the mock configuration's test case the
// case names, nil when it names none.
func (c *Case) mockTestCase(ro RunOptions) (*mockconfig.Mocks, error) {
	if c.MockTestCase == "" {
		return nil, nil
	}
	if ro.MockConfig == nil {
		return nil, fmt.Errorf("the case names mock test case %q: give the mock configuration with --mock-config", c.MockTestCase)
	}
	sm := c.StateMachine
	if sm == "" {
		if len(ro.MockConfig.StateMachines) != 1 {
			return nil, fmt.Errorf("the mock configuration has %d state machines: say which with \"stateMachine\"", len(ro.MockConfig.StateMachines))
		}
		for name := range ro.MockConfig.StateMachines {
			sm = name
		}
	}
	return ro.MockConfig.TestCase(sm, c.MockTestCase)
}

// Run executes the case with virtual time and judges the result; a Task
// state without a mock calls the case's Resources (when it has some) or
// fails.
func (c *Case) Run(ctx context.Context) Outcome {
	return c.RunWith(ctx, RunOptions{})
}

// RunWith is Run with the Task states that have no mock answered by
// ro.Invoker, or else by the case's own Resources.
func (c *Case) RunWith(ctx context.Context, ro RunOptions) Outcome {
	o := Outcome{Case: c}
	mocks, err := c.mockTestCase(ro)
	if err != nil {
		o.Problem = err.Error()
		return o
	}
	mocked := func(state string) bool {
		_, ok := c.Mocks[state]
		return ok || mocks != nil && slices.Contains(mocks.States(), state)
	}
	wf, err := compile.CompileValue(c.Definition, compile.Options{Name: "test"})
	if err == nil && ro.Check != nil {
		if ps := ro.Check(compile.Tasks(c.Definition), mocked); len(ps) > 0 {
			err = ps.Sorted()
		}
	}
	if err != nil {
		if c.Expect.Status == "INVALID" {
			o.Passed = true
			return o
		}
		o.Problem = "definition rejected: " + firstLine(err.Error())
		return o
	}
	if c.Expect.Status == "INVALID" {
		o.Problem = "expected the definition to be rejected, but it compiled"
		return o
	}
	if ro.Invoker == nil && len(c.Resources) > 0 {
		own, err := c.ownResources()
		if err != nil {
			o.Problem = "resources: " + err.Error()
			return o
		}
		ro.Invoker = own
	}
	var inv express.Invoker = &mockInvoker{mocks: c.Mocks, calls: map[string]int{}, next: ro.Invoker}
	if mocks != nil {
		inv = mocks.Invoker(inv)
	}
	if ro.History {
		o.History = &express.History{}
	}
	start := ro.Start
	if start.IsZero() {
		start = time.Now().UTC().Truncate(time.Millisecond)
	}
	res := wf.Execute(ctx, c.Input, express.ExecOptions{
		Name:    "test-" + c.Name,
		Invoker: inv,
		Clock:   express.NewVirtualClock(start),
		History: o.History,
	})
	o.Result = res
	var probs []string
	if string(res.Status) != c.Expect.Status {
		detail := ""
		if res.Status != express.Succeeded {
			detail = fmt.Sprintf(" (%s: %s)", res.Error, truncate(res.Cause, 200))
		}
		probs = append(probs, fmt.Sprintf("status %s%s, want %s", res.Status, detail, c.Expect.Status))
	}
	if c.Expect.HasOutput && res.Status == express.Succeeded && !jsonv.Equal(res.Output, c.Expect.Output) {
		probs = append(probs, "output "+Diff(c.Expect.Output, res.Output))
	}
	if c.Expect.Error != nil && res.Error != *c.Expect.Error {
		probs = append(probs, fmt.Sprintf("error %q, want %q", res.Error, *c.Expect.Error))
	}
	if c.Expect.Cause != nil && res.Cause != *c.Expect.Cause {
		probs = append(probs, fmt.Sprintf("cause %q, want %q", truncate(res.Cause, 300), truncate(*c.Expect.Cause, 300)))
	}
	if c.Expect.CauseContains != nil && !strings.Contains(res.Cause, *c.Expect.CauseContains) {
		probs = append(probs, fmt.Sprintf("cause %q does not contain %q", truncate(res.Cause, 300), truncate(*c.Expect.CauseContains, 300)))
	}
	o.Passed = len(probs) == 0
	o.Problem = strings.Join(probs, "; ")
	return o
}

func firstLine(s string) string {
	lines := strings.SplitN(s, "\n", 2)
	if len(lines) > 1 {
		return lines[0] + " (and more)"
	}
	return lines[0]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Diff describes the first difference between two JSON values, with its path.
func Diff(want, got any) string {
	p, w, g := firstDiff("$", want, got)
	return fmt.Sprintf("differs at %s: got %s, want %s", p, truncate(jsonv.Marshal(g), 120), truncate(jsonv.Marshal(w), 120))
}

func firstDiff(at string, want, got any) (string, any, any) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return at, want, got
		}
		keys := make([]string, 0, len(w)+len(g))
		for k := range w {
			keys = append(keys, k)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			wv, wok := w[k]
			gv, gok := g[k]
			if !wok || !gok {
				return at + "." + k, presence(wv, wok), presence(gv, gok)
			}
			if !jsonv.Equal(wv, gv) {
				return firstDiff(at+"."+k, wv, gv)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return at, want, got
		}
		for i := range w {
			if !jsonv.Equal(w[i], g[i]) {
				return firstDiff(fmt.Sprintf("%s[%d]", at, i), w[i], g[i])
			}
		}
	}
	return at, want, got
}

func presence(v any, ok bool) any {
	if !ok {
		return "<absent>"
	}
	return v
}

// Collect expands files and directories (recursively) into the case files
// they hold, sorted. Only *.json files are cases.
func Collect(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(f, ".json") && !strings.HasSuffix(f, ".asl.json") {
				files = append(files, f)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(files)
	return files, nil
}

// ownResources builds the invoker of the case's Resources.
func (c *Case) ownResources() (*resources.Resources, error) {
	routes := map[string][]resources.Target{}
	for k, ts := range c.Resources {
		for _, s := range ts {
			t, err := resources.ParseTarget(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", k, err)
			}
			routes[k] = append(routes[k], t)
		}
	}
	return resources.New(resources.Config{Routes: routes})
}

// parseResources reads a case's "resources": Task resource to a target
// string or a list of them.
func parseResources(v any) (map[string][]string, error) {
	rm, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("\"resources\" must be an object of Task resource to target (a string, or a list of them)")
	}
	out := map[string][]string{}
	for k, v := range rm {
		switch t := v.(type) {
		case string:
			out[k] = []string{t}
		case []any:
			for _, e := range t {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("resources.%s: a target is a string", k)
				}
				out[k] = append(out[k], s)
			}
		default:
			return nil, fmt.Errorf("resources.%s: a target is a string, or a list of them", k)
		}
	}
	return out, nil
}
