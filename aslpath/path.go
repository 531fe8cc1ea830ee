// Package aslpath compiles the JSONPath expressions of the Amazon States
// Language: paths into the state input ($...), into the context object
// ($$...) and into workflow variables ($name...). A path is parsed once; the
// common case (only child and index steps) is evaluated by a small walker that
// does not allocate, everything else (wildcards, slices, filters, descent,
// unions) by ohler55/ojg's jp.
package aslpath

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ohler55/ojg/jp"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// Root says what a path starts from.
type Root int

// Roots of a path.
const (
	Input   Root = iota // $
	Context             // $$
	Var                 // $name
)

// step is one child or index step of a simple path.
type step struct {
	key   string
	hash  uint32 // jsonv.KeyHash(key)
	hint  *int32 // slot hint for jsonv.Object.GetHint
	index int
	isIdx bool
}

// Path is a compiled ASL path. It is immutable and safe for concurrent use.
type Path struct {
	src   string
	root  Root
	name  string // variable name when root == Var
	steps []step // simple paths
	// field is set for "$.name" paths, which Get serves directly.
	field     string
	fieldHash uint32
	expr      jp.Expr
	// Definite paths select at most one value; the others (wildcards,
	// slices, filters...) select a list, which is their value.
	definite bool
}

// Keys interns object keys while a workflow is compiled: paths parsed with
// ParseKeys and the objects the workflow builds (payload templates,
// ResultPath) then hold the very same string for the same key, and
// comparing a path's key with an object's costs a pointer comparison (Go
// compares the strings' data pointers before their bytes). A nil Keys
// interns nothing. Keys is for one goroutine.
type Keys map[string]string

// Intern returns the string equal to s that k holds, adding s first if
// there is none.
func (k Keys) Intern(s string) string {
	if k == nil {
		return s
	}
	if v, ok := k[s]; ok {
		return v
	}
	k[s] = s
	return s
}

// Parse compiles an ASL path. The error message says what is wrong and is
// meant to be prefixed with the field's location.
func Parse(src string) (*Path, error) { return ParseKeys(src, nil) }

// ParseKeys is Parse with the keys of the path's steps interned in keys.
func ParseKeys(src string, keys Keys) (*Path, error) {
	if !strings.HasPrefix(src, "$") {
		return nil, fmt.Errorf("%q is not a JSONPath: it must start with $", src)
	}
	p := &Path{src: src}
	rest := src[1:]
	switch {
	case strings.HasPrefix(rest, "$"):
		p.root = Context
		rest = rest[1:]
	case len(rest) > 0 && rest[0] != '.' && rest[0] != '[':
		i := strings.IndexAny(rest, ".[")
		if i < 0 {
			i = len(rest)
		}
		p.root, p.name, rest = Var, rest[:i], rest[i:]
		if !ValidVarName(p.name) {
			return nil, fmt.Errorf("%q: %q is not a valid variable name", src, p.name)
		}
	}
	if steps, ok := parseSimple(rest); ok {
		p.steps, p.definite = steps, true
		for i := range steps {
			steps[i].key = keys.Intern(steps[i].key)
			steps[i].hash = jsonv.KeyHash(steps[i].key)
			steps[i].hint = new(int32)
		}
		if p.root == Input && len(steps) == 1 && !steps[0].isIdx && steps[0].key != "" {
			p.field, p.fieldHash = steps[0].key, steps[0].hash
		}
		return p, nil
	}
	x, err := jp.ParseString("$" + rest)
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid JSONPath: %v", src, err)
	}
	p.expr = x
	p.definite = false
	return p, nil
}

// MustParse is Parse for paths known to be valid; it panics otherwise.
func MustParse(src string) *Path {
	p, err := Parse(src)
	if err != nil {
		panic(err)
	}
	return p
}

// MaxVarNameLen is the longest variable name a state may assign.
const MaxVarNameLen = 80

