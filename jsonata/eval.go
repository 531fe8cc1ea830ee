package jsonata

import (
	"cmp"
	"math"
	"strings"
	"time"
)

// frame is one scope of variable bindings. Frames are created per
// evaluation (never shared between evaluations), so binding in place is
// safe; frames built from tuples share the tuple's slices and copy them
// before the first write.
type frame struct {
	parent *frame
	names  []string
	vals   []any
	shared bool
}

func newFrame(parent *frame) *frame { return &frame{parent: parent} }

func (f *frame) bind(name string, v any) {
	if f.shared {
		f.names = append([]string(nil), f.names...)
		f.vals = append([]any(nil), f.vals...)
		f.shared = false
	}
	for i := len(f.names) - 1; i >= 0; i-- {
		if f.names[i] == name {
			f.vals[i] = v
			return
		}
	}
	f.names = append(f.names, name)
	f.vals = append(f.vals, v)
}

// evalCtx is the state of one Eval call: limits, counters and the
// caller's bindings. It is never shared between goroutines.
type evalCtx struct {
	depth       int
	maxDepth    int
	steps       int
	maxSteps    int
	deadline    time.Time
	hasDeadline bool
	now         time.Time
	nowMillis   float64
	vars        Vars
	funcs       map[string]Func
	budget      Budget
	built       int // bytes built and not yet charged to budget
	root        frame
	rootNames   [1]string
	rootVals    [1]any
}

func (c *evalCtx) lookup(env *frame, name string) any {
	for f := env; f != nil; f = f.parent {
		for i := len(f.names) - 1; i >= 0; i-- {
			if f.names[i] == name {
				return f.vals[i]
			}
		}
	}
	if c.vars != nil {
		if v, ok := c.vars.Lookup(name); ok {
			return v
		}
	}
	if c.funcs != nil {
		if fn, ok := c.funcs[name]; ok {
			if fn.f == nil {
				return undef // hidden built-in
			}
			return fn.f
		}
	}
	if b, ok := builtins[name]; ok {
		return b
	}
	return undef
}

// charge adds n units to the step budget; used for work that is not a
// node evaluation (large ranges, long strings).
func (c *evalCtx) charge(n int) error {
	c.steps += n
	if c.steps > c.maxSteps {
		return errVal("D1014", float64(c.maxSteps))
	}
	if c.hasDeadline && n > 64 && time.Now().After(c.deadline) {
		return newErr("D1012")
	}
	return nil
}

// chargeBytes charges for producing a string of n bytes, to the Budget
// (see build) and to the step budget, so that loops building large strings
// run out of budget rather than memory.
func (c *evalCtx) chargeBytes(n int) error {
	if err := c.build(n); err != nil {
		return err
	}
	if n < 256 {
		return nil
	}
	return c.charge(n / 256)
}

// Estimated sizes of built values, for build, close to what Go allocates:
// an interface slot of an array, an object (a small map takes a group of 8
// slots) and each of its keys (map entry and key list), a tuple of a tuple
// stream, a call of a lambda (its frame and arguments).
const (
	slotBytes   = 16
	objectBytes = 320
	keyBytes    = 48
	tupleBytes  = 96
	callBytes   = 64
	// buildChunk is how many bytes an evaluation adds up before charging
	// its Budget.
	buildChunk = 16 << 10
)

// build counts n bytes of values the evaluation builds against the
// Budget. Charges are added up locally and handed over in chunks, so that
// counting costs an addition; a value of buildChunk bytes or more is
// charged at once, and callers charge large values before building them.
func (c *evalCtx) build(n int) error {
	c.built += n
	if c.built < buildChunk {
		return nil
	}
	return c.flushBuilt()
}

// flushBuilt charges the bytes counted so far to the Budget.
func (c *evalCtx) flushBuilt() error {
	n := c.built
	c.built = 0
	if c.budget == nil || n == 0 {
		return nil
	}
	if err := c.budget.Charge(n); err != nil {
		return &Error{Code: "D1016", Message: err.Error()}
	}
	return nil
}

