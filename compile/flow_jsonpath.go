package compile

import (
	"github.com/stepstream/express/aslpath"
	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// flow is a state's data flow in one query language: how the effective
// input is made from the raw input, how the output is made from the result,
// and which variables the state assigns. JSONPath and JSONata states differ
// only here; the state bodies (invoke, wait, branch, iterate) are shared.
type flow interface {
	// effective turns the raw state input into the effective input
	// (InputPath + Parameters, or Arguments).
	effective(s *express.Scope, in any) (any, error)
	// finish turns the raw input and the state's result into the state
	// output and applies Assign. Variables assigned are visible only after
	// the output is computed, as in AWS.
	finish(s *express.Scope, in, result any) (any, error)
	// splitAssign removes the state-level Assign from the flow and returns
	// it (nil when there is none), for states that decide when it applies.
	splitAssign() func(s *express.Scope, in, result any) (map[string]any, error)
	// setOwnership tells the flow what the state does with its input, so
	// that it can reuse objects it owns (see express.Scope.OwnsInput).
	setOwnership(o ownership)
	// catcher builds the input of a Catch's Next state.
	catcher(c *compiler, obj map[string]any, ptr string) func(s *express.Scope, in any, errOut map[string]any) (any, error)
}

// pathFlow is the JSONPath data flow.
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
	// resultPathSize bounds what the ResultPath keys add to the input.
	resultPathSize int
	// resultFrom says where the result's size bound comes from.
	resultFrom resultSource
	resultSize int // for resultLiteral
}

type resultSource int

const (
	resultMeasured  resultSource = iota // measure the result (external data)
	resultLiteral                       // a literal of known size (resultSize)
	resultEffective                     // the effective input; its bound is in the scope
)

// ownership says what a state does with its input and result, for reusing
// objects in place (see express.Scope.OwnsInput).
type ownership struct {
	// inputKept: the state may hand its raw input object (or a value that
	// contains it) to somebody else: a resource, branches, a variable, or
	// its own result. Such an input must never be modified.
	inputKept bool
	// freshResult: the result is an object the state has just built
	// (Parameters for a Pass without Result, ResultSelector for a Task).
	freshResult bool
	// passThrough: the result is the raw input itself (Choice, Wait, Succeed).
	passThrough bool
}

func (f *pathFlow) setOwnership(o ownership) {
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

// ioFields says which JSONPath fields a state type accepts.
type ioFields struct {
	inputPath, params, resultSel, resultPath, outputPath bool
}

func (c *compiler) pathFlow(st map[string]any, ptr string, f ioFields) *pathFlow {
	pf := &pathFlow{}
	if sc := c.current; sc != nil {
		sc.b.flows[sc.i] = pf
	}
	if f.inputPath {
		pf.inputPath, pf.inputNull = c.optPath(st, ptr, "InputPath", false)
	}
	if f.params {
		if v, ok := st["Parameters"]; ok {
			pf.params = c.compileTemplate(v, diag.Pointer(ptr, "Parameters"))
		}
	}
	if f.resultSel {
		if v, ok := st["ResultSelector"]; ok {
			if _, isObj := v.(map[string]any); !isObj {
				c.problem(diag.Pointer(ptr, "ResultSelector"), "ResultSelector must be an object")
			} else {
				pf.resultSel = c.compileTemplate(v, diag.Pointer(ptr, "ResultSelector"))
			}
		}
	}
	if f.resultPath {
		pf.resultPath, pf.resultNull = c.optPath(st, ptr, "ResultPath", true)
	}
	if f.outputPath {
		pf.outputPath, pf.outputNull = c.optPath(st, ptr, "OutputPath", false)
	}
	if pf.resultPath != nil {
		for i := 0; i < pf.resultPath.Depth(); i++ {
			pf.resultPathSize += 6*len(pf.resultPath.Key(i)) + 5
		}
	}
	if v, ok := st["Assign"]; ok {
		pf.assign = c.assignTemplate(v, diag.Pointer(ptr, "Assign"))
	}
	return pf
}

func (c *compiler) assignTemplate(v any, ptr string) *template {
	m, ok := v.(map[string]any)
	if !ok {
		c.problem(ptr, "Assign must be an object of variable names to values")
		return nil
	}
	for k := range m {
		name := k
		if len(name) > 2 && name[len(name)-2:] == ".$" {
			name = name[:len(name)-2]
		}
		if !validVarName(name) {
			c.problem(diag.Pointer(ptr, k), "%q is not a valid variable name: use letters, digits and underscores, not starting with a digit", name)
		}
		if name == "states" {
			c.problem(diag.Pointer(ptr, k), "$states is reserved and cannot be assigned")
		}
	}
	return c.compileTemplate(v, ptr)
}

// validVarName reports whether n may be assigned: a variable name of at
// most aslpath.MaxVarNameLen bytes.
func validVarName(n string) bool {
	return len(n) <= aslpath.MaxVarNameLen && aslpath.ValidVarName(n)
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
	p, err := aslpath.Parse(s)
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
	if f.params != nil {
		v, n, err := f.params.evalSized(s, v)
		s.SetOutputSize(n)
		return v, err
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
	resultSize := -1
	switch {
	case f.resultSel != nil:
		var err error
		if result, resultSize, err = f.resultSel.evalSized(s, result); err != nil {
			return nil, err
		}
	case f.resultFrom == resultLiteral:
		resultSize = f.resultSize
	case f.resultFrom == resultEffective:
		resultSize = s.OutputSize()
		if resultSize > express.MaxPayloadBytes {
			resultSize = -1
		}
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
				m.PutHash(f.resultPath.Key(0), f.resultPath.KeyHash(0), result)
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

func (f *jaFlow) setOwnership(ownership) {}

func (f *pathFlow) splitAssign() func(s *express.Scope, in, result any) (map[string]any, error) {
	t := f.assign
	if t == nil {
		return nil
	}
	f.assign = nil
	return func(s *express.Scope, _, result any) (map[string]any, error) { return t.assignEval(s, result) }
}

func (f *pathFlow) catcher(c *compiler, obj map[string]any, ptr string) func(s *express.Scope, in any, errOut map[string]any) (any, error) {
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
