package compile

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/stepstream/express/aslpath"
	"github.com/stepstream/express/compile/choice"
	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/compile/intrinsic"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// pathFlow is the JSONPath query language: InputPath, Parameters,
// ResultSelector, ResultPath, OutputPath and Assign, payload templates
// (template.go) and the ...Path forms of the other fields.
type pathFlow struct {
	inputPath  *aslpath.Path
	inputNull  bool // InputPath: null — the effective input is {}
	params     *template
	resultSel  *template
	resultPath *aslpath.Path
	resultNull bool // ResultPath: null — the result is discarded
	outputPath *aslpath.Path
	outputNull bool // OutputPath: null — the output is {}
	assign     *template
	own        ownership
	// hasInputPath and hasAssign say whether the state has the fields
	// (InputPath "$" compiles to no path but is there).
	hasInputPath, hasAssign bool
	// resultPathSize bounds what the ResultPath keys add to the input.
	resultPathSize int
	// resultFrom says where the result's size bound comes from.
	resultFrom sizeSource
	resultSize int // for sizeLiteral
	// simple is set (by plan) when finish has only the result to hand on:
	// no ResultSelector, Assign, ResultPath or OutputPath.
	simple bool
	// resultShape says whether the first shape of input finish added its
	// one-key ResultPath to in place has the key (see addInPlace).
	resultShape atomic.Pointer[shapeHas]
}

// shapeHas records whether a jsonv.Shape has a key.
type shapeHas struct {
	shape *jsonv.Shape
	has   bool
}

// addInPlace sets the one-key ResultPath in m, which the state owns. An
// object a template built has its shape's keys first: when the first
// shape seen lacks the key (as it does for a key no template wrote), only
// the fields added after them need looking at.
func (f *pathFlow) addInPlace(m *jsonv.Object, result any) {
	key, hash := f.resultPath.Key(0), f.resultPath.KeyHash(0)
	if sh := m.Shape(); sh != nil {
		c := f.resultShape.Load()
		if c == nil {
			c = &shapeHas{shape: sh, has: slices.Contains(sh.Keys, key)}
			if !f.resultShape.CompareAndSwap(nil, c) {
				c = f.resultShape.Load()
			}
		}
		if c.shape == sh && !c.has {
			m.PutHashFrom(len(sh.Keys), key, hash, result)
			return
		}
	}
	m.PutHash(key, hash, result)
}

var _ flow = (*pathFlow)(nil)

type sizeSource int

const (
	sizeMeasured  sizeSource = iota // measure the result (external data)
	sizeLiteral                     // a literal of known size (resultSize)
	sizeEffective                   // the effective input; its bound is in the scope
)

// pathFields are the fields JSONPath adds to each state type.
var pathFields = map[string][]string{
	"Pass":     {"InputPath", "Parameters", "Result", "ResultPath", "OutputPath", "Assign"},
	"Task":     {"InputPath", "Parameters", "ResultSelector", "ResultPath", "OutputPath", "Assign", "TimeoutSecondsPath", "HeartbeatSecondsPath"},
	"Choice":   {"InputPath", "OutputPath", "Assign"},
	"Wait":     {"SecondsPath", "TimestampPath", "InputPath", "OutputPath", "Assign"},
	"Succeed":  {"InputPath", "OutputPath"},
	"Fail":     {"ErrorPath", "CausePath"},
	"Parallel": {"InputPath", "Parameters", "ResultSelector", "ResultPath", "OutputPath", "Assign"},
	"Map": {"ItemsPath", "Parameters", "MaxConcurrencyPath", "InputPath", "ResultSelector", "ResultPath", "OutputPath", "Assign",
		"ToleratedFailureCountPath", "ToleratedFailurePercentagePath"},
	"Catch": {"ResultPath", "Assign"},
}

func (f *pathFlow) fields(stateType string) []string { return pathFields[stateType] }