func (c *evalCtx) eval(n *node, input any, env *frame) (any, error) {
	c.depth++
	if c.depth > c.maxDepth {
		return nil, errVal("D1011", float64(c.maxDepth))
	}
	c.steps++
	if c.steps > c.maxSteps {
		return nil, errVal("D1014", float64(c.maxSteps))
	}
	if c.hasDeadline && c.steps&255 == 0 && time.Now().After(c.deadline) {
		return nil, newErr("D1012")
	}
	var result any
	var err error
	switch n.kind {
	case nPath:
		if n.simplePath {
			if r, ok := simplePath(n, input); ok {
				c.steps += len(n.steps)
				c.depth--
				return r, nil
			}
		}
		result, err = c.evalPath(n, input, env)
	case nBinary:
		result, err = c.evalBinary(n, input, env)
	case nNegate:
		result, err = c.evalNegate(n, input, env)
	case nArray:
		result, err = c.evalArray(n, input, env)
	case nObject:
		result, err = c.evalGroup(n.ownGroup, input, env)
	case nName:
		result = lookupField(input, n.value)
		if s, ok := result.(*seq); ok && len(s.items) > 4 {
			err = c.build(slotBytes * len(s.items)) // mapped over an array
		}
	case nString, nNumber, nValue:
		result = n.lit
	case nWildcard:
		result = evalWildcard(input)
		if items, ok := asArray(result); ok {
			err = c.build(slotBytes * len(items))
		}
	case nDescendant:
		result = evalDescendants(input)
		if s, ok := result.(*seq); ok {
			err = c.build(slotBytes * len(s.items))
		}
	case nParent:
		result = c.lookup(env, n.slot.label)
	case nCondition:
		var cond any
		cond, err = c.eval(n.cond, input, env)
		if err == nil {
			if truthy(cond) {
				result, err = c.eval(n.then, input, env)
			} else if n.els != nil {
				result, err = c.eval(n.els, input, env)
			} else {
				result = undef
			}
		}
	case nBlock:
		result, err = c.evalBlock(n, input, env)
	case nBind:
		result, err = c.eval(n.rhs, input, env)
		if err == nil {
			env.bind(n.lhs.value, result)
		}
	case nRegex:
		result = &Function{kind: fnRegex, re: n.re, reSrc: n.reSource}
	case nFunction:
		result, err = c.evalFunction(n, input, env, nil)
	case nVariable:
		if n.value == "" {
			if s, ok := input.(*seq); ok && s.outerWrapper && len(s.items) > 0 {
				result = s.items[0]
			} else {
				result = input
			}
		} else {
			result = c.lookup(env, n.value)
		}
	case nLambda:
		result = &Function{kind: fnLambda, params: n.params, body: n.body, sig: n.sig, input: input, env: env, thunk: n.thunk}
	case nPartial:
		result, err = c.evalPartial(n, input, env)
	case nApply:
		result, err = c.evalApply(n, input, env)
	case nTransform:
		result = &Function{kind: fnTransform, body: n, env: env}
	case nSort:
		// a sort step outside a path is evaluated through evalPath
		result = undef
	default:
		result = undef
	}
	if err != nil {
		return nil, err
	}
	for _, p := range n.predicate {
		result, err = c.evalFilter(p.expr, result, env)
		if err != nil {
			return nil, err
		}
	}
	if n.kind != nPath && n.group != nil {
		result, err = c.evalGroup(n.group, result, env)
		if err != nil {
			return nil, err
		}
	}
	if s, ok := result.(*seq); ok && s.isSeq && !s.tupleStream {
		if n.keepArray {
			s.keepSingleton = true
		}
		switch len(s.items) {
		case 0:
			result = undef
		case 1:
			if !s.keepSingleton {
				result = s.items[0]
			}
		}
	}
	c.depth--
	return result, nil
}

// lookupField is the reference fn.lookup: field access mapped over arrays.
func lookupField(input any, key string) any {
	switch x := input.(type) {
	case map[string]any:
		if v, ok := x[key]; ok {
			return v
		}
		return undef
	case *object:
		if v, ok := x.m[key]; ok {
			return v
		}
		return undef
	case []any:
		return lookupArray(x, key)
	case *seq:
		return lookupArray(x.items, key)
	}
	return undef
}

func lookupArray(items []any, key string) any {
	result := newSeq(len(items))
	for _, it := range items {
		res := lookupField(it, key)
		if isUndef(res) {
			continue
		}
		if arr, ok := asArray(res); ok {
			result.items = append(result.items, arr...)
		} else {
			result.push(res)
		}
	}
	return result
}

