// Package jsonv holds the engine's JSON values: nil, bool, int64, float64,
// json.Number (beyond float64), string, []any, map[string]any and *Object;
// a validating parser that builds them, a writer, and helpers over them.
package jsonv

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/ohler55/ojg/oj"
)

// Number returns v as a float64 when it is a JSON number.
func Number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float32:
		return float64(n), true
	}
	return 0, false
}

// IsNumber reports whether v is a JSON number.
func IsNumber(v any) bool { _, ok := Number(v); return ok }

// Integer returns v as an int64 when it is a number with no fraction.
func Integer(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<63 {
			return int64(n), true
		}
	}
	return 0, false
}

// Equal compares two JSON values: numbers by value (10 == 10.0), objects
// regardless of key order.
func Equal(a, b any) bool {
	if o, ok := a.(*Object); ok {
		a = o.Map()
	}
	if o, ok := b.(*Object); ok {
		b = o.Map()
	}
	switch x := a.(type) {
	case json.Number:
		// Numbers too large for float64 are kept as their text.
		y, ok := b.(json.Number)
		return ok && x == y
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !Equal(xv, yv) {
				return false
			}
		}
		return true
	}
	if xn, ok := Number(a); ok {
		yn, ok := Number(b)
		if !ok {
			return false
		}
		if xi, ok := a.(int64); ok {
			if yi, ok := b.(int64); ok {
				return xi == yi
			}
		}
		return xn == yn
	}
	return false
}

// TypeName names the JSON type of v: "null", "boolean", "number", "string",
// "array" or "object".
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any, *Object:
		return "object"
	}
	if IsNumber(v) {
		return "number"
	}
	return "unknown"
}

// Marshal serialises v as compact JSON, object keys in sorted order (Go maps
// have no order), with HTML characters left alone.
func Marshal(v any) string {
	return oj.JSON(Plain(v), &marshalOptions)
}

// MarshalUnsorted is Marshal without sorting keys: cheaper, for output
// whose key order does not matter.
func MarshalUnsorted(v any) string {
	return oj.JSON(Plain(v), &unsortedOptions)
}

var (
	marshalOptions  = oj.Options{Sort: true, HTMLUnsafe: true}
	unsortedOptions = oj.Options{HTMLUnsafe: true}
)

// Parse parses JSON text: exactly the documents encoding/json accepts
// (FuzzParse compares the two). Objects of up to 16 fields come back as
// *Object, larger ones as map[string]any.
func Parse(b []byte) (v any, err error) {
	var p Parser
	return p.Parse(b)
}

// Parser parses JSON documents; keep one per goroutine: it reuses its
// scratch space from one document to the next.
type Parser struct {
	stack []Field
	elems []any
}

// Parse parses one JSON document. It never panics: any failure is an error.
func (p *Parser) Parse(b []byte) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("malformed JSON: %v", r)
		}
	}()
	return parseDoc(b, p, nil)
}

// leasedDocBytes is the size under which ParseLeased leases a document's
// memory: the documents whose strings, outermost object and first array
// fit a docChunk.
const leasedDocBytes = 272

// ParseLeased is Parse for a caller that knows when it has finished with
// the document: a document under 272 bytes (a typical record) is built
// in memory taken from a pool, and l is the claim on it. Release l once
// no value of the document (nor a value that shares its strings, such as
// an execution's output) is used by anybody any more: the memory then
// holds later documents. A larger document, or a malformed one, comes
// with the zero Lease (its memory is the collector's), and so does every
// document whose Lease is never released.
func (p *Parser) ParseLeased(b []byte) (v any, l Lease, err error) {
	if len(b) >= leasedDocBytes {
		v, err = p.Parse(b)
		return v, Lease{}, err
	}
	ld := takeDoc()
	defer func() {
		if r := recover(); r != nil {
			v, l, err = nil, Lease{}, fmt.Errorf("malformed JSON: %v", r)
		}
	}()
	if v, err = parseDoc(b, p, ld); err != nil {
		return nil, Lease{}, err // ld is left to the collector
	}
	return v, Lease{head: &ld.head, gen: ld.head.Load()}, nil
}

func jsonNumber(s string) any { return json.Number(s) }

// Copy returns a deep copy of v.
func Copy(v any) any {
	switch t := v.(type) {
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = Copy(e)
		}
		return c
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, e := range t {
			c[k] = Copy(e)
		}
		return c
	case *Object:
		c := &Object{Fields: make([]Field, len(t.Fields))}
		for i, f := range t.Fields {
			c.Fields[i] = Field{Key: f.Key, Hash: f.Hash, plain: f.plain, Val: Copy(f.Val)}
		}
		return c
	}
	return v
}
