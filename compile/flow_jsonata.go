package compile

import (
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
	"github.com/stepstream/express/jsonata"
)

// isJSONataExpr reports whether a string is a JSONata expression "{% ... %}".
func isJSONataExpr(s string) bool {
	return len(s) >= 4 && strings.HasPrefix(s, "{%") && strings.HasSuffix(s, "%}")
}

// jaTmpl is a compiled JSONata-state field value: an expression "{% %}", or
// an object or array whose string leaves may be expressions, or a literal.
type jaTmpl struct {
	field string // field path for messages, e.g. "Output/result"
	src   string // expression text, without the {% %}
	expr  *jsonata.Expr
	// ctx is set when the expression may read $states.context, which is
	// costly to build and so only built for expressions that may need it.
	ctx   bool
	keys  []string
	vals  []*jaTmpl
	arr   []*jaTmpl
	isArr bool
	lit   any
	isLit bool
}

// compileJA compiles a JSONata-state field value. field names the value in
// messages ("Output", "Arguments/FunctionName"), ptr is its JSON pointer.
func (c *compiler) compileJA(v any, field, ptr string) *jaTmpl {
	switch t := v.(type) {
	case string:
		if !isJSONataExpr(t) {
			return &jaTmpl{lit: t, isLit: true}
		}
		src := strings.TrimSpace(t[2 : len(t)-2])
		e, err := jsonata.Compile(src)
		if err != nil {
			c.problem(ptr, "the JSONata expression %q is not valid: %v", src, err)
			return &jaTmpl{lit: nil, isLit: true}
		}
		return &jaTmpl{field: field, src: src, expr: e, ctx: readsContext(src)}
	case map[string]any:
		tp := &jaTmpl{field: field}
		allLit := true
		for _, k := range slices.Sorted(maps.Keys(t)) {
			sub := c.compileJA(t[k], field+"/"+k, diag.Pointer(ptr, k))
			allLit = allLit && sub.isLit
			tp.keys = append(tp.keys, k)
			tp.vals = append(tp.vals, sub)
		}
		if allLit {
			return &jaTmpl{lit: v, isLit: true}
		}
		return tp
	case []any:
		tp := &jaTmpl{field: field, isArr: true}
		allLit := true
		for i, e := range t {
			sub := c.compileJA(e, field+"/"+itoa(i), diag.Pointer(ptr, itoa(i)))
			allLit = allLit && sub.isLit
			tp.arr = append(tp.arr, sub)
		}
		if allLit {
			return &jaTmpl{lit: v, isLit: true}
		}
		return tp
	}
	return &jaTmpl{lit: v, isLit: true}
}

// readsContext reports whether an expression may read $states.context:
// it mentions $states other than as $states.input, .result or .errorOutput.
func readsContext(src string) bool {
	for i := 0; ; {
		j := strings.Index(src[i:], "$states")
		if j < 0 {
			return false
		}
		rest := src[i+j+len("$states"):]
		if !strings.HasPrefix(rest, ".input") && !strings.HasPrefix(rest, ".result") && !strings.HasPrefix(rest, ".errorOutput") {
			return true
		}
		i += j + len("$states")
	}
}

// jaVars are the variables of a JSONata evaluation: $states and the
// workflow variables of the scope.
type jaVars struct {
	s           *express.Scope
	input       any
	result      any
	errOut      any
	hasResult   bool
	hasErr      bool
	needContext bool // the expression being evaluated may read $states.context
	hasContext  bool // states holds the context
	states      map[string]any
}

func (v *jaVars) Lookup(name string) (any, bool) {
	if name == "states" {
		if v.states == nil || (v.needContext && !v.hasContext) {
			// JSONata reads plain values only (see jsonv.Object).
			st := make(map[string]any, 4)
			st["input"] = jsonv.Plain(v.input)
			if v.hasResult {
				st["result"] = jsonv.Plain(v.result)
			}
			if v.hasErr {
				st["errorOutput"] = v.errOut
			}
			if v.s != nil && v.needContext {
				st["context"] = jsonv.Plain(v.s.ContextObject())
				v.hasContext = true
			}
			v.states = st
		}
		return v.states, true
	}
	if v.s == nil {
		return nil, false
	}
	x, ok := v.s.Var(name)
	return jsonv.Plain(x), ok
}