func (c *evalCtx) evalPath(n *node, input any, env *frame) (any, error) {
	var inputSeq any
	if isArray(input) && n.steps[0].kind != nVariable {
		inputSeq = input
	} else {
		inputSeq = seqOf(input)
	}
	var resultSeq any = undef
	isTuple := false
	var tupleBindings *seq
	last := len(n.steps) - 1
	for i, step := range n.steps {
		var err error
		if step.tuple {
			isTuple = true
		}
		if i == 0 && step.consarray {
			resultSeq, err = c.eval(step, inputSeq, env)
		} else if isTuple {
			tupleBindings, err = c.evalTupleStep(step, inputSeq, tupleBindings, env)
		} else {
			resultSeq, err = c.evalStep(step, inputSeq, env, i == last)
		}
		if err != nil {
			return nil, err
		}
		if !isTuple {
			if isUndef(resultSeq) {
				break
			}
			if arr, ok := asArray(resultSeq); ok && len(arr) == 0 {
				break
			}
		}
		if !step.hasFocus {
			inputSeq = resultSeq
		}
	}
	if isTuple {
		if n.tuple {
			resultSeq = tupleBindings
		} else {
			if err := c.build(slotBytes * len(tupleBindings.items)); err != nil {
				return nil, err
			}
			out := newSeq(len(tupleBindings.items))
			for _, t := range tupleBindings.items {
				out.push(t.(*tuple).at)
			}
			resultSeq = out
		}
	}
	if n.keepSingletonArray {
		if s, ok := resultSeq.(*seq); ok && s.cons && !s.isSeq {
			resultSeq = seqOf(s)
		}
		if s, ok := resultSeq.(*seq); ok {
			s.keepSingleton = true
		}
	}
	if n.group != nil {
		var err error
		if isTuple {
			resultSeq, err = c.evalGroup(n.group, tupleBindings, env)
		} else {
			resultSeq, err = c.evalGroup(n.group, resultSeq, env)
		}
		if err != nil {
			return nil, err
		}
	}
	return resultSeq, nil
}

func frameFromTuple(env *frame, t *tuple) *frame {
	return &frame{parent: env, names: t.names, vals: t.vals, shared: true}
}

func (c *evalCtx) evalStep(step *node, input any, env *frame, lastStep bool) (any, error) {
	if step.kind == nSort {
		result, err := c.evalSort(step, input, env)
		if err != nil {
			return nil, err
		}
		if step.stages != nil {
			return c.evalStages(step.stages, result, env)
		}
		return result, nil
	}
	items, _ := asArray(input)
	result := newSeq(len(items))
	needFlatten := false
	for _, item := range items {
		res, err := c.eval(step, item, env)
		if err != nil {
			return nil, err
		}
		for _, st := range step.stages {
			res, err = c.evalFilter(st.expr, res, env)
			if err != nil {
				return nil, err
			}
		}
		if !isUndef(res) {
			if !needFlatten {
				switch r := res.(type) {
				case []any:
					needFlatten = true
				case *seq:
					needFlatten = !r.cons
				}
			}
			result.push(res)
		}
	}
	if err := c.build(slotBytes * len(result.items)); err != nil {
		return nil, err
	}
	if lastStep && len(result.items) == 1 {
		if _, ok := result.items[0].([]any); ok {
			return result.items[0], nil
		}
		if s, ok := result.items[0].(*seq); ok && !s.isSeq {
			return s, nil
		}
	}
	if !needFlatten {
		return result, nil
	}
	flat := newSeq(len(result.items))
	for _, res := range result.items {
		switch r := res.(type) {
		case []any:
			flat.items = append(flat.items, r...)
		case *seq:
			if r.cons {
				flat.push(r)
			} else {
				flat.items = append(flat.items, r.items...)
			}
		default:
			flat.push(res)
		}
	}
	return flat, c.build(slotBytes * len(flat.items))
}

func (c *evalCtx) evalStages(stages []*stage, input any, env *frame) (any, error) {
	result := input
	for _, st := range stages {
		if st.isIndex {
			if s, ok := result.(*seq); ok {
				for i, t := range s.items {
					if tp, ok := t.(*tuple); ok {
						tp.set(st.name, float64(i))
					}
				}
			}
			continue
		}
		var err error
		result, err = c.evalFilter(st.expr, result, env)
		if err != nil {
			return nil, err
		}
	}
	return result, nil
}

