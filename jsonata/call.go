package jsonata

import (
	"regexp"
	"unicode/utf16"
	"unicode/utf8"
)

type fnKind uint8

const (
	fnLambda fnKind = iota
	fnNative
	fnRegex
	fnRegexNext
	fnTransform
	fnChain
	fnGo
)

// Function is a JSONata function value: a lambda, a built-in, a partial
// application, a regular expression or a transform. Eval returns a
// *Function only when the expression's result is a function; callers that
// need JSON should reject it. A *Function is tied to the evaluation that
// produced it and cannot be invoked from Go.
type Function struct {
	kind   fnKind
	params []string
	body   *node
	sig    *signature
	input  any
	env    *frame
	thunk  bool

	native *builtin

	// partial application of a non-lambda: call target with targetParams
	// looked up in env
	target       *Function
	targetParams []string

	re      *regexp.Regexp
	reSrc   string
	str     string
	matches [][]int
	next    int
	// curB, curU: a unitCursor's position in str, carried from match to
	// match (see regexNext)
	curB, curU int

	f, g any // chain

	gofn GoFunc
	name string
}

// arity is the reference getFunctionArity: the number of declared
// parameters, which decides how many arguments HOFs pass.
func (f *Function) arity() int {
	switch f.kind {
	case fnLambda:
		return len(f.params)
	case fnNative:
		return f.native.arity
	case fnRegex:
		return 2
	case fnTransform, fnChain:
		return 1
	case fnGo:
		if f.sig != nil {
			return len(f.sig.params)
		}
		return 1
	}
	return 0
}

type placeholderT struct{ _ byte }

var placeholder = &placeholderT{}

// procedure evaluates the function a call or partial application names and
// returns it with its name. A path naming nothing while a variable of that
// name exists fails with undefCode (the reference implementation's check).
func (c *evalCtx) procedure(n *node, input any, env *frame, undefCode string) (any, string, error) {
	proc, err := c.eval(n.procedure, input, env)
	if err != nil {
		return nil, "", err
	}
	procName := n.procedure.value
	if n.procedure.kind == nPath && len(n.procedure.steps) > 0 {
		procName = n.procedure.steps[0].value
		if isUndef(proc) && !isUndef(c.lookup(env, procName)) {
			return nil, "", errAt(undefCode, n.pos, procName)
		}
	}
	return proc, procName, nil
}

func (c *evalCtx) evalFunction(n *node, input any, env *frame, applyto *any) (any, error) {
	proc, procName, err := c.procedure(n, input, env, "T1005")
	if err != nil {
		return nil, err
	}
	nargs := len(n.args)
	if applyto != nil {
		nargs++
	}
	var argBuf [4]any
	var args []any
	if nargs <= len(argBuf) {
		args = argBuf[:0]
	} else {
		args = make([]any, 0, nargs)
	}
	if applyto != nil {
		args = append(args, *applyto)
	}
	for _, a := range n.args {
		v, err := c.eval(a, input, env)
		if err != nil {
			return nil, err
		}
		args = append(args, v)
	}
	res, err := c.apply(proc, args, input, env)
	if err != nil {
		return nil, withPos(err, n.pos, procName)
	}
	return res, nil
}

// apply invokes proc and runs the trampoline for tail calls.
func (c *evalCtx) apply(proc any, args []any, input any, env *frame) (any, error) {
	res, err := c.applyInner(proc, args, input, env)
	for err == nil {
		t, ok := res.(*Function)
		if !ok || !t.thunk {
			break
		}
		call := t.body
		next, err2 := c.eval(call.procedure, t.input, t.env)
		if err2 != nil {
			return nil, err2
		}
		targs := make([]any, len(call.args))
		for i, a := range call.args {
			v, err2 := c.eval(a, t.input, t.env)
			if err2 != nil {
				return nil, err2
			}
			targs[i] = v
		}
		res, err = c.applyInner(next, targs, input, env)
		if err != nil {
			name := call.procedure.value
			if call.procedure.kind == nPath && len(call.procedure.steps) > 0 {
				name = call.procedure.steps[0].value
			}
			err = withPos(err, call.pos, name)
		}
	}
	return res, err
}