// ValidVarName reports whether n is a variable name: letters, '_', any
// non-ASCII character, and digits after the first character. Assigning
// also limits its length to MaxVarNameLen.
func ValidVarName(n string) bool {
	if n == "" {
		return false
	}
	for i, r := range n {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r > 127 || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

// parseSimple parses a path made only of .name, ['name'] and [N] steps.
func parseSimple(s string) ([]step, bool) {
	var steps []step
	for len(s) > 0 {
		switch s[0] {
		case '.':
			s = s[1:]
			i := 0
			for i < len(s) && s[i] != '.' && s[i] != '[' {
				i++
			}
			name := s[:i]
			if name == "" || name == "*" || strings.ContainsAny(name, " ()?@,:'\"") {
				return nil, false
			}
			steps = append(steps, step{key: name})
			s = s[i:]
		case '[':
			if len(s) > 1 && (s[1] == '\'' || s[1] == '"') {
				q := s[1]
				var b strings.Builder
				i := 2
				for ; i < len(s); i++ {
					c := s[i]
					if c == '\\' && i+1 < len(s) && s[i+1] == q {
						b.WriteByte(q)
						i++
						continue
					}
					if c == q {
						break
					}
					b.WriteByte(c)
				}
				if i+1 >= len(s) || s[i+1] != ']' {
					return nil, false
				}
				steps = append(steps, step{key: b.String()})
				s = s[i+2:]
				continue
			}
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, false
			}
			n, err := strconv.Atoi(strings.TrimSpace(s[1:end]))
			if err != nil {
				return nil, false
			}
			steps = append(steps, step{index: n, isIdx: true})
			s = s[end+1:]
		default:
			return nil, false
		}
	}
	return steps, true
}

// String returns the path as written.
func (p *Path) String() string { return p.src }

// Root tells where the path starts.
func (p *Path) Root() Root { return p.root }

// VarName is the variable a Var path reads.
func (p *Path) VarName() string { return p.name }

// Definite reports whether the path selects a single value (only child and
// index steps). Reference paths (ResultPath, Choice Variable...) must be.
func (p *Path) Definite() bool { return p.definite }

// IsRoot reports whether the path is just "$".
func (p *Path) IsRoot() bool { return p.root == Input && p.definite && len(p.steps) == 0 }

// Depth is the number of steps of a definite path.
func (p *Path) Depth() int { return len(p.steps) }

// Field returns the key of a "$.name" path (one child step from the
// input), its jsonv.KeyHash and the path's slot hint, for callers that do
// the lookup themselves (jsonv.Object.GetHint inlines); ok is false for
// any other path. What they find is what Get finds.
func (p *Path) Field() (key string, hash uint32, hint *int32, ok bool) {
	if p.field == "" {
		return "", 0, nil, false
	}
	return p.field, p.fieldHash, p.steps[0].hint, true
}

// KeyHash returns jsonv.KeyHash of the key of step i.
func (p *Path) KeyHash(i int) uint32 { return p.steps[i].hash }

// Key returns the key of step i, "" for an index step.
func (p *Path) Key(i int) string {
	if p.steps[i].isIdx {
		return ""
	}
	return p.steps[i].key
}

// Steps returns the child/index steps of a definite path: a string for a
// key, an int for an index.
func (p *Path) Steps() []any {
	out := make([]any, len(p.steps))
	for i, st := range p.steps {
		if st.isIdx {
			out[i] = st.index
		} else {
			out[i] = st.key
		}
	}
	return out
}

// base returns the value the path starts from.
func (p *Path) base(s *express.Scope, in any) (any, bool) {
	switch p.root {
	case Context:
		if s == nil {
			return nil, false
		}
		return s.ContextObject(), true
	case Var:
		if s == nil {
			return nil, false
		}
		return s.Var(p.name)
	}
	return in, true
}

// Get evaluates the path. found is false when a definite path selects
// nothing (an indefinite path always "finds" its list, possibly empty).
func (p *Path) Get(s *express.Scope, in any) (v any, found bool) {
	if p.field != "" {
		// The most common path by far: $.name.
		switch m := in.(type) {
		case *jsonv.Object:
			return m.GetHint(p.field, p.fieldHash, p.steps[0].hint)
		case map[string]any:
			v, ok := m[p.field]
			return v, ok
		}
		return nil, false
	}
	v, ok := p.base(s, in)
	if !ok {
		return nil, false
	}
	if p.definite {
		v, n := walk(v, p.steps)
		return v, n == len(p.steps)
	}
	// ojg's jp knows plain values only; complex paths are rare.
	res := p.expr.Get(jsonv.Plain(v))
	if res == nil {
		res = []any{}
	}
	return res, true
}

// walk follows steps and returns the value reached and how many steps matched.
func walk(v any, steps []step) (any, int) {
	for i := range steps {
		st := &steps[i]
		if st.isIdx {
			a, ok := v.([]any)
			if !ok {
				return nil, i
			}
			idx := st.index
			if idx < 0 {
				idx += len(a)
			}
			if idx < 0 || idx >= len(a) {
				return nil, i
			}
			v = a[idx]
			continue
		}
		var ok bool
		switch m := v.(type) {
		case *jsonv.Object:
			v, ok = m.GetHint(st.key, st.hash, st.hint)
		case map[string]any:
			v, ok = m[st.key]
		}
		if !ok {
			return nil, i
		}
	}
	return v, len(steps)
}

// MissingReason explains, the way AWS (Jayway JsonPath) words it, why a
// definite path found nothing: "No results for path: $['a']" when the last
// step is missing, "Missing property in path $['a']" when an earlier one is.
func (p *Path) MissingReason(s *express.Scope, in any) string {
	v, ok := p.base(s, in)
	if !ok {
		if p.root == Var {
			return fmt.Sprintf("Variable '%s' is not defined", p.name)
		}
		return "No results for path: $"
	}
	_, n := walk(v, p.steps)
	if n >= len(p.steps)-1 {
		return "No results for path: " + bracket(p.steps)
	}
	return "Missing property in path " + bracket(p.steps[:n+1])
}

func bracket(steps []step) string {
	var b strings.Builder
	b.WriteString("$")
	for _, st := range steps {
		if st.isIdx {
			fmt.Fprintf(&b, "[%d]", st.index)
		} else {
			b.WriteString("['")
			b.WriteString(st.key)
			b.WriteString("']")
		}
	}
	return b.String()
}

// Set returns a copy of data with v stored at the path, which must be a
// definite path into the input. Objects along the path are copied (never
// modified: the input may be shared); missing objects are created. When data
// is not an object, it cannot hold the result and is returned unchanged, as
// AWS does.
func (p *Path) Set(data, v any) (any, error) {
	if len(p.steps) == 0 {
		return v, nil
	}
	return set(data, p.steps, v, p.src)
}

func set(data any, steps []step, v any, src string) (any, error) {
	st := steps[0]
	if st.isIdx {
		a, ok := data.([]any)
		if !ok {
			return nil, fmt.Errorf("cannot set %s: the value at the index step is not an array", src)
		}
		idx := st.index
		if idx < 0 {
			idx += len(a)
		}
		if idx < 0 || idx >= len(a) {
			return nil, fmt.Errorf("cannot set %s: index %d is out of range", src, st.index)
		}
		c := make([]any, len(a))
		copy(c, a)
		if len(steps) == 1 {
			c[idx] = v
			return c, nil
		}
		nv, err := set(a[idx], steps[1:], v, src)
		if err != nil {
			return nil, err
		}
		c[idx] = nv
		return c, nil
	}
	if o, ok := data.(*jsonv.Object); ok {
		if len(steps) == 1 {
			return o.With(st.key, v), nil
		}
		child, _ := o.Get(st.key)
		if !jsonv.IsObject(child) && !isArray(child) {
			child = nil
		}
		nv, err := set(child, steps[1:], v, src)
		if err != nil {
			return nil, err
		}
		return o.With(st.key, nv), nil
	}
	m, ok := data.(map[string]any)
	if !ok {
		if data != nil {
			return data, nil
		}
		m = nil
	}
	c := make(map[string]any, len(m)+1)
	for k, e := range m {
		c[k] = e
	}
	if len(steps) == 1 {
		c[st.key] = v
		return c, nil
	}
	child, ok := m[st.key]
	if !ok || (!jsonv.IsObject(child) && !isArray(child)) {
		child = nil
	}
	nv, err := set(child, steps[1:], v, src)
	if err != nil {
		return nil, err
	}
	c[st.key] = nv
	return c, nil
}

func isArray(v any) bool { _, ok := v.([]any); return ok }