func (c *evalCtx) evalTupleStep(step *node, input any, tupleBindings *seq, env *frame) (*seq, error) {
	if step.kind == nSort {
		var result *seq
		if tupleBindings != nil {
			r, err := c.evalSort(step, tupleBindings, env)
			if err != nil {
				return nil, err
			}
			result = r.(*seq)
		} else {
			sorted, err := c.evalSort(step, input, env)
			if err != nil {
				return nil, err
			}
			items, _ := asArray(sorted)
			result = &seq{isSeq: true, tupleStream: true, items: make([]any, 0, len(items))}
			for i, v := range items {
				t := &tuple{at: v}
				if step.hasIndex {
					t.set(step.index, float64(i))
				}
				result.push(t)
			}
		}
		if step.stages != nil {
			r, err := c.evalStages(step.stages, result, env)
			if err != nil {
				return nil, err
			}
			result = r.(*seq)
		}
		return result, nil
	}
	if tupleBindings == nil {
		items, _ := asArray(input)
		if err := c.build(tupleBytes * len(items)); err != nil {
			return nil, err
		}
		tupleBindings = &seq{isSeq: true, tupleStream: true, items: make([]any, len(items))}
		for i, it := range items {
			tupleBindings.items[i] = &tuple{at: it}
		}
	}
	result := &seq{isSeq: true, tupleStream: true}
	for _, tb := range tupleBindings.items {
		t := tb.(*tuple)
		stepEnv := frameFromTuple(env, t)
		res, err := c.eval(step, t.at, stepEnv)
		if err != nil {
			return nil, err
		}
		if isUndef(res) {
			continue
		}
		resItems, isArr := asArray(res)
		if !isArr {
			resItems = []any{res}
		}
		resTuples := false
		if s, ok := res.(*seq); ok && s.tupleStream {
			resTuples = true
		}
		for bb, r := range resItems {
			nt := t.clone()
			if resTuples {
				rt := r.(*tuple)
				nt.at = rt.at
				for i, name := range rt.names {
					nt.set(name, rt.vals[i])
				}
			} else {
				if step.hasFocus && step.focus != "" {
					nt.set(step.focus, r)
					nt.at = t.at
				} else {
					nt.at = r
				}
				if step.hasIndex && step.index != "" {
					nt.set(step.index, float64(bb))
				}
				if step.ancestor != nil {
					nt.set(step.ancestor.label, t.at)
				}
			}
			result.push(nt)
		}
		if err := c.build(tupleBytes * len(resItems)); err != nil {
			return nil, err
		}
	}
	if step.stages != nil {
		r, err := c.evalStages(step.stages, result, env)
		if err != nil {
			return nil, err
		}
		if s, ok := r.(*seq); ok {
			return s, nil
		}
		out := &seq{isSeq: true, tupleStream: true}
		if items, ok := asArray(r); ok {
			out.items = items
		}
		return out, nil
	}
	return result, nil
}

func (c *evalCtx) evalFilter(pred *node, input any, env *frame) (any, error) {
	results := newSeq(0)
	inSeq, _ := input.(*seq)
	tupleStream := inSeq != nil && inSeq.tupleStream
	if tupleStream {
		results.tupleStream = true
	}
	items, ok := asArray(input)
	if !ok {
		items = []any{input}
	}
	if pred.kind == nNumber {
		index := int(math.Floor(pred.num))
		if pred.num < -1e15 || pred.num > 1e15 {
			return results, nil
		}
		if index < 0 {
			index += len(items)
		}
		if index >= 0 && index < len(items) {
			item := items[index]
			if !isUndef(item) {
				if isArray(item) {
					return item, nil
				}
				results.push(item)
			}
		}
		return results, nil
	}
	for index, item := range items {
		context := item
		fenv := env
		if tupleStream {
			t := item.(*tuple)
			context = t.at
			fenv = frameFromTuple(env, t)
		}
		res, err := c.eval(pred, context, fenv)
		if err != nil {
			return nil, err
		}
		if f, isNum, err := numeric(res); err != nil {
			return nil, err
		} else if isNum {
			ii := math.Floor(f)
			if ii < 0 {
				ii += float64(len(items))
			}
			if ii == float64(index) {
				results.push(item)
			}
			continue
		}
		if arr, ok := asArray(res); ok {
			allNum := true
			for _, v := range arr {
				_, isNum, err := numeric(v)
				if err != nil {
					return nil, err
				}
				if !isNum {
					allNum = false
					break
				}
			}
			if allNum {
				for _, v := range arr {
					f, _ := toNumber(v)
					ii := math.Floor(f)
					if ii < 0 {
						ii += float64(len(items))
					}
					if ii == float64(index) {
						results.push(item)
					}
				}
				continue
			}
		}
		if truthy(res) {
			results.push(item)
		}
	}
	return results, c.build(slotBytes * len(results.items))
}

// simplePath evaluates a path of plain names over objects without
// building sequences. It gives up (ok false) when it meets an array or an
// internal sequence, where the general algorithm's mapping and flattening
// rules apply; names have no side effects, so starting over is safe.
func simplePath(n *node, input any) (any, bool) {
	v := input
	last := len(n.steps) - 1
	for i, st := range n.steps {
		var r any
		var found bool
		switch o := v.(type) {
		case map[string]any:
			r, found = o[st.value]
		case *object:
			r, found = o.m[st.value]
		case []any, *seq:
			return nil, false
		default:
			return undef, true
		}
		if !found {
			return undef, true
		}
		switch r.(type) {
		case []any:
			if i == last {
				return r, true
			}
			return nil, false
		case *seq:
			return nil, false
		}
		v = r
	}
	return v, true
}