func (c *evalCtx) applyInner(proc any, args []any, input any, env *frame) (any, error) {
	f, ok := proc.(*Function)
	if !ok {
		return nil, newErr("T1006")
	}
	if f.sig != nil {
		v, err := f.sig.validate(args, input)
		if err != nil {
			if e, ok := err.(*Error); ok && e.Token == "" && f.name != "" {
				e.Token = f.name
			}
			return nil, err
		}
		args = v
	}
	switch f.kind {
	case fnLambda:
		return c.applyProcedure(f, args)
	case fnNative:
		return f.native.fn(c, args, input, env)
	case fnRegex:
		return c.regexCall(f, args)
	case fnRegexNext:
		return c.regexNext(f)
	case fnTransform:
		var obj any = undef
		if len(args) > 0 {
			obj = args[0]
		}
		return c.applyTransform(f, obj)
	case fnChain:
		var x any = undef
		if len(args) > 0 {
			x = args[0]
		}
		r, err := c.apply(f.f, []any{x}, nil, env)
		if err != nil {
			return nil, err
		}
		return c.apply(f.g, []any{r}, nil, env)
	case fnGo:
		plain := make([]any, len(args))
		for i, a := range args {
			plain[i] = toJSON(a)
		}
		r, err := f.gofn(plain)
		if err != nil {
			if _, ok := err.(*Error); ok {
				return nil, err
			}
			e := errVal("D3137", err.Error())
			e.Token = f.name
			return nil, e
		}
		if r == nil {
			return nil, nil
		}
		// What a Go function returns is counted as built, two levels deep
		// (its arrays of arrays, objects of arrays).
		return r, c.build(valueBytes(r, 2))
	}
	return nil, newErr("T1006")
}

func (c *evalCtx) applyProcedure(f *Function, args []any) (any, error) {
	if err := c.build(callBytes); err != nil {
		return nil, err
	}
	vals := make([]any, len(f.params))
	for i := range f.params {
		if i < len(args) {
			vals[i] = args[i]
		} else {
			vals[i] = undef
		}
	}
	env := &frame{parent: f.env, names: f.params, vals: vals, shared: true}
	if f.target != nil {
		targs := make([]any, len(f.targetParams))
		for i, p := range f.targetParams {
			targs[i] = c.lookup(env, p)
		}
		return c.apply(f.target, targs, undef, env)
	}
	return c.eval(f.body, f.input, env)
}

