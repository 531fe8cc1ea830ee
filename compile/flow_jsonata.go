package compile

import (
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/stepstream/express/compile/choice"
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

// jaFlow is the JSONata data flow: Arguments, Output, Assign.
type jaFlow struct {
	funcs     map[string]jsonata.Func
	args      *jaTmpl
	output    *jaTmpl
	assign    *jaTmpl
	hasResult bool // Output and Assign see $states.result
}

func (c *compiler) jaFuncs() map[string]jsonata.Func {
	if c.funcs == nil {
		c.funcs = jsonata.StepFunctionsFuncs()
	}
	return c.funcs
}

func (sc *stateCompiler) jsonataFlow(f ioFields) flow {
	c := sc.c
	fl := &jaFlow{funcs: c.jaFuncs(), hasResult: f.resultSel}
	if v, ok := sc.obj["Arguments"]; ok && f.params {
		fl.args = c.compileJA(v, "Arguments", sc.field("Arguments"))
	}
	if v, ok := sc.obj["Output"]; ok {
		fl.output = c.compileJA(v, "Output", sc.field("Output"))
	}
	if v, ok := sc.obj["Assign"]; ok {
		fl.assign = sc.jaAssign(v, sc.field("Assign"))
	}
	return fl
}

func (sc *stateCompiler) jaAssign(v any, ptr string) *jaTmpl {
	m, ok := v.(map[string]any)
	if !ok {
		sc.c.problem(ptr, "Assign must be an object of variable names to values")
		return nil
	}
	for k := range m {
		if !validVarName(k) {
			sc.c.problem(diag.Pointer(ptr, k), "%q is not a valid variable name: use letters, digits and underscores, not starting with a digit", k)
		}
		if k == "states" {
			sc.c.problem(diag.Pointer(ptr, k), "$states is reserved and cannot be assigned")
		}
	}
	return sc.c.compileJA(v, "Assign", ptr)
}

func (f *jaFlow) effective(s *express.Scope, in any) (any, error) {
	if f.args == nil {
		return in, nil
	}
	return f.args.eval(s, jaEnv(s, f.funcs, &jaVars{s: s, input: in}))
}

func (f *jaFlow) finish(s *express.Scope, in, result any) (any, error) {
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

func (f *jaFlow) splitAssign() func(s *express.Scope, in, result any) (map[string]any, error) {
	t := f.assign
	if t == nil {
		return nil
	}
	f.assign = nil
	funcs := f.funcs
	return func(s *express.Scope, in, result any) (map[string]any, error) {
		v, err := t.eval(s, jaEnv(s, funcs, &jaVars{s: s, input: in}))
		if err != nil {
			return nil, err
		}
		m, _ := v.(map[string]any)
		return m, nil
	}
}

func (f *jaFlow) catcher(c *compiler, obj map[string]any, ptr string) func(s *express.Scope, in any, errOut map[string]any) (any, error) {
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

func (sc *stateCompiler) jsonataFail() {
	c := sc.c
	field := func(name string) *jaTmpl {
		v, ok := sc.obj[name]
		if !ok {
			return nil
		}
		if _, isStr := v.(string); !isStr {
			c.problem(sc.field(name), "%s must be a string or a JSONata expression", name)
			return nil
		}
		return c.compileJA(v, name, sc.field(name))
	}
	errT, causeT := field("Error"), field("Cause")
	funcs := c.jaFuncs()
	sc.st.Exec = func(s *express.Scope, in any) (any, int, error) {
		env := jaEnv(s, funcs, &jaVars{s: s, input: in})
		e := &express.Error{}
		if errT != nil {
			v, err := errT.eval(s, env)
			if err != nil {
				return nil, 0, err
			}
			str, ok := v.(string)
			if !ok {
				return nil, 0, errT.typeError(s, "string", v)
			}
			e.Name = str
		}
		if causeT != nil {
			v, err := causeT.eval(s, env)
			if err != nil {
				return nil, 0, err
			}
			str, ok := v.(string)
			if !ok {
				return nil, 0, causeT.typeError(s, "string", v)
			}
			e.Cause, e.HasCause = str, true
		}
		return nil, 0, e
	}
}

// jaPositiveSeconds evaluates an expression that must give a whole number
// of seconds.
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

func (sc *stateCompiler) jsonataSeconds(field, expr string) func(s *express.Scope, in any) (time.Duration, error) {
	t := sc.c.compileJA(expr, field, sc.field(field))
	funcs := sc.c.jaFuncs()
	return func(s *express.Scope, in any) (time.Duration, error) {
		n, err := jaSeconds(s, t, jaEnv(s, funcs, &jaVars{s: s, input: in}), false)
		if err != nil {
			return 0, err
		}
		return time.Duration(min(n, math.MaxInt64/int64(time.Second))) * time.Second, nil
	}
}

func (sc *stateCompiler) jsonataRule(obj map[string]any, ptr string) (choice.Cond, func(s *express.Scope, in any) (map[string]any, error), func(s *express.Scope, in any) (any, bool, error)) {
	c := sc.c
	c.allowed(obj, ptr, fieldSet("Condition", "Next", "Output", "Assign", "Comment"))
	funcs := c.jaFuncs()
	var cond choice.Cond
	if v, ok := obj["Condition"]; !ok {
		c.problem(ptr, "a JSONata Choice rule needs a Condition")
	} else {
		t := c.compileJA(v, "Condition", diag.Pointer(ptr, "Condition"))
		cond = func(s *express.Scope, in any) (bool, error) {
			v, err := t.eval(s, jaEnv(s, funcs, &jaVars{s: s, input: in}))
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
	var assign func(s *express.Scope, in any) (map[string]any, error)
	if v, ok := obj["Assign"]; ok {
		if t := sc.jaAssign(v, diag.Pointer(ptr, "Assign")); t != nil {
			assign = func(s *express.Scope, in any) (map[string]any, error) {
				v, err := t.eval(s, jaEnv(s, funcs, &jaVars{s: s, input: in}))
				if err != nil {
					return nil, err
				}
				m, _ := v.(map[string]any)
				return m, nil
			}
		}
	}
	var output func(s *express.Scope, in any) (any, bool, error)
	if v, ok := obj["Output"]; ok {
		t := c.compileJA(v, "Output", diag.Pointer(ptr, "Output"))
		output = func(s *express.Scope, in any) (any, bool, error) {
			v, err := t.eval(s, jaEnv(s, funcs, &jaVars{s: s, input: in}))
			return v, true, err
		}
	}
	return cond, assign, output
}

func (sc *stateCompiler) jsonataWait() func(s *express.Scope, in any) (time.Time, error) {
	c := sc.c
	funcs := c.jaFuncs()
	if v, ok := sc.obj["Seconds"]; ok {
		if str, isStr := v.(string); isStr && isJSONataExpr(str) {
			t := c.compileJA(v, "Seconds", sc.field("Seconds"))
			return func(s *express.Scope, in any) (time.Time, error) {
				n, err := jaSeconds(s, t, jaEnv(s, funcs, &jaVars{s: s, input: in}), true)
				if err != nil {
					return time.Time{}, err
				}
				return s.Execution().Now().Add(time.Duration(min(n, math.MaxInt64/int64(time.Second))) * time.Second), nil
			}
		}
		n, ok := c.nonNegInt(v, sc.field("Seconds"))
		if !ok {
			return nil
		}
		d := time.Duration(n) * time.Second
		return func(s *express.Scope, _ any) (time.Time, error) { return s.Execution().Now().Add(d), nil }
	}
	if v, ok := sc.obj["Timestamp"]; ok {
		str, isStr := v.(string)
		if !isStr {
			c.problem(sc.field("Timestamp"), "Timestamp must be a string or a JSONata expression")
			return nil
		}
		if !isJSONataExpr(str) {
			ts, ok := parseTimestamp(str)
			if !ok {
				c.problem(sc.field("Timestamp"), "%q is not an ISO-8601 extended offset date-time such as 2016-03-14T01:59:00Z", str)
			}
			return func(*express.Scope, any) (time.Time, error) { return ts, nil }
		}
		t := c.compileJA(v, "Timestamp", sc.field("Timestamp"))
		return func(s *express.Scope, in any) (time.Time, error) {
			v, err := t.eval(s, jaEnv(s, funcs, &jaVars{s: s, input: in}))
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

func (sc *stateCompiler) jsonataItems() func(s *express.Scope, in, eff any) (any, error) {
	c := sc.c
	v, ok := sc.obj["Items"]
	if !ok {
		return nil
	}
	switch v.(type) {
	case []any:
	case string:
		if !isJSONataExpr(v.(string)) {
			c.problem(sc.field("Items"), "Items must be an array or a JSONata expression that returns one")
			return nil
		}
	default:
		c.problem(sc.field("Items"), "Items must be an array or a JSONata expression that returns one")
		return nil
	}
	t := c.compileJA(v, "Items", sc.field("Items"))
	funcs := c.jaFuncs()
	return func(s *express.Scope, in, _ any) (any, error) {
		v, err := t.eval(s, jaEnv(s, funcs, &jaVars{s: s, input: in}))
		if err != nil {
			return nil, err
		}
		if _, ok := v.([]any); !ok {
			return nil, t.typeError(s, "array", v)
		}
		return v, nil
	}
}

func (sc *stateCompiler) jsonataItemSelector(v any, ptr string) func(s *express.Scope, in, eff any) (any, error) {
	t := sc.c.compileJA(v, "ItemSelector", ptr)
	funcs := sc.c.jaFuncs()
	return func(s *express.Scope, in, _ any) (any, error) {
		return t.eval(s, jaEnv(s, funcs, &jaVars{s: s, input: in}))
	}
}

func (sc *stateCompiler) jsonataNumberField(field, expr string) numberField {
	return numberField{has: true, ja: sc.c.compileJA(expr, field, sc.field(field)), funcs: sc.c.jaFuncs()}
}