func (f *pathFlow) compile(sc *stateCompiler, io ioFields) {
	c, st, ptr := sc.c, sc.obj, sc.ptr
	if io.input {
		_, f.hasInputPath = st["InputPath"]
		f.inputPath, f.inputNull = c.optPath(st, ptr, "InputPath", false)
	}
	if io.params {
		if v, ok := st["Parameters"]; ok {
			f.params = c.compileTemplate(v, diag.Pointer(ptr, "Parameters"))
		}
	}
	if io.resultSel {
		if v, ok := st["ResultSelector"]; ok {
			if _, isObj := v.(map[string]any); !isObj {
				c.problem(diag.Pointer(ptr, "ResultSelector"), "ResultSelector must be an object")
			} else {
				f.resultSel = c.compileTemplate(v, diag.Pointer(ptr, "ResultSelector"))
			}
		}
	}
	if io.resultPath {
		f.resultPath, f.resultNull = c.optPath(st, ptr, "ResultPath", true)
	}
	if io.output {
		f.outputPath, f.outputNull = c.optPath(st, ptr, "OutputPath", false)
	}
	if f.resultPath != nil {
		for i := 0; i < f.resultPath.Depth(); i++ {
			f.resultPathSize += 6*len(f.resultPath.Key(i)) + 5
		}
	}
	if v, ok := st["Assign"]; ok && io.assign {
		f.hasAssign = true
		f.assign = c.assignTemplate(v, diag.Pointer(ptr, "Assign"))
	}
}

func (f *pathFlow) setOwnership(o ownership) {
	if o.passThrough {
		// The output is the input itself unless InputPath picks a part.
		o.passThrough = !f.hasInputPath
		o.inputKept = o.inputKept || f.hasAssign
	}
	if f.inputPath != nil && !o.passThrough {
		// The effective input is a part of the input, never the input
		// object itself, so the resource cannot keep the input object.
		o.inputKept = false
	}
	if f.assign != nil || f.inputNull {
		o.inputKept = true
	}
	f.own = o
}

func (f *pathFlow) setResult(kind resultKind, lit any) {
	switch kind {
	case resultLiteral:
		f.resultFrom, f.resultSize = sizeLiteral, express.SizeBound(lit)
		f.setOwnership(ownership{})
	case resultEffective:
		f.resultFrom = sizeEffective
		if f.params != nil {
			f.setOwnership(ownership{inputKept: templateKeepsRoot(f.params), freshResult: !f.params.isConst && !f.params.isArr})
		} else {
			f.setOwnership(ownership{inputKept: true, passThrough: f.inputPath == nil && !f.inputNull})
		}
	case resultInvoked:
		// Scope.Invoke leaves the result's size bound (if the resource
		// knows it) where finish looks for the effective input's.
		f.resultFrom = sizeEffective
		rs := f.resultSel
		f.setOwnership(ownership{
			inputKept:   f.params == nil || templateKeepsRoot(f.params),
			freshResult: rs != nil && !rs.isConst && !rs.isArr,
		})
	}
}

// passesInput: InputPath and OutputPath only ever select parts.
func (f *pathFlow) passesInput() bool { return true }

// templateKeepsRoot reports whether a template may put its whole data ($)
// into its output.
func templateKeepsRoot(t *template) bool {
	if t == nil {
		return true
	}
	if t.isConst {
		return false
	}
	for i := range t.fields {
		f := &t.fields[i]
		switch {
		case f.p != nil && f.p.IsRoot():
			return true
		case f.fn != nil && f.fn.UsesRoot():
			return true
		case f.sub != nil && templateKeepsRoot(f.sub):
			return true
		}
	}
	for _, e := range t.arr {
		if templateKeepsRoot(e) {
			return true
		}
	}
	return false
}

func (c *compiler) assignTemplate(v any, ptr string) *template {
	m, ok := v.(map[string]any)
	if !ok {
		c.problem(ptr, "Assign must be an object of variable names to values")
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		name := k
		if len(name) > 2 && name[len(name)-2:] == ".$" {
			name = name[:len(name)-2]
		}
		c.checkVarName(diag.Pointer(ptr, k), name)
	}
	return c.compileTemplate(v, ptr)
}

// optPath compiles an optional path field. It returns (nil, false) when the
// field is absent or "$", (nil, true) when it is null.
func (c *compiler) optPath(st map[string]any, ptr, field string, reference bool) (*aslpath.Path, bool) {
	v, ok := st[field]
	if !ok {
		return nil, false
	}
	if v == nil {
		return nil, true
	}
	fptr := diag.Pointer(ptr, field)
	s, ok := c.str(v, fptr)
	if !ok {
		return nil, false
	}
	p, err := aslpath.ParseKeys(s, aslpath.Keys(c.keys))
	if err != nil {
		c.problem(fptr, "%v", err)
		return nil, false
	}
	if reference {
		if p.Root() != aslpath.Input {
			c.problem(fptr, "%s must be a path into the state input (starting with \"$.\" or \"$\"), not %q", field, s)
			return nil, false
		}
		if !p.Definite() {
			c.problem(fptr, "%s must be a reference path (only .field and [index] steps): %q selects several values", field, s)
			return nil, false
		}
	}
	if p.IsRoot() {
		return nil, false
	}
	return p, false
}