func (c *evalCtx) evalPartial(n *node, input any, env *frame) (any, error) {
	args := make([]any, len(n.args))
	for i, a := range n.args {
		if a.kind == nOperator && a.value == "?" {
			args[i] = placeholder
			continue
		}
		v, err := c.eval(a, input, env)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	proc, procName, err := c.procedure(n, input, env, "T1007")
	if err != nil {
		return nil, err
	}
	f, ok := proc.(*Function)
	if !ok {
		return nil, errAt("T1008", n.pos, procName)
	}
	if f.kind == fnLambda {
		return partialLambda(f, f.params, args), nil
	}
	// wrap the native in a lambda over its declared parameters
	var params []string
	switch f.kind {
	case fnNative:
		params = f.native.params
	case fnTransform:
		params = []string{"obj"}
	case fnRegex:
		params = []string{"str", "fromIndex"}
	default:
		params = make([]string, len(args))
		for i := range params {
			params[i] = "arg" + string(rune('0'+i%10))
		}
	}
	wrapper := &Function{kind: fnLambda, params: params, target: f, targetParams: params, env: env}
	return partialLambda(wrapper, params, args), nil
}

func partialLambda(f *Function, params []string, args []any) *Function {
	env := newFrame(f.env)
	var unbound []string
	for i, p := range params {
		var a any = undef
		if i < len(args) {
			a = args[i]
		}
		if a == any(placeholder) {
			unbound = append(unbound, p)
		} else {
			env.bind(p, a)
		}
	}
	return &Function{kind: fnLambda, input: f.input, env: env, params: unbound, body: f.body,
		target: f.target, targetParams: f.targetParams}
}

func (c *evalCtx) evalApply(n *node, input any, env *frame) (any, error) {
	lhs, err := c.eval(n.lhs, input, env)
	if err != nil {
		return nil, err
	}
	if n.rhs.kind == nFunction {
		return c.evalFunction(n.rhs, input, env, &lhs)
	}
	fn, err := c.eval(n.rhs, input, env)
	if err != nil {
		return nil, err
	}
	if !isFunc(fn) {
		e := errVal("T2006", fn)
		e.Position = n.pos
		return nil, e
	}
	if isFunc(lhs) {
		return &Function{kind: fnChain, f: lhs, g: fn}, nil
	}
	return c.apply(fn, []any{lhs}, nil, env)
}

// ------------------------------------------------------------ transform

func (c *evalCtx) applyTransform(f *Function, obj any) (any, error) {
	if isUndef(obj) {
		return undef, nil
	}
	n := f.body
	env := f.env
	cloneFn := c.lookup(env, "clone")
	if !isFunc(cloneFn) {
		e := newErr("T2013")
		e.Position = n.pos
		return nil, e
	}
	result, err := c.apply(cloneFn, []any{obj}, nil, env)
	if err != nil {
		return nil, err
	}
	matches, err := c.eval(n.pattern, result, env)
	if err != nil {
		return nil, err
	}
	if isUndef(matches) {
		return result, nil
	}
	items, ok := asArray(matches)
	if !ok {
		items = []any{matches}
	}
	for _, match := range items {
		update, err := c.eval(n.update, match, env)
		if err != nil {
			return nil, err
		}
		if !isUndef(update) {
			if !isObject(update) {
				e := errVal("T2011", update)
				e.Position = n.update.pos
				return nil, e
			}
			if m, ok := match.(*object); ok {
				for _, k := range objKeys(update) {
					v, _ := objGet(update, k)
					m.set(k, v)
				}
			}
		}
		if n.del != nil {
			dels, err := c.eval(n.del, match, env)
			if err != nil {
				return nil, err
			}
			if isUndef(dels) {
				continue
			}
			val := dels
			list, ok := asArray(dels)
			if !ok {
				list = []any{dels}
			}
			for _, d := range list {
				if _, ok := d.(string); !ok {
					e := errVal("T2012", val)
					e.Position = n.del.pos
					return nil, e
				}
			}
			if m, ok := match.(*object); ok {
				for _, d := range list {
					m.del(d.(string))
				}
			}
		}
	}
	return result, nil
}

// deepClone copies a value into engine-owned containers (built objects
// keep their key order); it backs $clone and the transform operator.
func deepClone(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepClone(e)
		}
		return out
	case *seq:
		out := make([]any, len(x.items))
		for i, e := range x.items {
			out[i] = deepClone(e)
		}
		return out
	case map[string]any, *object:
		keys := objKeys(x)
		o := newObject(len(keys))
		for _, k := range keys {
			e, _ := objGet(x, k)
			if isUndef(e) {
				continue
			}
			o.set(k, deepClone(e))
		}
		return o
	case *Function:
		return ""
	case float64:
		if !isInteger(x) {
			return toPrecision15(x)
		}
		return x
	}
	return v
}

// --------------------------------------------------------------- regex

type regexMatch struct {
	match  string
	start  int // byte offsets
	end    int
	groups []any
}

// matchBytes estimates the bytes of a regexMatch and its offsets.
const matchBytes = 96

