// Package compile turns an Amazon States Language definition into a runnable
// express.Workflow. Every path, template, Choice rule and intrinsic call is
// parsed and checked here, once; executions run closures and never parse.
//
// Definitions are checked completely before anything is built: Compile
// reports every problem it finds, each with the JSON pointer of the
// offending field and what to do about it (see package diag).
package compile

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// Options configure compilation.
type Options struct {
	// Name is the workflow name ($$.StateMachine.Name); default "workflow".
	Name string
	// Invoker runs the workflow's Task resources.
	Invoker express.Invoker
	// Hooks observe executions.
	Hooks express.Hooks
	// CheckResource, when set, is asked about every Task Resource; a
	// non-nil error is reported as a problem at that Resource field.
	CheckResource func(resource string) error
}

// Compile parses, checks and compiles a definition (JSON, or YAML when it
// does not start with '{'). The error is a diag.Problems listing every
// problem, or a parse error.
func Compile(def []byte, opts Options) (*express.Workflow, error) {
	doc, err := Parse(def)
	if err != nil {
		return nil, err
	}
	return CompileValue(doc, opts)
}

// CompileFile compiles the definition in a file.
func CompileFile(file string, opts Options) (*express.Workflow, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	wf, err := Compile(b, opts)
	if err != nil {
		if ps, ok := err.(diag.Problems); ok {
			return nil, ps
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return wf, nil
}

// Parse decodes a definition document (JSON or YAML) into JSON values.
func Parse(def []byte) (any, error) {
	trimmed := bytes.TrimSpace(def)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("the definition is empty")
	}
	if trimmed[0] == '{' {
		// The compiler reads the definition as plain maps.
		v, err := jsonv.ParsePlain(trimmed)
		if err != nil {
			return nil, fmt.Errorf("the definition is not valid JSON: %v", err)
		}
		return v, nil
	}
	var y any
	if err := yaml.Unmarshal(trimmed, &y); err != nil {
		return nil, fmt.Errorf("the definition is neither JSON nor valid YAML: %v", err)
	}
	return fromYAML(y), nil
}

func fromYAML(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = fromYAML(e)
		}
		return m
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = fromYAML(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = fromYAML(e)
		}
		return t
	case int:
		return int64(t)
	case uint64:
		return float64(t)
	case float32:
		return float64(t)
	}
	return v
}

// Validate checks a definition without building it for execution.
func Validate(def []byte) diag.Problems {
	_, err := Compile(def, Options{})
	if err == nil {
		return nil
	}
	if ps, ok := err.(diag.Problems); ok {
		return ps
	}
	return diag.Problems{{Pointer: "", Message: err.Error()}}
}

// CompileValue compiles an already decoded definition.
func CompileValue(doc any, opts Options) (*express.Workflow, error) {
	c := &compiler{opts: opts, keys: map[string]string{}}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, diag.Problems{{Pointer: "", Message: "a definition must be a JSON object with StartAt and States"}}
	}
	lang := c.topLanguage(root)
	c.allowed(root, "", topFields)
	c.usesContext = mentionsContext(root)
	m, _ := c.machine(root, "", lang, scopeTop)
	m.AllStates = c.states
	// The compiled states keep nothing of an execution's values; the
	// Task resources that take the engine's objects promise the same
	// (express.ObjectsOK), and the others get copies (Result.Release).
	m.KeepsNoValues = true
	var timeout time.Duration
	if v, ok := root["TimeoutSeconds"]; ok {
		n, ok := c.posInt(v, "/TimeoutSeconds")
		if ok {
			timeout = time.Duration(n) * time.Second
		}
	}
	if v, ok := root["Version"]; ok {
		if s, ok := v.(string); !ok || s != "1.0" {
			c.problem("/Version", "Version must be the string \"1.0\"")
		}
	}
	if len(c.problems) > 0 {
		return nil, c.problems
	}
	return express.NewWorkflow(m, express.Options{
		Name: opts.Name, Timeout: timeout, Invoker: opts.Invoker, Hooks: opts.Hooks,
	}), nil
}