// refPath compiles a path field that must be a string JSONPath.
func (sc *stateCompiler) refPath(v any, field string) *aslpath.Path {
	src, ok := sc.c.str(v, sc.field(field))
	if !ok {
		return nil
	}
	p, err := aslpath.ParseKeys(src, aslpath.Keys(sc.c.keys))
	if err != nil {
		sc.c.problem(sc.field(field), "%v", err)
		return nil
	}
	return p
}

func (f *pathFlow) effective(s *express.Scope, in any) (any, error) {
	v := in
	size := s.InputSize()
	switch {
	case f.inputNull:
		v, size = map[string]any{}, 2
	case f.inputPath != nil:
		var err error
		if v, err = getPath(s, f.inputPath, in); err != nil {
			return nil, err
		}
	}
	if s.Inspecting() {
		s.Inspect(express.StageAfterInputPath, v)
	}
	if f.params != nil {
		// size bounds the input, and so the effective input (a part of it)
		v, n, err := f.params.evalIn(s, v, size)
		s.SetOutputSize(n)
		if err == nil && s.Inspecting() {
			s.Inspect(express.StageAfterParameters, v)
		}
		return v, err
	}
	if s.Inspecting() {
		s.Inspect(express.StageAfterParameters, v)
	}
	// Until finish reports the output's size, the scope holds the bound of
	// the effective input.
	s.SetOutputSize(size)
	return v, nil
}

// getPath evaluates a path that must find something (InputPath, OutputPath,
// ItemsPath...), failing like AWS does when it does not.
func getPath(s *express.Scope, p *aslpath.Path, in any) (any, error) {
	v, ok := p.Get(s, in)
	if !ok {
		return nil, s.Runtime("Invalid path '%s' : %s", p.String(), p.MissingReason(s, in))
	}
	return v, nil
}

func (f *pathFlow) finish(s *express.Scope, in, result any) (any, error) {
	inspecting := s.Inspecting()
	if f.simple && !inspecting {
		return f.finishSimple(s, result), nil
	}
	if inspecting {
		s.Inspect(express.StageResult, result)
	}
	resultSize := -1
	switch {
	case f.resultSel != nil:
		var err error
		if result, resultSize, err = f.resultSel.evalSized(s, result); err != nil {
			return nil, err
		}
	case f.resultFrom == sizeLiteral:
		resultSize = f.resultSize
	case f.resultFrom == sizeEffective:
		resultSize = s.OutputSize()
		if resultSize > express.MaxPayloadBytes {
			resultSize = -1
		}
	}
	if inspecting {
		s.Inspect(express.StageAfterResultSelector, result)
	}
	size := -1
	var assigned map[string]any
	if f.assign != nil {
		var err error
		if assigned, err = f.assign.assignEval(s, result); err != nil {
			return nil, err
		}
	}
	out := result
	owned := false
	switch {
	case f.resultNull:
		out = in
		owned = f.own.passThrough && !f.own.inputKept
		size = s.InputSize()
	case f.resultPath != nil:
		if resultSize < 0 {
			resultSize = express.SizeBound(result)
		}
		if in := s.InputSize(); in >= 0 {
			size = in + f.resultPathSize + resultSize
		}
		if f.resultPath.Depth() == 1 && !f.own.inputKept && s.OwnsInput(in) {
			// The previous state built this object for us alone: add the
			// result to it instead of copying it.
			switch m := in.(type) {
			case *jsonv.Object:
				f.addInPlace(m, result)
			case map[string]any:
				m[f.resultPath.Key(0)] = result
			}
			out, owned = in, true
			break
		}
		var err error
		if out, err = f.resultPath.Set(in, result); err != nil {
			return nil, s.StateError(express.ErrResultPathMatchFailure, "Unable to apply ResultPath '%s' to the state input: %v", f.resultPath.String(), err)
		}
		owned = jsonv.IsObject(out)
	default:
		owned = f.own.freshResult || (f.own.passThrough && !f.own.inputKept)
		size = resultSize
	}
	s.SetOutputSize(size)
	if inspecting {
		s.Inspect(express.StageAfterResultPath, out)
	}
	switch {
	case f.outputNull:
		out = map[string]any{}
		owned = false
		s.SetOutputSize(2)
	case f.outputPath != nil:
		var err error
		if out, err = getPath(s, f.outputPath, out); err != nil {
			return nil, err
		}
		owned = false
	}
	if assigned != nil {
		s.Assign(assigned)
	} else if owned {
		if jsonv.IsObject(out) && (!f.own.passThrough || s.OwnsInput(out)) {
			s.SetOutputOwned(out)
		}
	}
	return out, nil
}

