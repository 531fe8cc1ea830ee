package intrinsic

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// formatNode is States.Format. A literal template is split at its
// placeholders at compile time; a template from a path is split per call.
type formatNode struct {
	parts []string // len(args)+1 pieces around the placeholders; nil if tmpl is dynamic
	tmpl  node
	args  []node
	// fields is set when the template is literal and every argument is a
	// "$.name" path (at most formatStack of them): evalFields looks them
	// up in an *jsonv.Object itself. partsLen is the pieces' total length.
	fields   []fieldArg
	partsLen int
}

// fieldArg is a "$.name" argument (see aslpath.Path.Field).
type fieldArg struct {
	key  string
	hash uint32
	hint *int32
}

// setFields fills fields and partsLen when the call qualifies.
func (n *formatNode) setFields() {
	if n.parts == nil || len(n.args) > formatStack {
		return
	}
	fields := make([]fieldArg, len(n.args))
	for i, a := range n.args {
		pn, ok := a.(*pathNode)
		if !ok {
			return
		}
		key, hash, hint, ok := pn.p.Field()
		if !ok {
			return
		}
		fields[i] = fieldArg{key, hash, hint}
	}
	for _, p := range n.parts {
		n.partsLen += len(p)
	}
	n.fields = fields
}

// evalFields is eval for the commonest call, States.Format('{}/{}',
// $.a, $.b) on an object, when every argument is a string: no calls per
// argument, and the result, with its header, from the scope's arena
// (jsonv.Arena.NewString) or in one allocation. ok is false when it does
// not apply (in is not an *jsonv.Object, an argument is missing or not a
// string); eval then does the work and reports what is wrong.
func (n *formatNode) evalFields(f *Func, s *express.Scope, in any) (v any, e *express.Error, ok bool) {
	obj, isObj := in.(*jsonv.Object)
	if !isObj {
		return nil, nil, false
	}
	var vals [formatStack]string
	size := n.partsLen
	for i := range n.fields {
		a := &n.fields[i]
		x, found := obj.GetHint(a.key, a.hash, a.hint)
		str, isStr := x.(string)
		if !found || !isStr {
			return nil, nil, false
		}
		vals[i] = str
		size += len(str)
	}
	buf, v := s.Arena().NewString(size)
	w := copy(buf, n.parts[0])
	for i := range n.fields {
		w += copy(buf[w:], vals[i])
		// the pieces between placeholders are mostly one separator: a
		// byte stored, no call
		switch p := n.parts[i+1]; len(p) {
		case 0:
		case 1:
			buf[w] = p[0]
			w++
		default:
			w += copy(buf[w:], p)
		}
	}
	if e := f.charge(s, size); e != nil {
		return nil, e, true
	}
	return v, nil, true
}

const formatStack = 8

func (n *formatNode) eval(f *Func, s *express.Scope, in any) (any, *express.Error) {
	parts := n.parts
	var tv any
	if parts == nil {
		var e *express.Error
		if tv, e = n.tmpl.eval(f, s, in); e != nil {
			return nil, e
		}
	}
	var stack [formatStack]any
	var vals []any
	if len(n.args) <= formatStack {
		vals = stack[:len(n.args)]
	} else {
		vals = make([]any, len(n.args))
	}
	for i, a := range n.args {
		v, e := a.eval(f, s, in)
		if e != nil {
			return nil, e
		}
		vals[i] = v
	}
	if parts == nil {
		t, ok := tv.(string)
		if !ok {
			return nil, f.fail(s, "Invalid arguments in States.Format: the template (argument 1) must be a string, but was "+describe(tv))
		}
		var msg string
		if parts, msg = splitTemplate(t); msg != "" {
			return nil, f.fail(s, "Invalid template in States.Format: "+msg)
		}
		if len(parts)-1 != len(vals) {
			return nil, f.fail(s, "Invalid arguments in States.Format: number of arguments do not match the occurrences of {}.")
		}
	}
	out := formatParts(parts, vals) // its buffer is sized ahead
	if e := f.charge(s, len(out)); e != nil {
		return nil, e
	}
	return out, nil
}

