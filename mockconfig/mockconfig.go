// Package mockconfig reads the mock configuration files of AWS Step
// Functions Local (MockConfigFile.json) and answers Task states from them,
// so that users bring their existing files unchanged to `express test
// --mock-config` and to the Step Functions API (a stateMachineArn ending in
// "#TestCaseName").
//
// The format, as AWS documents it ("Configuration file for mocked service
// integrations" in the Step Functions developer guide):
//
//	{
//	  "StateMachines": {
//	    "MyMachine": {
//	      "TestCases": {
//	        "HappyPath": { "LambdaState": "MockedLambdaSuccess" }
//	      }
//	    }
//	  },
//	  "MockedResponses": {
//	    "MockedLambdaSuccess": {
//	      "0":   { "Return": { "StatusCode": 200, "Payload": { "ok": true } } },
//	      "1-2": { "Throw": { "Error": "Lambda.TooManyRequestsException", "Cause": "slow down" } }
//	    }
//	  }
//	}
//
// A test case maps state names to mocked responses. A mocked response maps
// invocation numbers (from 0: "0", or a range "1-2") to exactly one of
// Return (the Task's raw result, before ResultSelector and ResultPath) or
// Throw (an Error and a Cause). The n-th call of a state in one execution
// (retries included, counted across Map iterations and Parallel branches)
// gets invocation n. Past the last invocation the last one repeats (AWS's
// page does not say; this is the rule of express's own test cases).
package mockconfig

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// File is a parsed mock configuration.
type File struct {
	// StateMachines holds, per state machine name, its test cases.
	StateMachines map[string]StateMachine
	// Responses holds the mocked responses by name, expanded to one step per
	// invocation.
	Responses map[string][]Step
}

// StateMachine is a state machine's test cases: test case name to the
// mocked response name of each mocked state.
type StateMachine struct {
	TestCases map[string]map[string]string
}

// Step is the answer to one invocation.
type Step struct {
	// Return is the result when Throw is false.
	Return any
	// Throw says the invocation fails with Error and Cause.
	Throw        bool
	Error, Cause string
}

// Load reads and checks a mock configuration file.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Parse reads and checks a mock configuration. Every problem is reported,
// each with the JSON pointer it comes from (a diag.Problems error).
func Parse(b []byte) (*File, error) {
	v, err := jsonv.ParsePlain(b)
	if err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	var probs diag.Problems
	bad := func(ptr, format string, args ...any) {
		probs = append(probs, diag.Problem{Pointer: ptr, Message: fmt.Sprintf(format, args...)})
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, diag.Problems{{Pointer: "", Message: "a mock configuration must be a JSON object with StateMachines and MockedResponses"}}
	}
	f := &File{StateMachines: map[string]StateMachine{}, Responses: map[string][]Step{}}
	for k := range top {
		if k != "StateMachines" && k != "MockedResponses" {
			bad("/"+esc(k), "unknown field (a mock configuration has StateMachines and MockedResponses)")
		}
	}
	if rv, ok := top["MockedResponses"]; ok {
		rm, ok := rv.(map[string]any)
		if !ok {
			bad("/MockedResponses", "must be an object of mocked response name to invocations")
		}
		for _, name := range sortedKeys(rm) {
			f.Responses[name] = parseResponse("/MockedResponses/"+esc(name), rm[name], bad)
		}
	}
	smv, ok := top["StateMachines"]
	if !ok {
		bad("", "StateMachines is missing")
	}
	smm, ok := smv.(map[string]any)
	if smv != nil && !ok {
		bad("/StateMachines", "must be an object of state machine name to its TestCases")
	}
	for _, smName := range sortedKeys(smm) {
		at := "/StateMachines/" + esc(smName)
		sm, ok := smm[smName].(map[string]any)
		if !ok {
			bad(at, "must be an object with TestCases")
			continue
		}
		for k := range sm {
			if k != "TestCases" {
				bad(at+"/"+esc(k), "unknown field (a state machine has TestCases)")
			}
		}
		tcs, ok := sm["TestCases"].(map[string]any)
		if !ok {
			bad(at+"/TestCases", "must be an object of test case name to its mocked states")
			continue
		}
		m := StateMachine{TestCases: map[string]map[string]string{}}
		for _, tcName := range sortedKeys(tcs) {
			tat := at + "/TestCases/" + esc(tcName)
			states, ok := tcs[tcName].(map[string]any)
			if !ok {
				bad(tat, "must be an object of state name to mocked response name")
				continue
			}
			tc := map[string]string{}
			for _, st := range sortedKeys(states) {
				resp, ok := states[st].(string)
				switch {
				case !ok:
					bad(tat+"/"+esc(st), "must be the name of a mocked response (a string)")
				case f.Responses[resp] == nil:
					bad(tat+"/"+esc(st), "no mocked response named %q under MockedResponses%s", resp, didYouMean(resp, sortedKeys(mapOf(f.Responses))))
				default:
					tc[st] = resp
				}
			}
			m.TestCases[tcName] = tc
		}
		f.StateMachines[smName] = m
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return f, nil
}

// parseResponse expands one mocked response's invocations into steps.
func parseResponse(at string, v any, bad func(string, string, ...any)) []Step {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		bad(at, "must be an object of invocation numbers (\"0\", \"1-2\") to a Return or a Throw")
		return nil
	}
	type span struct {
		from, to int
		key      string
		step     Step
	}
	var spans []span
	for _, key := range sortedKeys(m) {
		kat := at + "/" + esc(key)
		from, to, ok := parseRange(key)
		if !ok {
			bad(kat, "an invocation key is a number from 0 (\"3\") or a range (\"1-2\")")
			continue
		}
		body, ok := m[key].(map[string]any)
		if !ok {
			bad(kat, "must be an object with Return or Throw")
			continue
		}
		ret, hasRet := body["Return"]
		thr, hasThr := body["Throw"]
		for k := range body {
			if k != "Return" && k != "Throw" {
				bad(kat+"/"+esc(k), "unknown field (an invocation has Return or Throw)")
			}
		}
		var st Step
		switch {
		case hasRet && hasThr:
			bad(kat, "has both Return and Throw; give one")
			continue
		case hasRet:
			st.Return = ret
		case hasThr:
			tm, ok := thr.(map[string]any)
			if !ok {
				bad(kat+"/Throw", "must be an object with Error and Cause")
				continue
			}
			st.Throw = true
			var okE, okC bool
			st.Error, okE = tm["Error"].(string)
			st.Cause, okC = tm["Cause"].(string)
			if !okE {
				bad(kat+"/Throw/Error", "must be a string: the error name")
			}
			if _, present := tm["Cause"]; present && !okC {
				bad(kat+"/Throw/Cause", "must be a string")
			}
		default:
			bad(kat, "needs Return or Throw")
			continue
		}
		spans = append(spans, span{from, to, key, st})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].from < spans[j].from })
	var steps []Step
	for _, s := range spans {
		if s.from != len(steps) {
			if s.from < len(steps) {
				bad(at+"/"+esc(s.key), "invocation %d is given twice", s.from)
			} else {
				bad(at+"/"+esc(s.key), "invocations %d to %d are missing: the keys must cover 0, 1, 2... without gaps", len(steps), s.from-1)
			}
			return nil
		}
		for i := s.from; i <= s.to; i++ {
			steps = append(steps, s.step)
		}
	}
	return steps
}