func (c *evalCtx) evalConcat(n *node, input any, env *frame) (any, error) {
	var buf [8]string
	parts := buf[:0]
	total := 0
	for _, op := range n.operands {
		v, err := c.eval(op, input, env)
		if err != nil {
			return nil, err
		}
		if isUndef(v) {
			continue
		}
		s, err := toStr(v)
		if err != nil {
			return nil, withPos(err, n.pos, n.value)
		}
		total += len(s)
		if total > maxStringLen {
			return nil, tooLarge("string")
		}
		parts = append(parts, s)
	}
	if err := c.chargeBytes(total); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.Grow(total)
	for _, s := range parts {
		b.WriteString(s)
	}
	return b.String(), nil
}

func (c *evalCtx) evalBinary(n *node, input any, env *frame) (any, error) {
	if n.operands != nil {
		return c.evalConcat(n, input, env)
	}
	lhs, err := c.eval(n.lhs, input, env)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case opAnd:
		if !truthy(lhs) {
			return false, nil
		}
		rhs, err := c.eval(n.rhs, input, env)
		if err != nil {
			return nil, err
		}
		return truthy(rhs), nil
	case opOr:
		if truthy(lhs) {
			return true, nil
		}
		rhs, err := c.eval(n.rhs, input, env)
		if err != nil {
			return nil, err
		}
		return truthy(rhs), nil
	}
	rhs, err := c.eval(n.rhs, input, env)
	if err != nil {
		return nil, err
	}
	var result any
	switch n.op {
	case opAdd, opSub, opMul, opDiv, opMod:
		result, err = arith(n.op, lhs, rhs)
	case opEq:
		if isUndef(lhs) || isUndef(rhs) {
			return false, nil
		}
		return deepEqual(lhs, rhs), nil
	case opNe:
		if isUndef(lhs) || isUndef(rhs) {
			return false, nil
		}
		return !deepEqual(lhs, rhs), nil
	case opLt, opLe, opGt, opGe:
		result, err = compareValues(n.op, lhs, rhs)
	case opConcat:
		result, err = c.concat(lhs, rhs)
	case opRange:
		result, err = c.rangeValues(lhs, rhs)
	case opIn:
		result = includes(lhs, rhs)
	}
	if err != nil {
		return nil, withPos(err, n.pos, n.value)
	}
	return result, nil
}

func arith(op opcode, lhs, rhs any) (any, error) {
	l, lok, err := numeric(lhs)
	if err != nil {
		return nil, err
	}
	if !isUndef(lhs) && !lok {
		return nil, errVal("T2001", lhs)
	}
	r, rok, err := numeric(rhs)
	if err != nil {
		return nil, err
	}
	if !isUndef(rhs) && !rok {
		return nil, errVal("T2002", rhs)
	}
	if !lok || !rok {
		return undef, nil
	}
	switch op {
	case opAdd:
		return l + r, nil
	case opSub:
		return l - r, nil
	case opMul:
		return l * r, nil
	case opDiv:
		return l / r, nil
	default:
		return math.Mod(l, r), nil
	}
}

func compareValues(op opcode, lhs, rhs any) (any, error) {
	lu, ru := isUndef(lhs), isUndef(rhs)
	ls, lstr := lhs.(string)
	rs, rstr := rhs.(string)
	lf, lnum := toNumber(lhs)
	rf, rnum := toNumber(rhs)
	if !(lu || lstr || lnum) || !(ru || rstr || rnum) {
		bad := lhs
		if lstr || lnum {
			bad = rhs
		}
		return nil, errVal("T2010", bad)
	}
	if lu || ru {
		return undef, nil
	}
	if lstr != rstr {
		e := errVal("T2009", lhs)
		e.value2 = rhs
		return nil, e
	}
	if lstr {
		return ordered(op, ls, rs), nil
	}
	return ordered(op, lf, rf), nil
}

// ordered applies the comparison op (<, <=, >, >=) to a and b.
func ordered[T cmp.Ordered](op opcode, a, b T) bool {
	switch op {
	case opLt:
		return a < b
	case opLe:
		return a <= b
	case opGt:
		return a > b
	default:
		return a >= b
	}
}

func includes(lhs, rhs any) bool {
	if isUndef(lhs) || isUndef(rhs) {
		return false
	}
	items, ok := asArray(rhs)
	if !ok {
		items = []any{rhs}
	}
	for _, it := range items {
		if strictEqual(it, lhs) {
			return true
		}
	}
	return false
}

// strictEqual is JavaScript ===: primitives by value, containers by identity.
func strictEqual(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	case *Function, *seq, *object:
		return a == b
	}
	if fa, ok := toNumber(a); ok {
		fb, ok := toNumber(b)
		return ok && fa == fb
	}
	return false
}

