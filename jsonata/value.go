package jsonata

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// undefinedType is the type of the Undefined sentinel. It has a non-zero
// size so that its address is unique; the engine tests for it by type.
type undefinedType struct{ _ byte }

var undef = &undefinedType{}

// Undefined is the value Eval returns when an expression has no result
// (JSONata's "undefined", distinct from JSON null, which is nil). Compare
// with ==, or use IsUndefined. Undefined never appears inside arrays or
// objects returned by Eval.
var Undefined any = undef

// IsUndefined reports whether v is the Undefined sentinel.
func IsUndefined(v any) bool { return isUndef(v) }

func isUndef(v any) bool { _, ok := v.(*undefinedType); return ok }

const maxFloat = math.MaxFloat64

// seq is an engine-internal array carrying the flags the reference keeps
// as properties on JavaScript arrays. Plain JSON arrays are []any.
type seq struct {
	items         []any
	isSeq         bool // a sequence (result of navigation), collapses when singleton
	keepSingleton bool
	outerWrapper  bool
	tupleStream   bool // items are tuple values
	cons          bool // built by an array constructor in a path; not flattened
}

func newSeq(capacity int) *seq {
	return &seq{items: make([]any, 0, capacity), isSeq: true}
}

func seqOf(v any) *seq { return &seq{items: []any{v}, isSeq: true} }

func (s *seq) push(v any) { s.items = append(s.items, v) }

// tuple is one binding set of a tuple stream (the reference's {'@': ...}).
type tuple struct {
	at    any
	names []string
	vals  []any
}

func (t *tuple) get(name string) (any, bool) {
	for i := len(t.names) - 1; i >= 0; i-- {
		if t.names[i] == name {
			return t.vals[i], true
		}
	}
	return nil, false
}

func (t *tuple) set(name string, v any) {
	for i := range t.names {
		if t.names[i] == name {
			t.vals[i] = v
			return
		}
	}
	t.names = append(t.names, name)
	t.vals = append(t.vals, v)
}

func (t *tuple) clone() *tuple {
	n := &tuple{at: t.at, names: make([]string, len(t.names), len(t.names)+1), vals: make([]any, len(t.vals), len(t.vals)+1)}
	copy(n.names, t.names)
	copy(n.vals, t.vals)
	return n
}

// object is an object built by the expression. Unlike map[string]any it
// remembers insertion order, which JSONata exposes through $keys, $string,
// $each and friends. Eval hands out its map.
type object struct {
	keys []string
	m    map[string]any
}

func newObject(n int) *object {
	return &object{keys: make([]string, 0, n), m: make(map[string]any, n)}
}

func (o *object) set(k string, v any) {
	if _, ok := o.m[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.m[k] = v
}

func (o *object) del(k string) {
	if _, ok := o.m[k]; !ok {
		return
	}
	delete(o.m, k)
	for i, kk := range o.keys {
		if kk == k {
			o.keys = append(o.keys[:i:i], o.keys[i+1:]...)
			break
		}
	}
}

// asArray returns the items of a JSON array or internal sequence.
func asArray(v any) ([]any, bool) {
	switch a := v.(type) {
	case []any:
		return a, true
	case *seq:
		return a.items, true
	}
	return nil, false
}

func isArray(v any) bool {
	switch v.(type) {
	case []any, *seq:
		return true
	}
	return false
}

func isSequence(v any) bool {
	s, ok := v.(*seq)
	return ok && s.isSeq
}

func isObject(v any) bool {
	switch v.(type) {
	case map[string]any, *object:
		return true
	}
	return false
}

// objGet looks a key up in either object representation.
func objGet(v any, k string) (any, bool) {
	switch o := v.(type) {
	case map[string]any:
		r, ok := o[k]
		return r, ok
	case *object:
		r, ok := o.m[k]
		return r, ok
	}
	return nil, false
}

// objKeys returns the keys in iteration order: insertion order for objects
// the expression built, sorted order for map[string]any (which has none).
func objKeys(v any) []string {
	switch o := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys
	case *object:
		return o.keys
	}
	return nil
}

func objLen(v any) int {
	switch o := v.(type) {
	case map[string]any:
		return len(o)
	case *object:
		return len(o.m)
	}
	return 0
}

// toNumber reports whether v is a JSON number and returns it as float64.
// Inputs may hold int64 (ojg) or float64; other Go numeric types are
// accepted for callers that bind Go values.
func toNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case uint32:
		return float64(n), true
	case int16:
		return float64(n), true
	case int8:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint8:
		return float64(n), true
	}
	return 0, false
}

func isNumber(v any) bool {
	_, ok := toNumber(v)
	return ok
}