// topLanguage is the definition's QueryLanguage, JSONPath by default.
func (c *compiler) topLanguage(root map[string]any) queryLang {
	if ql, ok := root["QueryLanguage"]; ok {
		return c.queryLanguage(ql, "/QueryLanguage", langJSONPath)
	}
	return langJSONPath
}

var topFields = fieldSet("StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage")

type scopeKind int

const (
	scopeTop scopeKind = iota
	scopeParallel
	scopeMap
	scopeDistributedMap
)

type compiler struct {
	opts     Options
	problems diag.Problems
	// usesContext is set when the definition reads the context object.
	usesContext bool
	// shapeProblems are the problems that leave the shape unknown (see
	// ModelOf).
	shapeProblems diag.Problems
	// keys interns the keys of JSONPath paths and templates (an
	// aslpath.Keys, used by the flow files).
	keys map[string]string
	// states are every state built so far, by State.ID.
	states []*express.State
}

// mentionsContext reports whether any string of the definition refers to
// the context object ($$ in JSONPath, $states.context in JSONata). It errs
// on the side of yes, which only costs a clock read per state.
func mentionsContext(v any) bool {
	switch t := v.(type) {
	case string:
		return strings.Contains(t, "$$") || strings.Contains(t, "$states")
	case map[string]any:
		for k, e := range t {
			if mentionsContext(k) || mentionsContext(e) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if mentionsContext(e) {
				return true
			}
		}
	}
	return false
}

func (c *compiler) problem(ptr, format string, args ...any) {
	c.problems.Add(ptr, fmt.Sprintf(format, args...))
}

func fieldSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// allowed reports fields not in the allowed set.
func (c *compiler) allowed(obj map[string]any, ptr string, allowed map[string]bool) {
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if !allowed[k] {
			c.problem(diag.Pointer(ptr, k), "unknown field %q%s", k, suggest(k, allowed))
		}
	}
}

// suggest returns ` (did you mean "X"?)` for a near miss.
func suggest(name string, known map[string]bool) string {
	best, bestD := "", 3
	for k := range known {
		if d := diag.Distance(strings.ToLower(name), strings.ToLower(k)); d < bestD || (d == bestD && best != "" && k < best) {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func (c *compiler) str(v any, ptr string) (string, bool) {
	s, ok := v.(string)
	if !ok {
		c.problem(ptr, "must be a string, not %s", typeName(v))
	}
	return s, ok
}

func (c *compiler) posInt(v any, ptr string) (int64, bool) {
	n, ok := asInt(v)
	if !ok || n <= 0 {
		c.problem(ptr, "must be a positive integer, not %s", describe(v))
		return 0, false
	}
	return n, true
}

func (c *compiler) nonNegInt(v any, ptr string) (int64, bool) {
	n, ok := asInt(v)
	if !ok || n < 0 {
		c.problem(ptr, "must be a non-negative integer, not %s", describe(v))
		return 0, false
	}
	return n, true
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case float64:
		if n == float64(int64(n)) {
			return int64(n), true
		}
	}
	return 0, false
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case int64, float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func describe(v any) string {
	switch t := v.(type) {
	case string:
		return fmt.Sprintf("%q", t)
	case int64, float64, bool, nil:
		return fmt.Sprint(t)
	}
	return typeName(v)
}

// itoa formats a JSON pointer's array index.
func itoa(i int) string {
	const digits = "0123456789"
	if i >= 0 && i < 10 {
		return digits[i : i+1]
	}
	var b [20]byte
	n := len(b)
	neg := i < 0
	if neg {
		i = -i
	}
	for i > 0 {
		n--
		b[n] = digits[i%10]
		i /= 10
	}
	if neg {
		n--
		b[n] = '-'
	}
	return string(b[n:])
}
