package compile

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/stepstream/express/aslpath"
	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
	"github.com/stepstream/express/jsonata"
)

// parseTimestamp parses an ISO-8601 extended offset date-time as AWS accepts
// it: date, 'T', time with optional fraction, and 'Z' or an offset.
func parseTimestamp(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

func (sc *stateCompiler) wait() {
	c := sc.c
	sc.allow(sc.langFields(jpWaitFields, jaWaitFields)...)
	next := sc.b.transition(sc.i, sc.obj, sc.ptr)
	fl := sc.flowFor(ioFields{inputPath: true, outputPath: true})
	fl.setOwnership(passThroughOwnership(sc.obj))
	n := 0
	for _, f := range []string{"Seconds", "SecondsPath", "Timestamp", "TimestampPath"} {
		if _, ok := sc.obj[f]; ok {
			n++
		}
	}
	if n != 1 {
		c.problem(sc.ptr, "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp or TimestampPath")
	}
	// until computes when the wait ends; d is relative to now.
	var until func(s *express.Scope, in any) (time.Time, error)
	if sc.lang == langJSONata {
		until = sc.jsonataWait()
	} else if v, ok := sc.obj["Seconds"]; ok {
		if secs, ok := c.nonNegInt(v, sc.field("Seconds")); ok {
			d := time.Duration(secs) * time.Second
			until = func(s *express.Scope, _ any) (time.Time, error) { return s.Execution().Now().Add(d), nil }
		}
	} else if v, ok := sc.obj["Timestamp"]; ok {
		if str, ok := c.str(v, sc.field("Timestamp")); ok {
			t, ok := parseTimestamp(str)
			if !ok {
				c.problem(sc.field("Timestamp"), "%q is not an ISO-8601 extended offset date-time such as 2016-03-14T01:59:00Z", str)
			}
			until = func(*express.Scope, any) (time.Time, error) { return t, nil }
		}
	} else if v, ok := sc.obj["SecondsPath"]; ok {
		if p := sc.refPath(v, "SecondsPath"); p != nil {
			src := p.String()
			until = func(s *express.Scope, in any) (time.Time, error) {
				v, ok := p.Get(s, in)
				if !ok {
					return time.Time{}, s.Runtime("The SecondsPath parameter does not reference an input value: %s", src)
				}
				secs, isInt := jsonv.Integer(v)
				if _, isNum := jsonv.Number(v); !isNum || !isInt {
					return time.Time{}, s.Runtime("The SecondsPath parameter cannot be parsed as a long value: %s == %s", src, stringOrJSON(v))
				}
				if secs < 0 {
					return time.Time{}, s.Runtime("The SecondsPath parameter references a negative value: %s == %d", src, secs)
				}
				return s.Execution().Now().Add(time.Duration(min(secs, math.MaxInt64/int64(time.Second))) * time.Second), nil
			}
		}
	} else if v, ok := sc.obj["TimestampPath"]; ok {
		if p := sc.refPath(v, "TimestampPath"); p != nil {
			src := p.String()
			until = func(s *express.Scope, in any) (time.Time, error) {
				v, ok := p.Get(s, in)
				if !ok {
					return time.Time{}, s.Runtime("The TimestampPath parameter does not reference an input value: %s", src)
				}
				str, _ := v.(string)
				t, ok := parseTimestamp(str)
				if !ok {
					return time.Time{}, s.Runtime("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %s == %s", src, stringOrJSON(v))
				}
				return t, nil
			}
		}
	}
	sc.st.Exec = func(s *express.Scope, in any) (any, int, error) {
		eff, err := fl.effective(s, in)
		if err != nil {
			return nil, 0, err
		}
		if until != nil {
			t, err := until(s, in)
			if err != nil {
				return nil, 0, err
			}
			if d := t.Sub(s.Execution().Now()); d > 0 {
				if e := s.Sleep(d); e != nil {
					return nil, 0, e
				}
			}
		}
		out, err := fl.finish(s, in, eff)
		return out, next, err
	}
}

// refPath compiles a path field that must be a string JSONPath.
func (sc *stateCompiler) refPath(v any, field string) *aslpath.Path {
	src, ok := sc.c.str(v, sc.field(field))
	if !ok {
		return nil
	}
	p, err := aslpath.Parse(src)
	if err != nil {
		sc.c.problem(sc.field(field), "%v", err)
		return nil
	}
	return p
}

// branches compiles the Branches of a Parallel state.
func (sc *stateCompiler) parallel() bool {
	c := sc.c
	sc.allow(sc.langFields(jpParFields, jaParFields)...)
	next := sc.b.transition(sc.i, sc.obj, sc.ptr)
	fl := sc.flowFor(ioFields{inputPath: true, params: true, resultSel: true, resultPath: true, outputPath: true})
	fl.setOwnership(ownership{inputKept: true})
	var branches []*express.Machine
	blocking := false
	arr, ok := sc.obj["Branches"].([]any)
	if !ok || len(arr) == 0 {
		c.problem(sc.ptr, "a Parallel state needs Branches: a non-empty array of state machines")
	}
	for i, bv := range arr {
		bptr := diag.Pointer(sc.ptr, "Branches", itoa(i))
		obj, ok := bv.(map[string]any)
		if !ok {
			c.problem(bptr, "a branch must be an object with StartAt and States")
			continue
		}
		c.allowed(obj, bptr, fieldSet("StartAt", "States", "Comment", "QueryLanguage"))
		lang := sc.lang
		if v, ok := obj["QueryLanguage"]; ok {
			lang = c.queryLanguage(v, diag.Pointer(bptr, "QueryLanguage"), sc.lang)
		}
		m := c.machine(obj, bptr, lang, scopeParallel)
		blocking = blocking || m.Blocking
		branches = append(branches, m)
	}
	sc.retryCatch(fl)
	sc.st.Exec = func(s *express.Scope, in any) (any, int, error) {
		eff, err := fl.effective(s, in)
		if err != nil {
			return nil, 0, err
		}
		s.AddEvents(1) // ParallelStateStarted
		outs := make([]any, len(branches))
		if blocking && len(branches) > 1 {
			errs := make([]error, len(branches))
			var wg sync.WaitGroup
			for i, m := range branches {
				wg.Add(1)
				go func() {
					defer wg.Done()
					outs[i], errs[i] = runBranch(s.Child(), m, eff)
				}()
			}
			wg.Wait()
			if err := firstError(errs); err != nil {
				return nil, 0, err
			}
		} else {
			for i, m := range branches {
				if outs[i], err = runBranch(s.Child(), m, eff); err != nil {
					return nil, 0, err
				}
			}
		}
		s.AddEvents(1) // ParallelStateSucceeded
		out, err := fl.finish(s, in, outs)
		return out, next, err
	}
	return blocking
}

// runBranch runs a branch or iteration machine, turning a panic into an error.
func runBranch(s *express.Scope, m *express.Machine, in any) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = express.Errorf(express.ErrRuntime, "internal error in a branch: %v", p)
		}
	}()
	return s.Run(m, in)
}