// finishSimple is finish for a simple flow (see pathFlow.simple): what
// the general path does when every field it looks at is absent.
func (f *pathFlow) finishSimple(s *express.Scope, result any) any {
	size := -1
	switch f.resultFrom {
	case sizeLiteral:
		size = f.resultSize
	case sizeEffective:
		if size = s.OutputSize(); size > express.MaxPayloadBytes {
			size = -1
		}
	}
	s.SetOutputSize(size)
	if f.own.freshResult || (f.own.passThrough && !f.own.inputKept) {
		if jsonv.IsObject(result) && (!f.own.passThrough || s.OwnsInput(result)) {
			s.SetOutputOwned(result)
		}
	}
	return result
}

func (f *pathFlow) splitAssign() assignFn {
	t := f.assign
	if t == nil {
		return nil
	}
	f.assign = nil
	return func(s *express.Scope, _, result any) (map[string]any, error) { return t.assignEval(s, result) }
}

func (f *pathFlow) catcher(sc *stateCompiler, obj map[string]any, ptr string) catchFn {
	c := sc.c
	rp, rnull := c.optPath(obj, ptr, "ResultPath", true)
	var assign *template
	if v, ok := obj["Assign"]; ok {
		assign = c.assignTemplate(v, diag.Pointer(ptr, "Assign"))
	}
	return func(s *express.Scope, in any, errOut map[string]any) (any, error) {
		var assigned map[string]any
		if assign != nil {
			var err error
			if assigned, err = assign.assignEval(s, errOut); err != nil {
				return nil, err
			}
		}
		var out any = errOut
		switch {
		case rnull:
			out = in
		case rp != nil:
			var err error
			if out, err = rp.Set(in, errOut); err != nil {
				return nil, s.StateError(express.ErrResultPathMatchFailure, "Unable to apply ResultPath '%s' to the state input: %v", rp.String(), err)
			}
		}
		if assigned != nil {
			s.Assign(assigned)
		}
		return out, nil
	}
}

// seconds compiles TimeoutSeconds/TimeoutSecondsPath-style pairs.
func (f *pathFlow) seconds(sc *stateCompiler, lit string) durationFn {
	c := sc.c
	pathField := lit + "Path"
	lv, hasLit := sc.obj[lit]
	pv, hasPath := sc.obj[pathField]
	if hasLit && hasPath {
		c.problem(sc.ptr, "%s and %s cannot both be set: keep one", lit, pathField)
		return nil
	}
	if hasLit {
		return sc.literalSeconds(lit, lv)
	}
	if !hasPath {
		return nil
	}
	src, ok := c.str(pv, sc.field(pathField))
	if !ok {
		return nil
	}
	p, err := aslpath.ParseKeys(src, aslpath.Keys(sc.c.keys))
	if err != nil {
		c.problem(sc.field(pathField), "%v", err)
		return nil
	}
	return func(s *express.Scope, in any) (time.Duration, error) {
		v, err := getPath(s, p, in)
		if err != nil {
			return 0, err
		}
		n, ok := jsonv.Integer(v)
		if !ok || n <= 0 {
			return 0, s.Runtime("The %s field refers to value %s which is not a valid positive integer: %s", pathField, quoteValue(v), src)
		}
		return time.Duration(n) * time.Second, nil
	}
}