// formatParts interleaves the template pieces with the rendered values.
func formatParts(parts []string, vals []any) string {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	for _, v := range vals {
		switch t := v.(type) {
		case string:
			n += len(t)
		case nil, bool:
			n += 5
		default:
			n += 24
		}
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(parts[0])
	for i, v := range vals {
		if str, ok := v.(string); ok {
			b.WriteString(str)
		} else {
			writeFormatValue(&b, v)
		}
		b.WriteString(parts[i+1])
	}
	return b.String()
}

// writeFormatValue renders a value the way AWS's States.Format does: strings
// as they are, other scalars as JSON, objects and arrays as Java's
// Map.toString and List.toString ({a=1, b=[x, y]}).
func writeFormatValue(b *strings.Builder, v any) {
	var buf [32]byte
	switch t := v.(type) {
	case string:
		b.WriteString(t)
	case nil:
		b.WriteString("null")
	case bool:
		if t {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int64:
		b.Write(strconv.AppendInt(buf[:0], t, 10))
	case int:
		b.Write(strconv.AppendInt(buf[:0], int64(t), 10))
	case float64:
		b.Write(appendDouble(buf[:0], t))
	default:
		b.Write(appendJavaString(nil, v))
	}
}

func appendJavaString(b []byte, v any) []byte {
	switch t := v.(type) {
	case string:
		return append(b, t...)
	case []any:
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendJavaString(b, e)
		}
		return append(b, ']')
	case map[string]any:
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(t)) {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, k...)
			b = append(b, '=')
			b = appendJavaString(b, t[k])
		}
		return append(b, '}')
	}
	return appendJSON(b, v)
}

// splitTemplate splits a Format template at its {} placeholders. A backslash
// escapes ', {, } and \; an unescaped { must be followed by }.
func splitTemplate(t string) ([]string, string) {
	var parts []string
	var cur strings.Builder
	start := 0 // start of the pending run of plain text in t
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case '\\':
			if i+1 < len(t) && strings.IndexByte("'{}\\", t[i+1]) >= 0 {
				cur.WriteString(t[start:i])
				cur.WriteByte(t[i+1])
				i++
				start = i + 1
			}
		case '{':
			if i+1 >= len(t) || t[i+1] != '}' {
				return nil, "matching '}' not found for '{'."
			}
			cur.WriteString(t[start:i])
			parts = append(parts, cur.String())
			cur.Reset()
			i++
			start = i + 1
		}
	}
	cur.WriteString(t[start:])
	return append(parts, cur.String()), ""
}

// appendDouble formats a float as Java's Double.toString does (AWS runs on
// the JVM): 1.1, 100.0, 1.0E7, 1.234E-5.
func appendDouble(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		start := len(b)
		b = strconv.AppendFloat(b, f, 'f', -1, 64)
		for _, c := range b[start:] {
			if c == '.' {
				return b
			}
		}
		return append(b, ".0"...)
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	i := 0
	for e[i] != 'e' {
		i++
	}
	mant, exp := e[:i], e[i+1:]
	b = append(b, mant...)
	if !strings.Contains(string(mant), ".") {
		b = append(b, ".0"...)
	}
	b = append(b, 'E')
	if exp[0] == '-' {
		b = append(b, '-')
	}
	exp = exp[1:]
	for len(exp) > 1 && exp[0] == '0' {
		exp = exp[1:]
	}
	return append(b, exp...)
}

// appendJSON serialises v as compact JSON the way AWS (Jackson) does, with
// object keys sorted (Go maps have no order).
func appendJSON(b []byte, v any) []byte {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		if t {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case string:
		return jsonv.AppendString(b, t)
	case int64:
		return strconv.AppendInt(b, t, 10)
	case int:
		return strconv.AppendInt(b, int64(t), 10)
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return append(b, "null"...)
		}
		return appendDouble(b, t)
	case json.Number:
		return append(b, t...)
	case []any:
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case map[string]any:
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(t)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonv.AppendString(b, k)
			b = append(b, ':')
			b = appendJSON(b, t[k])
		}
		return append(b, '}')
	}
	return append(b, jsonv.Marshal(v)...)
}

// describe names a run-time value's type and shows it, for error messages.
func describe(v any) string {
	j := toJSON(v)
	if len(j) > 100 {
		j = j[:100] + "..."
	}
	if v == nil {
		return "null"
	}
	return jsonv.TypeName(v) + " " + j
}