// firstError picks the error that ends a Parallel or Map: a terminal one if
// any (the execution is over), else the first branch's.
func firstError(errs []error) error {
	var first error
	for _, e := range errs {
		if e == nil {
			continue
		}
		if express.AsError(e).Terminal() {
			return e
		}
		if first == nil {
			first = e
		}
	}
	return first
}

// intOrPath compiles a field that is a literal number or a ...Path to one.
type numberField struct {
	lit     float64
	has     bool
	p       *aslpath.Path
	pathSrc string
	// ja is a JSONata expression giving the number.
	ja    *jaTmpl
	funcs map[string]jsonata.Func
}

func (sc *stateCompiler) numberField(lit, pathField string, integer bool) numberField {
	c := sc.c
	lv, hasLit := sc.obj[lit]
	pv, hasPath := sc.obj[pathField]
	if hasLit && hasPath {
		c.problem(sc.ptr, "%s and %s cannot both be set: keep one", lit, pathField)
		return numberField{}
	}
	if hasLit {
		if sc.lang == langJSONata {
			if s, ok := lv.(string); ok && isJSONataExpr(s) {
				return sc.jsonataNumberField(lit, s)
			}
		}
		f, ok := jsonv.Number(lv)
		if !ok || (integer && f != math.Trunc(f)) {
			kind := "a number"
			if integer {
				kind = "an integer"
			}
			c.problem(sc.field(lit), "%s must be %s, not %s", lit, kind, describe(lv))
			return numberField{}
		}
		return numberField{lit: f, has: true}
	}
	if hasPath {
		if p := sc.refPath(pv, pathField); p != nil {
			return numberField{p: p, has: true, pathSrc: p.String()}
		}
	}
	return numberField{}
}

// value evaluates the field. For a path, the value must be a number (an
// integer when integer is set), reported as AWS words it.
func (nf *numberField) value(s *express.Scope, in any, pathField string, integer bool) (float64, error) {
	if nf.ja != nil {
		v, err := nf.ja.eval(s, jaEnv(s, nf.funcs, &jaVars{s: s, input: in}))
		if err != nil {
			return 0, err
		}
		f, ok := jsonv.Number(v)
		if !ok || (integer && f != math.Trunc(f)) {
			want := "number"
			if integer {
				want = "integer"
			}
			return 0, nf.ja.typeError(s, want, v)
		}
		return f, nil
	}
	if nf.p == nil {
		return nf.lit, nil
	}
	v, ok := nf.p.Get(s, in)
	if !ok {
		return 0, s.Runtime("Invalid path '%s' : %s", nf.pathSrc, nf.p.MissingReason(s, in))
	}
	kind := "float"
	if integer {
		kind = "integer"
	}
	f, isNum := jsonv.Number(v)
	if !isNum {
		if str, isStr := v.(string); isStr {
			parsed, err := strconv.ParseFloat(str, 64)
			if err == nil && (!integer || parsed == math.Trunc(parsed)) {
				return parsed, nil
			}
		}
		return 0, s.Runtime("The %s field refers to value %s which is not a valid %s: %s", pathField, quoteValue(v), kind, nf.pathSrc)
	}
	if integer && f != math.Trunc(f) {
		return 0, s.Runtime("The %s field refers to value %s which is not a valid %s: %s", pathField, quoteValue(v), kind, nf.pathSrc)
	}
	return f, nil
}
