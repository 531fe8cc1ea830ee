package intrinsic

import (
	"github.com/stepstream/express/aslpath"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// node is one compiled part of an expression.
type node interface {
	eval(f *Func, s *express.Scope, in any) (any, *express.Error)
}

// litNode is a literal, or a call evaluated at compile time. Its value is a
// scalar, so it can be shared.
type litNode struct{ v any }

func (n *litNode) eval(*Func, *express.Scope, any) (any, *express.Error) { return n.v, nil }

// pathNode is a path argument. A path that selects nothing is an error (a
// stored null is a value).
type pathNode struct {
	p *aslpath.Path
}

func (n *pathNode) eval(f *Func, s *express.Scope, in any) (any, *express.Error) {
	v, ok := n.p.Get(s, in)
	if !ok {
		return nil, f.fail(s, n.missing(in))
	}
	// The functions work on plain values (see jsonv.Object); scalars, the
	// usual arguments, pass through as they are.
	switch v.(type) {
	case string, float64, int64:
		return v, nil
	}
	return jsonv.Plain(v), nil
}

// missing words a miss as AWS does. A context-object path is reported
// relative to "$" and against the state input, as AWS reports it.
func (n *pathNode) missing(in any) string {
	src := n.p.String()
	if n.p.Root() == aslpath.Context {
		src = src[1:]
	}
	return "The JsonPath argument for the field '" + src + "' could not be found in the input '" + toJSON(in) + "'"
}

// call nodes evaluate their arguments and hand them to the function's
// implementation. There is one node type per arity so that arguments travel
// in registers, not in a slice that would escape to the heap.

type call0 struct{ fn *funcDef }

func (n *call0) eval(f *Func, s *express.Scope, in any) (any, *express.Error) {
	v, msg := n.fn.impl0(s)
	if msg != "" {
		return nil, f.fail(s, msg)
	}
	return v, f.chargeFor(s, n.fn.cost, v)
}

type call1 struct {
	fn *funcDef
	a  node
}

func (n *call1) eval(f *Func, s *express.Scope, in any) (any, *express.Error) {
	a, e := n.a.eval(f, s, in)
	if e != nil {
		return nil, e
	}
	if msg := n.fn.checkArg(0, a); msg != "" {
		return nil, f.fail(s, msg)
	}
	v, msg := n.fn.impl1(a)
	if msg != "" {
		return nil, f.fail(s, msg)
	}
	return v, f.chargeFor(s, n.fn.cost, v)
}

type call2 struct {
	fn   *funcDef
	a, b node
}

func (n *call2) eval(f *Func, s *express.Scope, in any) (any, *express.Error) {
	a, e := n.a.eval(f, s, in)
	if e != nil {
		return nil, e
	}
	b, e := n.b.eval(f, s, in)
	if e != nil {
		return nil, e
	}
	if msg := n.fn.checkArg(0, a); msg != "" {
		return nil, f.fail(s, msg)
	}
	if msg := n.fn.checkArg(1, b); msg != "" {
		return nil, f.fail(s, msg)
	}
	v, msg := n.fn.impl2(s, a, b)
	if msg != "" {
		return nil, f.fail(s, msg)
	}
	return v, f.chargeFor(s, n.fn.cost, v)
}

type call3 struct {
	fn      *funcDef
	a, b, c node
}

func (n *call3) eval(f *Func, s *express.Scope, in any) (any, *express.Error) {
	a, e := n.a.eval(f, s, in)
	if e != nil {
		return nil, e
	}
	b, e := n.b.eval(f, s, in)
	if e != nil {
		return nil, e
	}
	c, e := n.c.eval(f, s, in)
	if e != nil {
		return nil, e
	}
	for i, v := range [3]any{a, b, c} {
		if msg := n.fn.checkArg(i, v); msg != "" {
			return nil, f.fail(s, msg)
		}
	}
	v, msg := n.fn.impl3(s, a, b, c)
	if msg != "" {
		return nil, f.fail(s, msg)
	}
	return v, f.chargeFor(s, n.fn.cost, v)
}

// arrayNode is States.Array: a new array of its arguments' values.
type arrayNode struct{ args []node }

func (n *arrayNode) eval(f *Func, s *express.Scope, in any) (any, *express.Error) {
	out := make([]any, len(n.args))
	for i, a := range n.args {
		v, e := a.eval(f, s, in)
		if e != nil {
			return nil, e
		}
		out[i] = v
	}
	return out, f.charge(s, slotBytes*len(out))
}

// chargeFor charges the bytes of a result the function built, cost(v), an
// estimate; a nil cost means the result is not new (a part of an
// argument) or small.
func (f *Func) chargeFor(s *express.Scope, cost func(any) int, v any) *express.Error {
	if cost == nil {
		return nil
	}
	return f.charge(s, cost(v))
}

// charge counts n bytes of values built against the execution's limit
// (express.Execution.Charge).
func (f *Func) charge(s *express.Scope, n int) *express.Error {
	if s == nil || s.Execution() == nil {
		return nil
	}
	if err := s.Execution().Charge(n); err != nil {
		return f.fail(s, err.Error())
	}
	return nil
}

// Costs of results (see charge), estimates of what Go allocates for them:
// an interface slot, a map (a small one takes a group of 8 slots) and each
// of its entries, a string built in a growing buffer and copied out.
const (
	slotBytes   = 16
	objectBytes = 288
	keyBytes    = 64
)

func stringCost(v any) int { s, _ := v.(string); return 2 * len(s) }

// jsonCost: States.JsonToString also sorts each object's keys.
func jsonCost(v any) int { return 3 * stringCost(v) }

// uniqueCost: the array and the set of values seen.
func uniqueCost(v any) int { return 5 * arrayCost(v) }

func arrayCost(v any) int { a, _ := v.([]any); return slotBytes * len(a) }

// splitCost: an array of strings, each boxed.
func splitCost(v any) int { return 2 * arrayCost(v) }

// partitionCost: an array of arrays (the chunks share the argument's items).
func partitionCost(v any) int { return 3 * arrayCost(v) }

func objectCost(v any) int { m, _ := v.(map[string]any); return objectBytes + keyBytes*len(m) }

// valueCost is the whole of a value the function built (StringToJson).
func valueCost(v any) int {
	switch t := v.(type) {
	case string:
		return slotBytes + len(t)
	case []any:
		n := arrayCost(t)
		for _, e := range t {
			n += valueCost(e)
		}
		return n
	case map[string]any:
		n := objectCost(t)
		for k, e := range t {
			n += len(k) + valueCost(e)
		}
		return n
	}
	return 8
}

// toJSON serialises v for error messages.
func toJSON(v any) string {
	return string(appendJSON(nil, v))
}

// kind is a set of JSON types, for argument checks.
type kind uint8

const (
	kString kind = 1 << iota
	kNumber
	kBool
	kNull
	kArray
	kObject
	kAny = kString | kNumber | kBool | kNull | kArray | kObject
)

func kindOf(v any) kind {
	switch v.(type) {
	case string:
		return kString
	case nil:
		return kNull
	case bool:
		return kBool
	case []any:
		return kArray
	case map[string]any:
		return kObject
	}
	if jsonv.IsNumber(v) {
		return kNumber
	}
	return 0
}

// String names the kinds in k: "a string", "a number or a string", ...
func (k kind) String() string {
	if k == kAny {
		return "any value"
	}
	names := []struct {
		k kind
		n string
	}{{kString, "a string"}, {kNumber, "a number"}, {kBool, "a boolean"}, {kNull, "null"}, {kArray, "an array"}, {kObject, "an object"}}
	out := ""
	for _, e := range names {
		if k&e.k != 0 {
			if out != "" {
				out += " or "
			}
			out += e.n
		}
	}
	return out
}