// numeric mirrors the reference isNumeric: NaN is not a number and an
// infinite value is an error (D1001).
func numeric(v any) (float64, bool, error) {
	f, ok := toNumber(v)
	if !ok || f != f {
		return 0, false, nil
	}
	if math.IsInf(f, 0) {
		return 0, false, errVal("D1001", f)
	}
	return f, true, nil
}

func isFunc(v any) bool {
	_, ok := v.(*Function)
	return ok
}

func isInteger(f float64) bool { return f == math.Trunc(f) && !math.IsInf(f, 0) }

// deepEqual is the reference isDeepEqual; numbers compare by value whatever
// their Go type.
func deepEqual(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	case *Function:
		return a == b
	case *undefinedType:
		return isUndef(b)
	}
	if fa, ok := toNumber(a); ok {
		fb, ok := toNumber(b)
		return ok && fa == fb
	}
	if aa, ok := asArray(a); ok {
		bb, ok := asArray(b)
		if !ok || len(aa) != len(bb) {
			return false
		}
		for i := range aa {
			if !deepEqual(aa[i], bb[i]) {
				return false
			}
		}
		return true
	}
	if isObject(a) {
		if !isObject(b) || objLen(a) != objLen(b) {
			return false
		}
		for _, k := range objKeys(a) {
			va, _ := objGet(a, k)
			vb, ok := objGet(b, k)
			if !ok || !deepEqual(va, vb) {
				return false
			}
		}
		return true
	}
	return false
}

// toBoolean is the reference $boolean; ok is false for undefined.
func toBoolean(v any) (result bool, defined bool) {
	switch x := v.(type) {
	case *undefinedType:
		return false, false
	case bool:
		return x, true
	case string:
		return x != "", true
	case nil:
		return false, true
	case *Function:
		return false, true
	case []any:
		return arrayBoolean(x), true
	case *seq:
		return arrayBoolean(x.items), true
	case map[string]any:
		return len(x) > 0, true
	case *object:
		return len(x.m) > 0, true
	}
	if f, ok := toNumber(v); ok {
		return f != 0 && f == f, true
	}
	return false, true
}

func arrayBoolean(a []any) bool {
	if len(a) == 1 {
		b, _ := toBoolean(a[0])
		return b
	}
	for _, v := range a {
		if b, _ := toBoolean(v); b {
			return true
		}
	}
	return false
}

// truthy is boolean coercion where undefined counts as false.
func truthy(v any) bool {
	b, _ := toBoolean(v)
	return b
}

// typeSymbol is the signature type letter of a value.
func typeSymbol(v any) byte {
	switch v.(type) {
	case *undefinedType:
		return 'm'
	case *Function:
		return 'f'
	case string:
		return 's'
	case bool:
		return 'b'
	case nil:
		return 'l'
	case []any, *seq:
		return 'a'
	case map[string]any, *object:
		return 'o'
	}
	if isNumber(v) {
		return 'n'
	}
	return 'm'
}