func (c *evalCtx) regexCall(f *Function, args []any) (any, error) {
	str, _ := firstString(args)
	all, err := c.findAll(f.re, str, -1)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return undef, nil
	}
	it := &Function{kind: fnRegexNext, re: f.re, reSrc: f.reSrc, str: str, matches: all, next: 0}
	return c.regexNext(it)
}

// regexNext returns the next match object of the reference's matcher
// protocol ({match, start, end, groups, next}).
func (c *evalCtx) regexNext(f *Function) (any, error) {
	if f.next >= len(f.matches) {
		return undef, nil
	}
	if f.next > 0 {
		prev := f.matches[f.next-1]
		if prev[1] >= len(f.str) {
			return undef, nil
		}
		cur := f.matches[f.next]
		if prev[0] == prev[1] || cur[0] == cur[1] {
			e := errVal("D1004", f.reSrc)
			return nil, e
		}
	}
	m := f.matches[f.next]
	uc := unitCursor{s: f.str, b: f.curB, u: f.curU}
	o := newObject(5)
	o.set("match", f.str[m[0]:m[1]])
	o.set("start", float64(uc.units(m[0])))
	o.set("end", float64(uc.units(m[1])))
	groups := make([]any, 0, len(m)/2-1)
	for g := 1; g < len(m)/2; g++ {
		if m[2*g] < 0 {
			groups = append(groups, "")
		} else {
			groups = append(groups, f.str[m[2*g]:m[2*g+1]])
		}
	}
	o.set("groups", groups)
	nx := *f
	nx.next = f.next + 1
	nx.curB, nx.curU = uc.b, uc.u
	o.set("next", &nx)
	return o, nil
}

// findAll runs re over str for up to limit matches (limit < 0: all). Go's
// search allocates the offsets of every match before any of them can be
// counted (tens of MB over a long string), so the most it can allocate is
// reserved from the Budget first, and given back once it is done: an
// execution, or a daemon's executions together, cannot run more such
// searches at once than their budget holds.
func (c *evalCtx) findAll(re *regexp.Regexp, str string, limit int) ([][]int, error) {
	if c.budget == nil || len(str) < 4096 {
		return re.FindAllStringSubmatchIndex(str, limit), nil
	}
	n := len(str) + 1
	if limit >= 0 {
		n = min(n, limit)
	}
	reserve := n * (findMatchBytes + 16*re.NumSubexp())
	if err := c.budget.Charge(reserve); err != nil {
		c.budget.Charge(-reserve)
		return nil, &Error{Code: "D1016", Message: err.Error()}
	}
	defer c.budget.Charge(-reserve)
	return re.FindAllStringSubmatchIndex(str, limit), nil
}

// findMatchBytes is what Go's regexp allocates per match found by
// FindAllStringSubmatchIndex, groups aside (measured: about 140 bytes with
// the slices' growth).
const findMatchBytes = 144

func firstString(args []any) (string, bool) {
	if len(args) == 0 {
		return "", false
	}
	s, ok := args[0].(string)
	return s, ok
}