// parseRange reads "3" or "1-2".
func parseRange(key string) (from, to int, ok bool) {
	a, b, isRange := strings.Cut(key, "-")
	from, err := strconv.Atoi(a)
	if err != nil || from < 0 || a != strconv.Itoa(from) {
		return 0, 0, false
	}
	if !isRange {
		return from, from, true
	}
	to, err = strconv.Atoi(b)
	if err != nil || to < from || b != strconv.Itoa(to) {
		return 0, 0, false
	}
	return from, to, true
}

// Mocks is the mocked states of one test case of one state machine.
type Mocks struct {
	StateMachine, TestCase string
	states                 map[string][]Step
}

// TestCase returns the mocks of a state machine's test case; the error
// names what exists.
func (f *File) TestCase(stateMachine, testCase string) (*Mocks, error) {
	sm, ok := f.StateMachines[stateMachine]
	if !ok {
		return nil, fmt.Errorf("the mock configuration has no state machine named %q%s", stateMachine, didYouMean(stateMachine, sortedKeys(mapOf(f.StateMachines))))
	}
	tc, ok := sm.TestCases[testCase]
	if !ok {
		return nil, fmt.Errorf("state machine %q has no test case named %q in the mock configuration%s", stateMachine, testCase, didYouMean(testCase, sortedKeys(mapOf(sm.TestCases))))
	}
	m := &Mocks{StateMachine: stateMachine, TestCase: testCase, states: map[string][]Step{}}
	for st, resp := range tc {
		m.states[st] = f.Responses[resp]
	}
	return m, nil
}

// States returns the names of the mocked states, sorted.
func (m *Mocks) States() []string { return sortedKeys(mapOf(m.states)) }

// Invoker returns an invoker for one execution: it answers the mocked
// states, counting each state's invocations from 0, and hands the others
// to next (the configured resources, as Step Functions Local calls the real
// service for a state with no mock). With next nil, an unmocked Task fails
// with States.TaskFailed and a cause naming the state.
func (m *Mocks) Invoker(next express.Invoker) express.Invoker {
	return &invoker{m: m, next: next, calls: map[string]int{}}
}

type invoker struct {
	m     *Mocks
	next  express.Invoker
	mu    sync.Mutex
	calls map[string]int
}

func (iv *invoker) Invoke(ctx context.Context, req *express.TaskRequest) (any, error) {
	steps, ok := iv.m.states[req.State]
	if !ok {
		if iv.next != nil {
			return iv.next.Invoke(ctx, req)
		}
		return nil, express.Errorf(express.ErrTaskFailed, "Task state %q has no mock in test case %q of state machine %q in the mock configuration, and no resource is configured", req.State, iv.m.TestCase, iv.m.StateMachine)
	}
	iv.mu.Lock()
	n := iv.calls[req.State]
	iv.calls[req.State] = n + 1
	iv.mu.Unlock()
	if n >= len(steps) {
		n = len(steps) - 1
	}
	s := steps[n]
	if s.Throw {
		return nil, &express.Error{Name: s.Error, Cause: s.Cause, HasCause: true}
	}
	return s.Return, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func mapOf[V any](m map[string]V) map[string]any {
	out := make(map[string]any, len(m))
	for k := range m {
		out[k] = nil
	}
	return out
}

// esc escapes a key for a JSON pointer (RFC 6901).
func esc(k string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
}

func didYouMean(name string, options []string) string {
	best, bestD := "", 4
	for _, o := range options {
		if d := diag.Distance(name, o); d < bestD {
			best, bestD = o, d
		}
	}
	if best != "" && bestD*3 <= len(name) {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	if len(options) > 0 && len(options) <= 8 {
		return " (there are " + strings.Join(quoteAll(options), ", ") + ")"
	}
	return ""
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}
