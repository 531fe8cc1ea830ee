// Package choice compiles the JSONPath Choice Rules of the Amazon States
// Language into closures.
//
// A rule is compiled once: its Variable and ...Path operands are parsed into
// paths, its literals (numbers, timestamps, StringMatches patterns) are
// decoded, and the whole rule becomes one small Cond. Evaluating a Cond over
// the state input does not allocate unless it fails or reads the context
// object ($$), which is built on demand.
//
// Semantics follow AWS Step Functions:
//
//   - A comparison whose Variable holds a value of the wrong type is false,
//     not an error: NumericEquals on a string, StringEquals on a number,
//     BooleanEquals on 0 or null, a Timestamp comparison on a string that is
//     not an RFC 3339 timestamp. The same holds for the value a ...Path
//     operand selects.
//   - A Variable (or ...Path operand) that selects nothing is a States.Runtime
//     error ("Invalid path '$.x': The choice state's condition path references
//     an invalid value."), except for IsPresent, which exists to test that.
//   - Numbers compare by value, exactly: 10 == 10.0, and an int64 is never
//     rounded through float64.
//   - String ordering is Java's String.compareTo (UTF-16 code units), which
//     differs from byte order only for characters beyond U+FFFF.
//   - And and Or stop at the first operand that decides the result.
package choice

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stepstream/express/aslpath"
	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
)

// Cond is a compiled Choice rule. Safe for concurrent use.
//
// It reports whether the rule matches the state input in. The error, always
// an *express.Error named States.Runtime, says why the rule could not be
// evaluated (a path that selects nothing). s may be nil when the rule reads
// neither the context object nor variables.
type Cond func(s *express.Scope, in any) (bool, error)

// Compile compiles one rule object: a top-level Choices element (the caller
// handles its Next/Assign/Comment keys; "Next", "Assign", "Comment" and
// "Output" are ignored) or a nested And/Or/Not operand. ptr is the JSON
// pointer of the rule (e.g. "/States/Route/Choices/2"); every problem found
// is reported (not just the first), each with the pointer of the offending
// field and a message that says what to do. The Cond is nil exactly when
// problems are returned.
//
// Inside the rule, nested operands of And, Or and Not are held to the ASL
// rules for nested rules: they may carry a Comment but not Next or Assign.
func Compile(rule map[string]any, ptr string) (Cond, diag.Problems) {
	return CompileKeys(rule, ptr, nil)
}

// CompileKeys is Compile with the keys of the rule's paths interned in
// keys (see aslpath.Keys).
func CompileKeys(rule map[string]any, ptr string, keys aslpath.Keys) (Cond, diag.Problems) {
	c := compiler{keys: keys}
	cond := c.rule(rule, ptr, true)
	if len(c.ps) > 0 {
		return nil, c.ps
	}
	return cond, nil
}

type compiler struct {
	ps   diag.Problems
	keys aslpath.Keys
}

func (c *compiler) problem(ptr, format string, args ...any) {
	c.ps.Add(ptr, fmt.Sprintf(format, args...))
}