// jaEnv makes the evaluation environment of one state evaluation.
func jaEnv(s *express.Scope, funcs map[string]jsonata.Func, vars *jaVars) *jsonata.Env {
	x := s.Execution()
	// The execution's limit on built values bounds every evaluation.
	return &jsonata.Env{Vars: vars, Funcs: funcs, Now: x.Now(), Budget: x}
}

// eval evaluates the template. Undefined anywhere is an error naming the
// field, as AWS reports it.
func (t *jaTmpl) eval(s *express.Scope, env *jsonata.Env) (any, error) {
	switch {
	case t.isLit:
		return t.lit, nil
	case t.expr != nil:
		if jv, ok := env.Vars.(*jaVars); ok {
			jv.needContext = t.ctx
		}
		v, err := t.expr.Eval(nil, env)
		if err != nil {
			return nil, s.StateError(express.ErrQueryEvaluation, "The JSONata expression '%s' specified for the field '%s' threw an error during evaluation. %s", t.src, t.field, err.Error())
		}
		if v == jsonata.Undefined {
			return nil, s.StateError(express.ErrQueryEvaluation, "The JSONata expression '%s' specified for the field '%s' returned nothing (undefined).", t.src, t.field)
		}
		if _, isFn := v.(*jsonata.Function); isFn {
			return nil, s.StateError(express.ErrQueryEvaluation, "The JSONata expression '%s' specified for the field '%s' returned an unsupported result type.", t.src, t.field)
		}
		return v, nil
	case t.isArr:
		out := make([]any, len(t.arr))
		for i, e := range t.arr {
			v, err := e.eval(s, env)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	out := make(map[string]any, len(t.keys))
	for i, k := range t.keys {
		v, err := t.vals[i].eval(s, env)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// typeError reports a JSONata result of the wrong type.
func (t *jaTmpl) typeError(s *express.Scope, want string, v any) error {
	if t.expr == nil {
		return s.StateError(express.ErrQueryEvaluation, "The field '%s' must be %s, but was '%s' for value: %s", t.field, want, jsonv.TypeName(v), jsonv.Marshal(v))
	}
	return s.StateError(express.ErrQueryEvaluation, "The JSONata expression '%s' specified for the field '%s' returned an unexpected result type. Expected '%s', but was '%s' for value: %s", t.src, t.field, want, jsonv.TypeName(v), jsonv.Marshal(v))
}

// jaFlow is the JSONata query language: Arguments, Output and Assign, and
// fields that are a literal or a JSONata expression "{% ... %}".
type jaFlow struct {
	funcs     map[string]jsonata.Func
	args      *jaTmpl
	output    *jaTmpl
	assign    *jaTmpl
	hasResult bool // Output and Assign see $states.result
}

// jaFields are the fields JSONata adds to each state type.
var jaFields = map[string][]string{
	"Pass":     {"Output", "Assign"},
	"Task":     {"Arguments", "Output", "Assign"},
	"Choice":   {"Output", "Assign"},
	"Wait":     {"Output", "Assign"},
	"Succeed":  {"Output"},
	"Parallel": {"Arguments", "Output", "Assign"},
	"Map":      {"Items", "Output", "Assign", "Arguments"},
	"Catch":    {"Output", "Assign"},
}

func (f *jaFlow) fields(stateType string) []string { return jaFields[stateType] }

var _ flow = (*jaFlow)(nil)

// stepFunctionsFuncs are the JSONata functions Step Functions adds
// ($partition, $uuid...), made once and only read.
var stepFunctionsFuncs = sync.OnceValue(jsonata.StepFunctionsFuncs)

func newJAFlow() *jaFlow { return &jaFlow{funcs: stepFunctionsFuncs()} }

func (f *jaFlow) compile(sc *stateCompiler, io ioFields) {
	c := sc.c
	f.hasResult = io.resultSel
	if v, ok := sc.obj["Arguments"]; ok && io.params {
		f.args = c.compileJA(v, "Arguments", sc.field("Arguments"))
	}
	if v, ok := sc.obj["Output"]; ok && io.output {
		f.output = c.compileJA(v, "Output", sc.field("Output"))
	}
	if v, ok := sc.obj["Assign"]; ok && io.assign {
		f.assign = sc.jaAssign(v, sc.field("Assign"))
	}
}

func (sc *stateCompiler) jaAssign(v any, ptr string) *jaTmpl {
	m, ok := v.(map[string]any)
	if !ok {
		sc.c.problem(ptr, "Assign must be an object of variable names to values")
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		sc.c.checkVarName(diag.Pointer(ptr, k), k)
	}
	return sc.c.compileJA(v, "Assign", ptr)
}

// The JSONata flow never modifies its input in place: its values are
// plain, built by JSONata.
func (f *jaFlow) setOwnership(ownership) {}

func (f *jaFlow) setResult(resultKind, any) {}

func (f *jaFlow) plan(*machineBuilder, int) {}

// passesInput: Output may make anything.
func (f *jaFlow) passesInput() bool { return false }

// env makes the evaluation environment of one evaluation whose $states.input
// is in.
func (f *jaFlow) env(s *express.Scope, in any) *jsonata.Env {
	return jaEnv(s, f.funcs, &jaVars{s: s, input: in})
}

func (f *jaFlow) effective(s *express.Scope, in any) (any, error) {
	if f.args == nil {
		if s.Inspecting() {
			s.Inspect(express.StageAfterArguments, in)
		}
		return in, nil
	}
	v, err := f.args.eval(s, f.env(s, in))
	if err == nil && s.Inspecting() {
		s.Inspect(express.StageAfterArguments, v)
	}
	return v, err
}

func (f *jaFlow) finish(s *express.Scope, in, result any) (any, error) {
	if s.Inspecting() {
		s.Inspect(express.StageResult, result)
	}
	if f.output == nil && f.assign == nil {
		return result, nil
	}
	vars := &jaVars{s: s, input: in, result: result, hasResult: f.hasResult}
	env := jaEnv(s, f.funcs, vars)
	var assigned map[string]any
	if f.assign != nil {
		v, err := f.assign.eval(s, env)
		if err != nil {
			return nil, err
		}
		assigned, _ = v.(map[string]any)
	}
	out := result
	if f.output != nil {
		var err error
		if out, err = f.output.eval(s, env); err != nil {
			return nil, err
		}
	}
	if assigned != nil {
		s.Assign(assigned)
	}
	return out, nil
}

func (f *jaFlow) splitAssign() assignFn {
	t := f.assign
	if t == nil {
		return nil
	}
	f.assign = nil
	return func(s *express.Scope, in, result any) (map[string]any, error) {
		v, err := t.eval(s, f.env(s, in))
		if err != nil {
			return nil, err
		}
		m, _ := v.(map[string]any)
		return m, nil
	}
}

func (f *jaFlow) catcher(sc *stateCompiler, obj map[string]any, ptr string) catchFn {
	c := sc.c
	var output, assign *jaTmpl
	if v, ok := obj["Output"]; ok {
		output = c.compileJA(v, "Output", diag.Pointer(ptr, "Output"))
	}
	if v, ok := obj["Assign"]; ok {
		if m, ok := v.(map[string]any); ok {
			assign = c.compileJA(m, "Assign", diag.Pointer(ptr, "Assign"))
		} else {
			c.problem(diag.Pointer(ptr, "Assign"), "Assign must be an object of variable names to values")
		}
	}
	funcs := f.funcs
	return func(s *express.Scope, in any, errOut map[string]any) (any, error) {
		env := jaEnv(s, funcs, &jaVars{s: s, input: in, errOut: errOut, hasErr: true})
		var assigned map[string]any
		if assign != nil {
			v, err := assign.eval(s, env)
			if err != nil {
				return nil, err
			}
			assigned, _ = v.(map[string]any)
		}
		var out any = errOut
		if output != nil {
			var err error
			if out, err = output.eval(s, env); err != nil {
				return nil, err
			}
		}
		if assigned != nil {
			s.Assign(assigned)
		}
		return out, nil
	}
}

// jaExpr reports whether a field's value is a JSONata expression.
func jaExpr(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok && isJSONataExpr(s)
}

// jaSeconds evaluates an expression that must give a whole number of
// seconds.
func jaSeconds(s *express.Scope, t *jaTmpl, env *jsonata.Env, allowZero bool) (int64, error) {
	v, err := t.eval(s, env)
	if err != nil {
		return 0, err
	}
	n, ok := jsonv.Integer(v)
	if _, isNum := jsonv.Number(v); !isNum || !ok || n < 0 || (n == 0 && !allowZero) {
		want := "positive integer"
		if allowZero {
			want = "non-negative integer"
		}
		return 0, t.typeError(s, want, v)
	}
	return n, nil
}

func (f *jaFlow) seconds(sc *stateCompiler, field string) durationFn {
	v, ok := sc.obj[field]
	if !ok {
		return nil
	}
	if _, isExpr := jaExpr(v); !isExpr {
		return sc.literalSeconds(field, v)
	}
	t := sc.c.compileJA(v, field, sc.field(field))
	return func(s *express.Scope, in any) (time.Duration, error) {
		n, err := jaSeconds(s, t, f.env(s, in), false)
		if err != nil {
			return 0, err
		}
		return time.Duration(min(n, math.MaxInt64/int64(time.Second))) * time.Second, nil
	}
}

func (f *jaFlow) waitUntil(sc *stateCompiler) timeFn {
	c := sc.c
	if v, ok := sc.obj["Seconds"]; ok {
		if _, isExpr := jaExpr(v); !isExpr {
			return sc.literalWaitSeconds(v)
		}
		t := c.compileJA(v, "Seconds", sc.field("Seconds"))
		return func(s *express.Scope, in any) (time.Time, error) {
			n, err := jaSeconds(s, t, f.env(s, in), true)
			if err != nil {
				return time.Time{}, err
			}
			return s.Execution().Now().Add(time.Duration(min(n, math.MaxInt64/int64(time.Second))) * time.Second), nil
		}
	}
	if v, ok := sc.obj["Timestamp"]; ok {
		str, isStr := v.(string)
		if !isStr {
			c.problem(sc.field("Timestamp"), "Timestamp must be a string or a JSONata expression")
			return nil
		}
		if !isJSONataExpr(str) {
			return sc.literalTimestamp(str)
		}
		t := c.compileJA(v, "Timestamp", sc.field("Timestamp"))
		return func(s *express.Scope, in any) (time.Time, error) {
			v, err := t.eval(s, f.env(s, in))
			if err != nil {
				return time.Time{}, err
			}
			str, _ := v.(string)
			ts, ok := parseTimestamp(str)
			if !ok {
				return time.Time{}, s.StateError(express.ErrQueryEvaluation, "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: %s", stringOrJSON(v))
			}
			return ts, nil
		}
	}
	return nil
}

// failField: a string or an expression that gives one.
func (f *jaFlow) failField(sc *stateCompiler, field string) (stringFn, bool) {
	v, ok := sc.obj[field]
	if !ok {
		return nil, true
	}
	if _, isStr := v.(string); !isStr {
		sc.c.problem(sc.field(field), "%s must be a string or a JSONata expression", field)
		return nil, false
	}
	t := sc.c.compileJA(v, field, sc.field(field))
	if lit, ok := t.lit.(string); ok && t.isLit {
		return func(*express.Scope, any) (string, error) { return lit, nil }, true
	}
	return func(s *express.Scope, in any) (string, error) {
		v, err := t.eval(s, f.env(s, in))
		if err != nil {
			return "", err
		}
		str, ok := v.(string)
		if !ok {
			return "", t.typeError(s, "string", v)
		}
		return str, nil
	}, false
}

// rule: Condition, and the rule's own Output and Assign.
func (f *jaFlow) rule(sc *stateCompiler, obj map[string]any, ptr string) choiceRule {
	c := sc.c
	c.allowed(obj, ptr, fieldSet("Condition", "Next", "Output", "Assign", "Comment"))
	var r choiceRule
	if v, ok := obj["Condition"]; !ok {
		c.problem(ptr, "a JSONata Choice rule needs a Condition")
	} else {
		t := c.compileJA(v, "Condition", diag.Pointer(ptr, "Condition"))
		r.cond = func(s *express.Scope, in any) (bool, error) {
			v, err := t.eval(s, f.env(s, in))
			if err != nil {
				return false, err
			}
			b, ok := v.(bool)
			if !ok {
				return false, t.typeError(s, "boolean", v)
			}
			return b, nil
		}
	}
	if v, ok := obj["Assign"]; ok {
		if t := sc.jaAssign(v, diag.Pointer(ptr, "Assign")); t != nil {
			r.assign = func(s *express.Scope, in any) (map[string]any, error) {
				v, err := t.eval(s, f.env(s, in))
				if err != nil {
					return nil, err
				}
				m, _ := v.(map[string]any)
				return m, nil
			}
		}
	}
	if v, ok := obj["Output"]; ok {
		t := c.compileJA(v, "Output", diag.Pointer(ptr, "Output"))
		r.output = func(s *express.Scope, in any) (any, error) { return t.eval(s, f.env(s, in)) }
	}
	return r
}

// items: Items, an array or an expression that gives one; without it, the
// state input.
func (f *jaFlow) items(sc *stateCompiler) itemsFn {
	c := sc.c
	whole := func(s *express.Scope, _, eff any) ([]any, error) { return mapItems(s, eff, express.ErrQueryEvaluation) }
	v, ok := sc.obj["Items"]
	if !ok {
		return whole
	}
	switch v.(type) {
	case []any:
	case string:
		if !isJSONataExpr(v.(string)) {
			c.problem(sc.field("Items"), "Items must be an array or a JSONata expression that returns one")
			return whole
		}
	default:
		c.problem(sc.field("Items"), "Items must be an array or a JSONata expression that returns one")
		return whole
	}
	t := c.compileJA(v, "Items", sc.field("Items"))
	return func(s *express.Scope, in, _ any) ([]any, error) {
		v, err := t.eval(s, f.env(s, in))
		if err != nil {
			return nil, err
		}
		arr, ok := v.([]any)
		if !ok {
			return nil, t.typeError(s, "array", v)
		}
		return arr, nil
	}
}

func (f *jaFlow) itemSelector(sc *stateCompiler) valueFn {
	v, ok := sc.obj["ItemSelector"]
	if !ok {
		return nil
	}
	return f.value(sc, v, "ItemSelector", sc.field("ItemSelector"))
}

// number: a literal or an expression that gives a number.
func (f *jaFlow) number(sc *stateCompiler, field string, integer bool) numberField {
	v, ok := sc.obj[field]
	if !ok {
		return numberField{}
	}
	if _, isExpr := jaExpr(v); !isExpr {
		return sc.literalNumber(field, v, integer)
	}
	t := sc.c.compileJA(v, field, sc.field(field))
	want := "number"
	if integer {
		want = "integer"
	}
	return numberField{has: true, eval: func(s *express.Scope, in any) (float64, error) {
		v, err := t.eval(s, f.env(s, in))
		if err != nil {
			return 0, err
		}
		n, ok := jsonv.Number(v)
		if !ok || (integer && n != math.Trunc(n)) {
			return 0, t.typeError(s, want, v)
		}
		return n, nil
	}}
}

// value: a JSONata template ({% %} strings are expressions).
func (f *jaFlow) value(sc *stateCompiler, v any, field, ptr string) valueFn {
	t := sc.c.compileJA(v, field, ptr)
	return func(s *express.Scope, in any) (any, error) { return t.eval(s, f.env(s, in)) }
}

// credentials are not evaluated in JSONata states.
func (f *jaFlow) credentials(*stateCompiler, any) valueFn { return nil }