func (c *evalCtx) concat(lhs, rhs any) (any, error) {
	var ls, rs string
	var err error
	if !isUndef(lhs) {
		if ls, err = toStr(lhs); err != nil {
			return nil, err
		}
	}
	if !isUndef(rhs) {
		if rs, err = toStr(rhs); err != nil {
			return nil, err
		}
	}
	if len(ls)+len(rs) > maxStringLen {
		return nil, tooLarge("string")
	}
	if err := c.chargeBytes(len(ls) + len(rs)); err != nil {
		return nil, err
	}
	return ls + rs, nil
}

const maxStringLen = 1 << 26 // 64 MiB: no single string may grow beyond this
const maxRange = 1e7

func tooLarge(what string) error {
	e := errVal("D1015", what)
	return e
}

func (c *evalCtx) rangeValues(lhs, rhs any) (any, error) {
	lf, lok := toNumber(lhs)
	if !isUndef(lhs) && (!lok || !isInteger(lf)) {
		return nil, errVal("T2003", lhs)
	}
	rf, rok := toNumber(rhs)
	if !isUndef(rhs) && (!rok || !isInteger(rf)) {
		return nil, errVal("T2004", rhs)
	}
	if !lok || !rok || lf > rf {
		return undef, nil
	}
	size := rf - lf + 1
	if size > maxRange {
		return nil, errVal("D2014", size)
	}
	if err := c.charge(int(size)); err != nil {
		return nil, err
	}
	if err := c.build((slotBytes + 8) * int(size)); err != nil {
		return nil, err
	}
	n := int(size)
	out := &seq{isSeq: true, items: make([]any, n)}
	boxFloats(out.items, lf)
	return out, nil
}

func (c *evalCtx) evalNegate(n *node, input any, env *frame) (any, error) {
	v, err := c.eval(n.expression, input, env)
	if err != nil {
		return nil, err
	}
	if isUndef(v) {
		return undef, nil
	}
	f, ok, err := numeric(v)
	if err != nil {
		return nil, err
	}
	if !ok {
		e := errVal("D1002", v)
		e.Position, e.Token = n.pos, "-"
		return nil, e
	}
	return -f, nil
}

func (c *evalCtx) evalArray(n *node, input any, env *frame) (any, error) {
	result := make([]any, 0, len(n.expressions))
	for _, item := range n.expressions {
		v, err := c.eval(item, input, env)
		if err != nil {
			return nil, err
		}
		if isUndef(v) {
			continue
		}
		if item.kind == nArray {
			result = append(result, v)
		} else if arr, ok := asArray(v); ok {
			result = append(result, arr...)
		} else {
			result = append(result, v)
		}
	}
	if err := c.build(slotBytes * len(result)); err != nil {
		return nil, err
	}
	if n.consarray {
		return &seq{items: result, cons: true}, nil
	}
	return result, nil
}

type groupEntry struct {
	data      any
	exprIndex int
	// owned: data is a []any this grouping made, which later items are
	// appended to in place (a copy per item would be quadratic).
	owned bool
}

// add appends an item to the group's data (see appendOwned).
func (g *groupEntry) add(item any) { g.data, g.owned = appendOwned(g.data, g.owned, item) }

// appendOwned is appendValues (the reference's fn.append) for a value
// collected item by item: once data is an array made here (owned), items
// are appended to it in place instead of copying it each time.
func appendOwned(data any, owned bool, item any) (any, bool) {
	switch {
	case isUndef(item):
		return data, owned
	case !owned && isUndef(data):
		return item, false
	case !owned:
		return appendValues(data, item), true // both defined: a new array
	}
	if arr, ok := asArray(item); ok {
		return append(data.([]any), arr...), true
	}
	return append(data.([]any), item), true
}