func (c *compiler) rule(rule map[string]any, ptr string, top bool) Cond {
	keys := make([]string, 0, len(rule))
	for k := range rule {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	var composites, ops []string
	hasVariable := false
	unknown := false // an unknown field was reported: likely the operator, misspelt
	for _, k := range keys {
		switch k {
		case "And", "Or", "Not":
			composites = append(composites, k)
		case "Variable":
			hasVariable = true
		case "Comment":
		case "Next", "Assign", "Output":
			if !top {
				c.problem(diag.Pointer(ptr, k), "%s is only allowed on a top-level Choices rule, not on a rule nested in And, Or or Not: remove it", k)
			}
		case "Condition":
			unknown = true
			c.problem(diag.Pointer(ptr, k), "Condition is a JSONata field: set \"QueryLanguage\": \"JSONata\" on the state, or write the rule with Variable and a comparison operator")
		default:
			if _, ok := operators[k]; ok {
				ops = append(ops, k)
				continue
			}
			if base, ok := strings.CutSuffix(k, "Path"); ok && (base == "StringMatches" || strings.HasPrefix(base, "Is")) {
				if _, known := operators[base]; known {
					c.problem(diag.Pointer(ptr, k), "%s has no Path variant: use %s with a literal value", base, base)
					unknown = true
					continue
				}
			}
			c.problem(diag.Pointer(ptr, k), "unknown field %q in a Choice rule%s", k, suggest(k))
			unknown = true
		}
	}

	if len(composites) > 0 {
		for _, k := range composites[1:] {
			c.problem(diag.Pointer(ptr, k), "a rule takes exactly one of And, Or and Not, and this one also has %s: nest one inside the other", composites[0])
		}
		if hasVariable {
			c.problem(diag.Pointer(ptr, "Variable"), "Variable cannot stand next to %s: move the comparison into a rule of its own inside %s", composites[0], composites[0])
		}
		for _, k := range ops {
			c.problem(diag.Pointer(ptr, k), "%s cannot stand next to %s: move the comparison (with its Variable) into a rule of its own inside %s", k, composites[0], composites[0])
		}
		return c.composite(composites[0], rule[composites[0]], diag.Pointer(ptr, composites[0]))
	}

	if len(ops) == 0 {
		if unknown {
			return nil
		}
		if hasVariable {
			c.problem(ptr, "the rule has a Variable but no comparison operator: add one such as StringEquals, NumericEquals, BooleanEquals, TimestampEquals or IsPresent")
		} else if len(keys) == 0 || onlyIgnored(keys) {
			c.problem(ptr, "the rule has no condition: add a Variable and a comparison operator (e.g. \"Variable\": \"$.x\", \"StringEquals\": \"y\"), or combine rules with And, Or or Not")
		}
		return nil
	}

	var vp *aslpath.Path
	if !hasVariable {
		c.problem(ptr, "the rule has %s but no Variable: add \"Variable\" with the path of the value to compare, e.g. \"$.value\"", ops[0])
	} else {
		vp = c.refPath(rule["Variable"], diag.Pointer(ptr, "Variable"), "Variable")
	}
	for _, k := range ops[1:] {
		c.problem(diag.Pointer(ptr, k), "a rule takes exactly one comparison operator, and this one also has %s: combine comparisons with And or Or", ops[0])
	}
	var cond Cond
	for i, k := range ops {
		cd := c.comparison(k, operators[k], rule[k], diag.Pointer(ptr, k), vp)
		if i == 0 {
			cond = cd
		}
	}
	if vp == nil {
		return nil
	}
	return cond
}

func onlyIgnored(keys []string) bool {
	for _, k := range keys {
		switch k {
		case "Comment", "Next", "Assign", "Output":
		default:
			return false
		}
	}
	return true
}

// refPath parses a reference path: a definite path into the input ($...),
// the context object ($$...) or a variable ($name...).
func (c *compiler) refPath(v any, ptr, field string) *aslpath.Path {
	s, ok := v.(string)
	if !ok {
		c.problem(ptr, "%s must be a string holding a path such as \"$.value\", not %s", field, describe(v))
		return nil
	}
	p, err := aslpath.ParseKeys(s, c.keys)
	if err != nil {
		c.problem(ptr, "%s is not a valid path: %v", field, err)
		return nil
	}
	if !p.Definite() {
		c.problem(ptr, "%s %q must be a reference path that selects a single value (only .name, ['name'] and [index] steps; no wildcards, slices, filters or ..)", field, s)
		return nil
	}
	return p
}

func (c *compiler) composite(op string, v any, ptr string) Cond {
	if op == "Not" {
		m, ok := v.(map[string]any)
		if !ok {
			c.problem(ptr, "Not must be a single Choice rule (a JSON object), not %s", describe(v))
			return nil
		}
		inner := c.rule(m, ptr, false)
		if inner == nil {
			return nil
		}
		return not(inner)
	}
	list, ok := v.([]any)
	if !ok {
		c.problem(ptr, "%s must be a non-empty array of Choice rules, not %s", op, describe(v))
		return nil
	}
	if len(list) == 0 {
		c.problem(ptr, "%s must be a non-empty array of Choice rules: add at least one rule", op)
		return nil
	}
	conds := make([]Cond, 0, len(list))
	failed := false
	for i, e := range list {
		ep := diag.Pointer(ptr, fmt.Sprint(i))
		m, ok := e.(map[string]any)
		if !ok {
			c.problem(ep, "each element of %s must be a Choice rule (a JSON object), not %s", op, describe(e))
			failed = true
			continue
		}
		cd := c.rule(m, ep, false)
		if cd == nil {
			failed = true
			continue
		}
		conds = append(conds, cd)
	}
	if failed {
		return nil
	}
	if op == "And" {
		return and(conds)
	}
	return or(conds)
}

func not(c Cond) Cond {
	return func(s *express.Scope, in any) (bool, error) {
		ok, err := c(s, in)
		if err != nil {
			return false, err
		}
		return !ok, nil
	}
}

func and(cs []Cond) Cond {
	switch len(cs) {
	case 1:
		return cs[0]
	case 2:
		a, b := cs[0], cs[1]
		return func(s *express.Scope, in any) (bool, error) {
			if ok, err := a(s, in); !ok || err != nil {
				return false, err
			}
			return b(s, in)
		}
	}
	return func(s *express.Scope, in any) (bool, error) {
		for _, c := range cs {
			if ok, err := c(s, in); !ok || err != nil {
				return false, err
			}
		}
		return true, nil
	}
}

func or(cs []Cond) Cond {
	switch len(cs) {
	case 1:
		return cs[0]
	case 2:
		a, b := cs[0], cs[1]
		return func(s *express.Scope, in any) (bool, error) {
			if ok, err := a(s, in); ok || err != nil {
				return ok, err
			}
			return b(s, in)
		}
	}
	return func(s *express.Scope, in any) (bool, error) {
		for _, c := range cs {
			if ok, err := c(s, in); ok || err != nil {
				return ok, err
			}
		}
		return false, nil
	}
}

// invalidPath is the States.Runtime error AWS reports when a Choice rule's
// Variable or ...Path operand selects nothing.
func invalidPath(s *express.Scope, p *aslpath.Path) error {
	const format = "Invalid path '%s': The choice state's condition path references an invalid value."
	if s == nil {
		return express.Errorf(express.ErrRuntime, format, p.String())
	}
	return s.Runtime(format, p.String())
}

// describe names the JSON type of a value for problem messages.
func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprintf("the boolean %v", t)
	case string:
		return fmt.Sprintf("the string %q", t)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	if _, ok := toNumber(v); ok {
		return fmt.Sprintf("the number %v", v)
	}
	return fmt.Sprintf("a value of type %T", v)
}

// suggest returns " (did you mean X?)" for a misspelt field name, or "".
func suggest(k string) string {
	best, bestD := "", 4
	for _, name := range fieldNames {
		if strings.EqualFold(name, k) {
			return fmt.Sprintf(" (did you mean %q?)", name)
		}
		if d := diag.Distance(strings.ToLower(k), strings.ToLower(name)); d < bestD {
			best, bestD = name, d
		}
	}
	if best == "" || bestD*3 > len(k) {
		return ": a rule has a Variable and one comparison operator, or one of And, Or, Not"
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