// formatJSNumber renders a float64 the way JavaScript's Number#toString
// does: shortest round-trip digits, exponent form outside [1e-7, 1e21).
func formatJSNumber(f float64) string {
	if f != f {
		return "NaN"
	}
	if math.IsInf(f, 1) {
		return "Infinity"
	}
	if math.IsInf(f, -1) {
		return "-Infinity"
	}
	if f == 0 {
		return "0"
	}
	if a := math.Abs(f); a < 1e21 && (a >= 1e-6 || f == math.Trunc(f)) {
		// JavaScript uses plain notation in this range, with the same
		// shortest round-trip digits as Go's -1 precision.
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	neg := false
	if e[0] == '-' {
		neg = true
		e = e[1:]
	}
	// e is d[.ddd]e±XX
	ei := strings.IndexByte(string(e), 'e')
	mant := e[:ei]
	exp, _ := strconv.Atoi(string(e[ei+1:]))
	digits := make([]byte, 0, len(mant))
	for _, c := range mant {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	k := len(digits)
	n := exp + 1
	var out []byte
	if neg {
		out = append(out, '-')
	}
	switch {
	case k <= n && n <= 21:
		out = append(out, digits...)
		for i := 0; i < n-k; i++ {
			out = append(out, '0')
		}
	case 0 < n && n <= 21:
		out = append(out, digits[:n]...)
		out = append(out, '.')
		out = append(out, digits[n:]...)
	case -6 < n && n <= 0:
		out = append(out, '0', '.')
		for i := 0; i < -n; i++ {
			out = append(out, '0')
		}
		out = append(out, digits...)
	default:
		out = append(out, digits[0])
		if k > 1 {
			out = append(out, '.')
			out = append(out, digits[1:]...)
		}
		out = append(out, 'e')
		if n-1 >= 0 {
			out = append(out, '+')
		}
		out = strconv.AppendInt(out, int64(n-1), 10)
	}
	return string(out)
}

// toPrecision15 mirrors Number(x.toPrecision(15)), used by $string to hide
// binary floating point noise.
func toPrecision15(f float64) float64 {
	if f == 0 || math.IsInf(f, 0) || f != f {
		return f
	}
	var buf [32]byte
	short := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	digits := 0
	for _, ch := range short {
		if ch == 'e' {
			break
		}
		if ch >= '0' && ch <= '9' {
			digits++
		}
	}
	if digits <= 15 {
		return f // already representable in 15 significant digits
	}
	s := strconv.FormatFloat(f, 'e', 14, 64)
	r, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return f
	}
	return r
}

// stringify renders v as JSON like JSON.stringify with the reference's
// replacer: functions become "", non-integers are cut to 15 significant
// digits when precision is set. Non-finite numbers are an error (D1001).
func stringify(v any, pretty bool, precision bool) (string, error) {
	var b strings.Builder
	if err := writeJSON(&b, v, pretty, precision, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeIndent(b *strings.Builder, depth int) {
	b.WriteByte('\n')
	for i := 0; i < depth; i++ {
		b.WriteString("  ")
	}
}

func writeJSON(b *strings.Builder, v any, pretty, precision bool, depth int) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		writeJSONString(b, x)
	case *Function:
		b.WriteString(`""`)
	case *undefinedType:
		b.WriteString("null")
	case []any:
		return writeJSONArray(b, x, pretty, precision, depth)
	case *seq:
		return writeJSONArray(b, x.items, pretty, precision, depth)
	case map[string]any, *object:
		keys := objKeys(x)
		n := 0
		b.WriteByte('{')
		for _, k := range keys {
			val, _ := objGet(x, k)
			if isUndef(val) {
				continue
			}
			if n > 0 {
				b.WriteByte(',')
			}
			n++
			if pretty {
				writeIndent(b, depth+1)
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			if pretty {
				b.WriteByte(' ')
			}
			if err := writeJSON(b, val, pretty, precision, depth+1); err != nil {
				return err
			}
		}
		if pretty && n > 0 {
			writeIndent(b, depth)
		}
		b.WriteByte('}')
	default:
		f, ok := toNumber(v)
		if !ok {
			b.WriteString("null")
			return nil
		}
		if math.IsInf(f, 0) {
			return errVal("D1001", f)
		}
		if f != f {
			b.WriteString("null")
			return nil
		}
		if precision && !isInteger(f) {
			f = toPrecision15(f)
		}
		b.WriteString(formatJSNumber(f))
	}
	return nil
}

func writeJSONArray(b *strings.Builder, a []any, pretty, precision bool, depth int) error {
	b.WriteByte('[')
	for i, e := range a {
		if i > 0 {
			b.WriteByte(',')
		}
		if pretty {
			writeIndent(b, depth+1)
		}
		if err := writeJSON(b, e, pretty, precision, depth+1); err != nil {
			return err
		}
	}
	if pretty && len(a) > 0 {
		writeIndent(b, depth)
	}
	b.WriteByte(']')
	return nil
}

const hexDigits = "0123456789abcdef"

func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteString(s[start:i])
				b.WriteString(`\ufffd`)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		b.WriteString(s[start:i])
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xF])
		}
		i++
		start = i
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

// toJSON converts an evaluation result to plain JSON values: sequences
// become []any and built objects become map[string]any. Only values of the
// internal types are replaced, and only inside containers the expression
// built, so input data (possibly shared between goroutines) is only read.
func toJSON(v any) any {
	switch x := v.(type) {
	case *seq:
		if x.tupleStream {
			out := make([]any, len(x.items))
			for i, t := range x.items {
				if tp, ok := t.(*tuple); ok {
					out[i] = toJSON(tp.at)
				}
			}
			return out
		}
		jsonItems(x.items)
		return x.items
	case *object:
		for _, k := range x.keys {
			e := x.m[k]
			switch e.(type) {
			case *seq, *object, *tuple:
				x.m[k] = toJSON(e)
			case []any, map[string]any:
				toJSON(e)
			}
		}
		return x.m
	case []any:
		jsonItems(x)
		return x
	case map[string]any:
		for k, e := range x {
			switch e.(type) {
			case *seq, *object, *tuple:
				x[k] = toJSON(e)
			case []any, map[string]any:
				toJSON(e)
			}
		}
		return x
	case *tuple:
		return toJSON(x.at)
	}
	return v
}

func jsonItems(items []any) {
	for i, e := range items {
		switch e.(type) {
		case *seq, *object, *tuple:
			items[i] = toJSON(e)
		case []any, map[string]any:
			toJSON(e)
		}
	}
}