func (c *evalCtx) evalGroup(g *groupExpr, input any, env *frame) (any, error) {
	inSeq, _ := input.(*seq)
	reduce := inSeq != nil && inSeq.tupleStream
	items, ok := asArray(input)
	if !ok {
		items = []any{input}
	}
	if len(items) == 0 && !reduce {
		items = []any{undef}
	}
	// Fast path: a single input item (the common object constructor)
	// needs no grouping bookkeeping.
	if len(items) == 1 && !reduce {
		item := items[0]
		result := newObject(len(g.pairs))
		var seen []int
		for pi, pair := range g.pairs {
			key, err := c.eval(pair[0], item, env)
			if err != nil {
				return nil, err
			}
			ks, isStr := key.(string)
			if !isStr {
				if isUndef(key) {
					continue
				}
				e := errVal("T1003", key)
				e.Position = g.pos
				return nil, e
			}
			if _, dup := result.m[ks]; dup || containsKeyIndex(result, seen, ks) {
				e := errVal("D1009", ks)
				e.Position = g.pos
				return nil, e
			}
			val, err := c.eval(pair[1], item, env)
			if err != nil {
				return nil, err
			}
			if isUndef(val) {
				// remember the key so that a later duplicate is still an error
				seen = append(seen, pi)
				result.keys = append(result.keys, ks)
				continue
			}
			result.set(ks, val)
		}
		if len(seen) > 0 {
			// drop keys whose value was undefined
			keys := result.keys[:0]
			for _, k := range result.keys {
				if _, ok := result.m[k]; ok {
					keys = append(keys, k)
				}
			}
			result.keys = keys
		}
		return result, c.build(objectBytes + keyBytes*len(result.keys))
	}
	keys := make([]string, 0)
	groups := make(map[string]*groupEntry)
	for _, item := range items {
		genv := env
		ctxItem := item
		if reduce {
			t := item.(*tuple)
			genv = frameFromTuple(env, t)
			ctxItem = t.at
		}
		for pi, pair := range g.pairs {
			key, err := c.eval(pair[0], ctxItem, genv)
			if err != nil {
				return nil, err
			}
			if isUndef(key) {
				continue
			}
			ks, isStr := key.(string)
			if !isStr {
				e := errVal("T1003", key)
				e.Position = g.pos
				return nil, e
			}
			if ent, ok := groups[ks]; ok {
				if ent.exprIndex != pi {
					e := errVal("D1009", ks)
					e.Position = g.pos
					return nil, e
				}
				if err := c.build(slotBytes); err != nil {
					return nil, err
				}
				ent.add(item)
			} else {
				if err := c.build(objectBytes + 2*keyBytes); err != nil {
					return nil, err
				}
				groups[ks] = &groupEntry{data: item, exprIndex: pi}
				keys = append(keys, ks)
			}
		}
	}
	if err := c.build(objectBytes + keyBytes*len(keys)); err != nil {
		return nil, err
	}
	result := newObject(len(keys))
	for _, k := range keys {
		ent := groups[k]
		context := ent.data
		genv := env
		if reduce {
			t := reduceTupleStream(ent.data)
			context = t.at
			genv = &frame{parent: env, names: t.names, vals: t.vals}
		}
		val, err := c.eval(g.pairs[ent.exprIndex][1], context, genv)
		if err != nil {
			return nil, err
		}
		if !isUndef(val) {
			result.set(k, val)
		}
	}
	return result, nil
}

func containsKeyIndex(o *object, seen []int, k string) bool {
	if len(seen) == 0 {
		return false
	}
	for _, kk := range o.keys {
		if kk == k {
			return true
		}
	}
	return false
}

func reduceTupleStream(data any) *tuple {
	items, ok := asArray(data)
	if !ok {
		return data.(*tuple).clone()
	}
	result := items[0].(*tuple).clone()
	atOwned := false
	var owned map[string]bool // bindings whose value is an array made here
	for _, it := range items[1:] {
		t := it.(*tuple)
		result.at, atOwned = appendOwned(result.at, atOwned, t.at)
		for i, name := range t.names {
			prev, had := result.get(name)
			if !had {
				prev = undef
			}
			if owned == nil {
				owned = make(map[string]bool, len(t.names))
			}
			v, o := appendOwned(prev, owned[name], t.vals[i])
			owned[name] = o
			result.set(name, v)
		}
	}
	return result
}

// appendValues is the reference fn.append: concatenation that treats
// non-arrays as singletons and ignores undefined. The result is a new
// plain array (never aliasing its inputs).
func appendValues(a, b any) any {
	if isUndef(a) {
		return b
	}
	if isUndef(b) {
		return a
	}
	aa, ok := asArray(a)
	if !ok {
		aa = []any{a}
	}
	bb, ok := asArray(b)
	if !ok {
		bb = []any{b}
	}
	out := make([]any, 0, len(aa)+len(bb))
	out = append(out, aa...)
	return append(out, bb...)
}

func (c *evalCtx) evalBlock(n *node, input any, env *frame) (any, error) {
	benv := env
	if n.needsFrame {
		benv = newFrame(env)
	}
	var result any = undef
	for _, e := range n.expressions {
		var err error
		result, err = c.eval(e, input, benv)
		if err != nil {
			return nil, err
		}
	}
	return result, nil
}

func evalWildcard(input any) any {
	if s, ok := input.(*seq); ok && s.outerWrapper && len(s.items) > 0 {
		input = s.items[0]
	}
	var results *seq
	plain := false // an array value was flattened in: the result is a plain array
	add := func(v any) {
		if arr, ok := asArray(v); ok {
			results.items = flattenInto(results.items, arr)
			plain = true
		} else {
			results.push(v)
		}
	}
	if arr, ok := asArray(input); ok {
		// arrays are objects keyed by index in JavaScript
		results = newSeq(len(arr))
		for _, v := range arr {
			add(v)
		}
	} else if isObject(input) {
		results = newSeq(objLen(input))
		for _, k := range objKeys(input) {
			v, _ := objGet(input, k)
			add(v)
		}
	} else {
		return newSeq(0)
	}
	if plain {
		return results.items
	}
	return results
}