func (f *pathFlow) waitUntil(sc *stateCompiler) timeFn {
	c := sc.c
	if v, ok := sc.obj["Seconds"]; ok {
		return sc.literalWaitSeconds(v)
	}
	if v, ok := sc.obj["Timestamp"]; ok {
		if str, ok := c.str(v, sc.field("Timestamp")); ok {
			return sc.literalTimestamp(str)
		}
		return nil
	}
	if v, ok := sc.obj["SecondsPath"]; ok {
		return sc.waitPath(v, "SecondsPath", func(s *express.Scope, v any, src string) (time.Time, error) {
			secs, isInt := jsonv.Integer(v)
			if _, isNum := jsonv.Number(v); !isNum || !isInt {
				return time.Time{}, s.Runtime("The SecondsPath parameter cannot be parsed as a long value: %s == %s", src, stringOrJSON(v))
			}
			if secs < 0 {
				return time.Time{}, s.Runtime("The SecondsPath parameter references a negative value: %s == %d", src, secs)
			}
			return s.Execution().Now().Add(time.Duration(min(secs, math.MaxInt64/int64(time.Second))) * time.Second), nil
		})
	}
	if v, ok := sc.obj["TimestampPath"]; ok {
		return sc.waitPath(v, "TimestampPath", func(s *express.Scope, v any, src string) (time.Time, error) {
			str, _ := v.(string)
			t, ok := parseTimestamp(str)
			if !ok {
				return time.Time{}, s.Runtime("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %s == %s", src, stringOrJSON(v))
			}
			return t, nil
		})
	}
	return nil
}

// waitPath compiles SecondsPath or TimestampPath: until turns the value
// found (at src) into the time the wait ends.
func (sc *stateCompiler) waitPath(v any, field string, until func(s *express.Scope, v any, src string) (time.Time, error)) timeFn {
	p := sc.refPath(v, field)
	if p == nil {
		return nil
	}
	src := p.String()
	return func(s *express.Scope, in any) (time.Time, error) {
		v, ok := p.Get(s, in)
		if !ok {
			return time.Time{}, s.Runtime("The %s parameter does not reference an input value: %s", field, src)
		}
		return until(s, v, src)
	}
}

// failField compiles Error/ErrorPath or Cause/CausePath of a Fail state.
func (f *pathFlow) failField(sc *stateCompiler, lit string) (stringFn, bool) {
	pathField := lit + "Path"
	lv, hasLit := sc.obj[lit]
	pv, hasPath := sc.obj[pathField]
	if hasLit && hasPath {
		sc.c.problem(sc.ptr, "%s and %s cannot both be set: keep one", lit, pathField)
		return nil, false
	}
	if hasLit {
		s, ok := sc.c.str(lv, sc.field(lit))
		if !ok {
			return nil, false
		}
		return func(*express.Scope, any) (string, error) { return s, nil }, true
	}
	if !hasPath {
		return nil, true
	}
	src, ok := sc.c.str(pv, sc.field(pathField))
	if !ok {
		return nil, false
	}
	if intrinsic.IsIntrinsic(src) {
		fn, err := intrinsic.Compile(src)
		if err != nil {
			sc.c.problem(sc.field(pathField), "invalid intrinsic function call: %v", err)
			return nil, false
		}
		return func(s *express.Scope, in any) (string, error) {
			v, err := fn.Eval(s, in)
			if err != nil {
				return "", err
			}
			return stringOrJSON(v), nil
		}, false
	}
	p, err := aslpath.ParseKeys(src, aslpath.Keys(sc.c.keys))
	if err != nil {
		sc.c.problem(sc.field(pathField), "%v", err)
		return nil, false
	}
	return func(s *express.Scope, in any) (string, error) {
		v, ok := p.Get(s, in)
		if !ok {
			return "", missingInTemplate(s, p, pathField, in)
		}
		return stringOrJSON(v), nil
	}, false
}

func (f *pathFlow) rule(sc *stateCompiler, obj map[string]any, ptr string) choiceRule {
	c := sc.c
	cond, probs := choice.CompileKeys(obj, ptr, c.keys)
	c.problems = append(c.problems, probs...)
	r := choiceRule{cond: cond}
	if v, ok := obj["Assign"]; ok {
		if t := c.assignTemplate(v, diag.Pointer(ptr, "Assign")); t != nil {
			r.assign = t.assignEval
		}
	}
	return r
}

// items: ItemsPath, on the effective input.
func (f *pathFlow) items(sc *stateCompiler) itemsFn {
	if v, ok := sc.obj["ItemsPath"]; ok {
		if p := sc.refPath(v, "ItemsPath"); p != nil && !p.IsRoot() {
			return func(s *express.Scope, _, eff any) ([]any, error) {
				list, err := getPath(s, p, eff)
				if err != nil {
					return nil, err
				}
				return mapItems(s, list, express.ErrRuntime)
			}
		}
	}
	return func(s *express.Scope, _, eff any) ([]any, error) { return mapItems(s, eff, express.ErrRuntime) }
}