// matchAll runs a matcher (a regex or a custom matcher function) over str
// and returns up to limit matches (limit < 0: all).
func (c *evalCtx) matchAll(matcher *Function, str string, limit int) ([]regexMatch, error) {
	if limit == 0 {
		return nil, nil
	}
	if matcher.kind == fnRegex {
		// The loop below reads at most limit matches: finding more would
		// be wasted ($contains needs one).
		all, err := c.findAll(matcher.re, str, limit)
		if err != nil {
			return nil, err
		}
		if len(all) > 0 {
			// the offsets found and the matches made of them
			if err := c.build(len(all) * (matchBytes + (8+slotBytes)*len(all[0]))); err != nil {
				return nil, err
			}
		}
		out := make([]regexMatch, 0, len(all))
		for i, m := range all {
			if limit >= 0 && len(out) >= limit {
				break
			}
			if i > 0 {
				prev := all[i-1]
				if prev[1] >= len(str) {
					break
				}
				if prev[0] == prev[1] || m[0] == m[1] {
					return nil, errVal("D1004", matcher.reSrc)
				}
			}
			rm := regexMatch{match: str[m[0]:m[1]], start: m[0], end: m[1]}
			rm.groups = make([]any, 0, len(m)/2-1)
			for g := 1; g < len(m)/2; g++ {
				if m[2*g] < 0 {
					rm.groups = append(rm.groups, "")
				} else {
					rm.groups = append(rm.groups, str[m[2*g]:m[2*g+1]])
				}
			}
			out = append(out, rm)
		}
		if len(out) == 1 && len(all) > 1 && (limit < 0 || limit > 1) {
			// the reference stops after the first match when it consumed
			// the whole string; handled by the loop above
		}
		return out, nil
	}
	var out []regexMatch
	uc := unitCursor{s: str}
	res, err := c.apply(matcher, []any{str}, nil, nil)
	if err != nil {
		return nil, err
	}
	for {
		if isUndef(res) || res == nil {
			break
		}
		if err := checkMatcherResult(res); err != nil {
			return nil, err
		}
		if limit >= 0 && len(out) >= limit {
			break
		}
		var rm regexMatch
		if m, ok := objGet(res, "match"); ok {
			rm.match, _ = m.(string)
		}
		if s, ok := objGet(res, "start"); ok {
			f, _ := toNumber(s)
			rm.start = uc.bytes(int(f))
		}
		if e, ok := objGet(res, "end"); ok {
			f, _ := toNumber(e)
			rm.end = uc.bytes(int(f))
		} else {
			rm.end = rm.start + len(rm.match)
		}
		if g, ok := objGet(res, "groups"); ok {
			rm.groups, _ = asArray(g)
		}
		out = append(out, rm)
		next, _ := objGet(res, "next")
		if !isFunc(next) {
			break
		}
		res, err = c.apply(next, nil, nil, nil)
		if err != nil {
			return nil, err
		}
		if err := c.charge(1); err != nil {
			return nil, err
		}
		if err := c.build(matchBytes); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func checkMatcherResult(res any) error {
	if !isObject(res) {
		return newErr("T1010")
	}
	s, _ := objGet(res, "start")
	g, _ := objGet(res, "groups")
	n, _ := objGet(res, "next")
	if !isNumber(s) && !isArray(g) && !isFunc(n) {
		return newErr("T1010")
	}
	return nil
}

// unitCursor converts byte offsets of s to UTF-16 code unit offsets (the
// unit of JavaScript string positions) and back, walking on from the last
// offset it converted: the offsets of successive matches cost O(len(s)) in
// all, not O(len(s)) each. It starts over when asked for an earlier offset.
// Invariant: byte offset b of s is code unit offset u.
type unitCursor struct {
	s    string
	b, u int
}

// units returns the UTF-16 offset of byte offset b, decoding runes as
// ranging over s[:b] does. The cursor stays on rune boundaries of s: the
// bytes of a rune that b cuts count one unit each, as they do in s[:b].
func (c *unitCursor) units(b int) int {
	b = min(b, len(c.s))
	if b < c.b {
		c.b, c.u = 0, 0
	}
	s, i, u := c.s, c.b, c.u
	for i < b {
		if s[i] < utf8.RuneSelf {
			i++
			u++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if i+size > b {
			break
		}
		i += size
		u += utf16.RuneLen(r)
	}
	c.b, c.u = i, u
	return u + b - i
}

// bytes returns the byte offset of the first rune at or past UTF-16 offset
// u (len(s) when there is none).
func (c *unitCursor) bytes(u int) int {
	if u <= 0 {
		return 0
	}
	if u < c.u {
		c.b, c.u = 0, 0
	}
	for c.u < u && c.b < len(c.s) {
		if c.s[c.b] < utf8.RuneSelf {
			c.b++
			c.u++
			continue
		}
		r, size := utf8.DecodeRuneInString(c.s[c.b:])
		c.b += size
		c.u += utf16.RuneLen(r)
	}
	return c.b
}