func flattenInto(out []any, arr []any) []any {
	for _, v := range arr {
		if inner, ok := asArray(v); ok {
			out = flattenInto(out, inner)
		} else {
			out = append(out, v)
		}
	}
	return out
}

func evalDescendants(input any) any {
	if isUndef(input) {
		return undef
	}
	results := newSeq(8)
	recurseDescendants(input, results)
	if len(results.items) == 1 {
		return results.items[0]
	}
	return results
}

func recurseDescendants(input any, results *seq) {
	if arr, ok := asArray(input); ok {
		for _, m := range arr {
			recurseDescendants(m, results)
		}
		return
	}
	results.push(input)
	if isObject(input) {
		for _, k := range objKeys(input) {
			v, _ := objGet(input, k)
			recurseDescendants(v, results)
		}
	}
}

func (c *evalCtx) evalSort(n *node, input any, env *frame) (any, error) {
	inSeq, _ := input.(*seq)
	isTupleSort := inSeq != nil && inSeq.tupleStream
	items, ok := asArray(input)
	if !ok {
		return input, nil
	}
	if len(items) <= 1 {
		return input, nil
	}
	keyOf := func(item any, term *sortTerm) (any, error) {
		context := item
		tenv := env
		if isTupleSort {
			t := item.(*tuple)
			context = t.at
			tenv = frameFromTuple(env, t)
		}
		return c.eval(term.expr, context, tenv)
	}
	comp := func(a, b any) (bool, error) {
		cmp := 0
		for i := 0; cmp == 0 && i < len(n.terms); i++ {
			term := &n.terms[i]
			aa, err := keyOf(a, term)
			if err != nil {
				return false, err
			}
			bb, err := keyOf(b, term)
			if err != nil {
				return false, err
			}
			if isUndef(aa) {
				if isUndef(bb) {
					cmp = 0
				} else {
					cmp = 1
				}
				continue
			}
			if isUndef(bb) {
				cmp = -1
				continue
			}
			as, astr := aa.(string)
			bs, bstr := bb.(string)
			af, anum := toNumber(aa)
			bf, bnum := toNumber(bb)
			if !(astr || anum) || !(bstr || bnum) {
				bad := aa
				if astr || anum {
					bad = bb
				}
				e := errVal("T2008", bad)
				e.Position = n.pos
				return false, e
			}
			if astr != bstr {
				e := errVal("T2007", aa)
				e.value2 = bb
				e.Position = n.pos
				return false, e
			}
			if astr {
				if as == bs {
					continue
				} else if as < bs {
					cmp = -1
				} else {
					cmp = 1
				}
			} else {
				if af == bf {
					continue
				} else if af < bf {
					cmp = -1
				} else {
					cmp = 1
				}
			}
			if term.descending {
				cmp = -cmp
			}
		}
		return cmp == 1, nil
	}
	if err := c.build(2 * slotBytes * len(items)); err != nil {
		return nil, err
	}
	sorted, err := mergeSort(items, comp)
	if err != nil {
		return nil, err
	}
	out := &seq{isSeq: true, items: sorted}
	if isTupleSort {
		out.tupleStream = true
	}
	return out, nil
}

// mergeSort is the reference's stable merge sort: swap(a, b) reports that
// a must come after b.
func mergeSort(items []any, swap func(a, b any) (bool, error)) ([]any, error) {
	src := append([]any(nil), items...)
	buf := make([]any, len(src))
	var rec func(a, tmp []any) error
	rec = func(a, tmp []any) error {
		if len(a) <= 1 {
			return nil
		}
		mid := len(a) / 2
		if err := rec(a[:mid], tmp[:mid]); err != nil {
			return err
		}
		if err := rec(a[mid:], tmp[mid:]); err != nil {
			return err
		}
		copy(tmp, a)
		l, r := tmp[:mid], tmp[mid:len(a)]
		i, j, k := 0, 0, 0
		for i < len(l) && j < len(r) {
			s, err := swap(l[i], r[j])
			if err != nil {
				return err
			}
			if s {
				a[k] = r[j]
				j++
			} else {
				a[k] = l[i]
				i++
			}
			k++
		}
		for ; i < len(l); i++ {
			a[k] = l[i]
			k++
		}
		for ; j < len(r); j++ {
			a[k] = r[j]
			k++
		}
		return nil
	}
	if err := rec(src, buf); err != nil {
		return nil, err
	}
	return src, nil
}

func boxFloats(items []any, start float64) {
	for i := range items {
		items[i] = start + float64(i)
	}
}
