package compile

import (
	"maps"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/stepstream/express/aslpath"
	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/compile/intrinsic"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// tmplField is one field of a compiled payload template.
type tmplField struct {
	key     string // output key (without ".$")
	srcKey  string // key as written, for error messages
	literal any    // used when p, fn and sub are nil
	p       *aslpath.Path
	fn      *intrinsic.Func
	sub     *template
	isConst bool
	// keyHash is jsonv.KeyHash(key), keyPlain jsonv.PlainKey(key).
	keyHash  uint32
	keyPlain bool
	// from, fromHash and fromHint are p's key when p is "$.name" (see
	// aslpath.Path.Field): evalSized looks it up in an *jsonv.Object
	// itself.
	from     string
	fromHash uint32
	fromHint *int32
	// keySize is the JSON size of the key with its quotes, colon and comma
	// counted as an upper bound (see express.SizeBound); litSize that of
	// the literal.
	keySize, litSize int
}

// template is a compiled payload template (Parameters, ResultSelector,
// ItemSelector, Assign, Arguments in JSONPath states). Fields whose key ends
// in ".$" are paths or intrinsic calls; all other values are literals.
type template struct {
	fields []tmplField
	// arr is set when the template is an array whose elements are templates.
	arr   []*template
	isArr bool
	// constant templates (no ".$" anywhere) return this shared value.
	constVal  any
	isConst   bool
	constSize int
	// extraCap is room for keys later states add in place.
	extraCap int
	// shape lists the keys of the objects the template builds (nil when
	// two fields share a key); slots is what evalSized learned about the
	// shape of the first object it read that had one (see slotsFor).
	shape *jsonv.Shape
	slots atomic.Pointer[shapeSlots]
	// arena, when set, is the plan of the machine whose state evaluates
	// the template: its objects come from the scope's jsonv.Arena.
	arena *arenaPlan
}

// shapeSlots says, for one input shape, in which slot of the input each
// "x.$": "$.x" field of a template finds its value: -1 when the shape does
// not have the key (the field then looks it up as usual).
type shapeSlots struct {
	shape *jsonv.Shape
	slot  []int32
}

// slotsFor returns the slots of the template's fields in objects of shape
// sh, or nil. The first shape seen is kept for good: a template whose
// input comes from two places reads the other's objects as before, and
// nothing is allocated again.
func (t *template) slotsFor(sh *jsonv.Shape) []int32 {
	c := t.slots.Load()
	if c == nil {
		c = &shapeSlots{shape: sh, slot: make([]int32, len(t.fields))}
		for i := range t.fields {
			c.slot[i] = int32(slices.Index(sh.Keys, t.fields[i].from))
			if t.fields[i].from == "" {
				c.slot[i] = -1
			}
		}
		if !t.slots.CompareAndSwap(nil, c) {
			c = t.slots.Load()
		}
	}
	if c.shape != sh {
		return nil
	}
	return c.slot
}

// compileTemplate compiles a payload template. ptr is its JSON pointer.
func (c *compiler) compileTemplate(v any, ptr string) *template {
	switch t := v.(type) {
	case map[string]any:
		tp := &template{}
		allConst := true
		for _, k := range slices.Sorted(maps.Keys(t)) {
			fv := t[k]
			fptr := diag.Pointer(ptr, k)
			if strings.HasSuffix(k, ".$") {
				allConst = false
				f := tmplField{key: aslpath.Keys(c.keys).Intern(strings.TrimSuffix(k, ".$")), srcKey: k}
				s, ok := fv.(string)
				if !ok {
					c.problem(fptr, "the value of a field ending in \".$\" must be a string holding a JSONPath or an intrinsic function call, not %s", jsonv.TypeName(fv))
					continue
				}
				if intrinsic.IsIntrinsic(s) {
					fn, err := intrinsic.Compile(s)
					if err != nil {
						c.problem(fptr, "invalid intrinsic function call: %v", err)
						continue
					}
					f.fn = fn
				} else {
					p, err := aslpath.ParseKeys(s, aslpath.Keys(c.keys))
					if err != nil {
						c.problem(fptr, "%v", err)
						continue
					}
					f.p = p
				}
				tp.fields = append(tp.fields, f)
				continue
			}
			sub := c.compileTemplate(fv, fptr)
			if sub != nil && !sub.isConst {
				allConst = false
				tp.fields = append(tp.fields, tmplField{key: aslpath.Keys(c.keys).Intern(k), srcKey: k, sub: sub})
			} else {
				tp.fields = append(tp.fields, tmplField{key: aslpath.Keys(c.keys).Intern(k), srcKey: k, literal: fv, isConst: true})
			}
		}
		if allConst {
			return constTemplate(v)
		}
		keys := make([]string, len(tp.fields))
		for i := range tp.fields {
			keys[i] = tp.fields[i].key
		}
		if len(slices.Compact(slices.Sorted(slices.Values(keys)))) == len(keys) {
			tp.shape = &jsonv.Shape{Keys: keys}
		}
		for i := range tp.fields {
			f := &tp.fields[i]
			f.keySize = 6*len(f.key) + 3
			f.keyHash, f.keyPlain = jsonv.KeyHash(f.key), jsonv.PlainKey(f.key)
			if f.p != nil {
				f.from, f.fromHash, f.fromHint, _ = f.p.Field()
			}
			if f.isConst {
				f.litSize = express.SizeBound(f.literal)
			}
		}
		return tp
	case []any:
		tp := &template{isArr: true}
		allConst := true
		for i, e := range t {
			sub := c.compileTemplate(e, diag.Pointer(ptr, itoa(i)))
			if sub == nil {
				sub = constTemplate(e)
			}
			if !sub.isConst {
				allConst = false
			}
			tp.arr = append(tp.arr, sub)
		}
		if allConst {
			return constTemplate(v)
		}
		return tp
	}
	return constTemplate(v)
}

func constTemplate(v any) *template {
	return &template{isConst: true, constVal: v, constSize: express.SizeBound(v)}
}

// eval builds the payload. The result is a new value; in is not modified.
func (t *template) eval(s *express.Scope, in any) (any, error) {
	v, _, err := t.evalSized(s, in)
	return v, err
}

// evalSized is eval that also returns an upper bound of the payload's JSON
// size (see express.SizeBound).
func (t *template) evalSized(s *express.Scope, in any) (any, int, error) {
	return t.evalIn(s, in, -1)
}

// evalIn is evalSized given inBound, an upper bound of the JSON size of
// in (-1: unknown). A value a "$.x" field takes from in is a part of it,
// no larger than it: when inBound is small enough for the sum to stay well
// within the payload limit, such a field adds inBound to the bound rather
// than its value's own bound, which is then not worked out. The bound is
// looser (a reading of 160 bytes gives its Parameters a bound of about
// 1,600 rather than 600), never too small.
func (t *template) evalIn(s *express.Scope, in any, inBound int) (any, int, error) {
	if t.isConst {
		return t.constVal, t.constSize, nil
	}
	if t.isArr {
		out := make([]any, len(t.arr))
		size := 2
		for i, e := range t.arr {
			v, n, err := e.evalIn(s, in, inBound)
			if err != nil {
				return nil, 0, err
			}
			out[i] = v
			size += n + 1
		}
		return out, size, nil
	}
	var out *jsonv.Object
	if n := len(t.fields) + t.extraCap; t.arena != nil && t.arena.fields > n {
		out = s.Arena().NewObject(n, t.arena.fields)
	} else {
		out = jsonv.NewObject(n)
	}
	// The fields are written in place: the object has room for them all.
	fs := out.Fields[:len(t.fields)]
	size := 2
	obj, _ := in.(*jsonv.Object)
	var slots []int32
	if obj != nil {
		if sh := obj.Shape(); sh != nil {
			slots = t.slotsFor(sh)
		}
	}
	// local slices: their bases and lengths stay in registers across the
	// stores into the new object
	fields := t.fields
	fs = fs[:len(fields)]
	// a value taken from in adds inBound (see evalIn), or -1: its own bound
	part := -1
	if inBound >= 0 && inBound <= express.MaxPayloadBytes/4/max(len(fields), 1) {
		part = inBound
	}
	for i := range fields {
		f := &fields[i]
		d := &fs[i]
		d.SetKey(f.key, f.keyHash, f.keyPlain)
		if i < len(slots) && slots[i] >= 0 {
			// the input has the shape seen before: the key is in this slot
			v := obj.Fields[slots[i]].Val
			d.Val = v
			if part >= 0 {
				size += f.keySize + part
			} else {
				size += f.keySize + sizeBound(v)
			}
			continue
		}
		if f.from != "" && obj != nil {
			// the most common field, "x.$": "$.x", without calls
			if v, ok := obj.GetHint(f.from, f.fromHash, f.fromHint); ok {
				d.Val = v
				if part >= 0 {
					size += f.keySize + part
				} else {
					size += f.keySize + sizeBound(v)
				}
				continue
			}
		}
		v, n, err := f.value(s, in, inBound)
		if err != nil {
			return nil, 0, err
		}
		d.Val = v
		size += f.keySize + n
	}
	out.Fields = fs
	out.SetShape(t.shape)
	return out, size, nil
}

// sizeBound is express.SizeBound with its commonest cases inlined.
func sizeBound(v any) int {
	switch t := v.(type) {
	case string:
		return 6*len(t) + 2
	case float64, int64:
		return 24
	}
	return express.SizeBound(v)
}

func (f *tmplField) value(s *express.Scope, in any, inBound int) (any, int, error) {
	switch {
	case f.p != nil:
		v, ok := f.p.Get(s, in)
		if !ok {
			return nil, 0, missingInTemplate(s, f.p, f.srcKey, in)
		}
		if str, isStr := v.(string); isStr {
			return v, 6*len(str) + 2, nil
		}
		return v, express.SizeBound(v), nil
	case f.fn != nil:
		v, err := f.fn.Eval(s, in)
		return v, express.SizeBound(v), err
	case f.sub != nil:
		return f.sub.evalIn(s, in, inBound)
	}
	return f.literal, f.litSize, nil
}

func missingInTemplate(s *express.Scope, p *aslpath.Path, field string, in any) *express.Error {
	var doc any = in
	switch p.Root() {
	case aslpath.Context:
		doc = s.ContextObject()
	case aslpath.Var:
		if _, ok := s.Var(p.VarName()); !ok {
			return s.Runtime("The JSONPath '%s' specified for the field '%s' could not be found: variable '%s' is not defined", p.String(), field, p.VarName())
		}
		doc, _ = s.Var(p.VarName())
	}
	return s.Runtime("The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'", p.String(), field, jsonv.Marshal(doc))
}

// assignEval evaluates an Assign template into a variables map.
func (t *template) assignEval(s *express.Scope, in any) (map[string]any, error) {
	v, err := t.eval(s, in)
	if err != nil {
		return nil, err
	}
	switch o := v.(type) {
	case *jsonv.Object:
		return o.Map(), nil
	case map[string]any:
		return o, nil
	}
	return nil, nil
}