// itemSelector: ItemSelector, or its older name Parameters.
func (f *pathFlow) itemSelector(sc *stateCompiler) valueFn {
	field := ""
	if _, ok := sc.obj["ItemSelector"]; ok {
		field = "ItemSelector"
	}
	if _, ok := sc.obj["Parameters"]; ok {
		if field != "" {
			sc.c.problem(sc.ptr, "ItemSelector and Parameters cannot both be set: Parameters is the older name, keep ItemSelector")
		}
		field = "Parameters"
	}
	if field == "" {
		return nil
	}
	return sc.c.compileTemplate(sc.obj[field], sc.field(field)).eval
}

// number compiles a literal or its ...Path form. A path's value must be a
// number (an integer when integer is set), reported as AWS words it.
func (f *pathFlow) number(sc *stateCompiler, lit string, integer bool) numberField {
	c := sc.c
	pathField := lit + "Path"
	lv, hasLit := sc.obj[lit]
	pv, hasPath := sc.obj[pathField]
	if hasLit && hasPath {
		c.problem(sc.ptr, "%s and %s cannot both be set: keep one", lit, pathField)
		return numberField{}
	}
	if hasLit {
		return sc.literalNumber(lit, lv, integer)
	}
	if !hasPath {
		return numberField{}
	}
	p := sc.refPath(pv, pathField)
	if p == nil {
		return numberField{}
	}
	src := p.String()
	kind := "float"
	if integer {
		kind = "integer"
	}
	return numberField{has: true, eval: func(s *express.Scope, in any) (float64, error) {
		v, ok := p.Get(s, in)
		if !ok {
			return 0, s.Runtime("Invalid path '%s' : %s", src, p.MissingReason(s, in))
		}
		f, isNum := jsonv.Number(v)
		if !isNum {
			if str, isStr := v.(string); isStr {
				parsed, err := strconv.ParseFloat(str, 64)
				if err == nil && (!integer || parsed == math.Trunc(parsed)) {
					return parsed, nil
				}
			}
			return 0, s.Runtime("The %s field refers to value %s which is not a valid %s: %s", pathField, quoteValue(v), kind, src)
		}
		if integer && f != math.Trunc(f) {
			return 0, s.Runtime("The %s field refers to value %s which is not a valid %s: %s", pathField, quoteValue(v), kind, src)
		}
		return f, nil
	}}
}

// value: a payload template.
func (f *pathFlow) value(sc *stateCompiler, v any, _, ptr string) valueFn {
	return sc.c.compileTemplate(v, ptr).eval
}

// credentials: a payload template evaluated on the raw input.
func (f *pathFlow) credentials(sc *stateCompiler, v any) valueFn {
	return sc.c.compileTemplate(v, sc.field("Credentials")).eval
}

// plan gives a Parameters template the room its object will need: when
// the states after it add keys to that object in place (single-key
// ResultPath), allocating the object with room for them at once saves
// growing it.
func (f *pathFlow) plan(b *machineBuilder, i int) {
	f.planRoom(b, i)
	f.simple = f.resultSel == nil && f.assign == nil && !f.resultNull && f.resultPath == nil && !f.outputNull && f.outputPath == nil
	// Parameters and ResultSelector objects come from the scope's arena,
	// sized for the machine's.
	for _, t := range []*template{f.params, f.resultSel} {
		if t != nil && !t.isConst && !t.isArr {
			t.arena = b.arena
			b.arena.fields += len(t.fields) + t.extraCap
		}
	}
}

// planRoom sets extraCap (see plan).
func (f *pathFlow) planRoom(b *machineBuilder, i int) {
	if f.params == nil || f.params.isConst || f.params.isArr || f.resultPath != nil || f.outputPath != nil {
		return
	}
	seen := map[int]bool{i: true}
	frontier := b.edges[i]
	keys := map[string]bool{} // a key two states set needs one slot
	for depth := 0; depth < 6 && len(frontier) > 0; depth++ {
		var next []int
		for _, j := range frontier {
			if seen[j] {
				continue
			}
			seen[j] = true
			g, _ := b.flows[j].(*pathFlow)
			if g == nil {
				continue
			}
			if g.resultPath != nil && g.resultPath.Depth() == 1 {
				keys[g.resultPath.Key(0)] = true
			}
			next = append(next, b.edges[j]...)
		}
		frontier = next
	}
	f.params.extraCap = min(len(keys), 4)
}
