package jsonv

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends v as compact JSON to buf: plain values and *Object
// (fields in order, maps in Go's iteration order). Strings are escaped as
// JSON requires, and nothing more (no HTML escaping); invalid UTF-8 becomes
// U+FFFD, so the output is always valid JSON. NaN and infinities, which
// JSON cannot hold, are written as null.
func AppendJSON(buf []byte, v any) []byte {
	switch t := v.(type) {
	case nil:
		return append(buf, "null"...)
	case bool:
		if t {
			return append(buf, "true"...)
		}
		return append(buf, "false"...)
	case string:
		return appendString(buf, t)
	case int64:
		return strconv.AppendInt(buf, t, 10)
	case int:
		return strconv.AppendInt(buf, int64(t), 10)
	case json.Number:
		// ojg's parser gives numbers beyond float64 and int64 this way.
		return append(buf, t...)
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return append(buf, "null"...)
		}
		return strconv.AppendFloat(buf, t, 'g', -1, 64)
	case *Object:
		buf = append(buf, '{')
		for i := range t.Fields {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendString(buf, t.Fields[i].Key)
			buf = append(buf, ':')
			buf = AppendJSON(buf, t.Fields[i].Val)
		}
		return append(buf, '}')
	case map[string]any:
		buf = append(buf, '{')
		first := true
		for k, e := range t {
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = appendString(buf, k)
			buf = append(buf, ':')
			buf = AppendJSON(buf, e)
		}
		return append(buf, '}')
	case []any:
		buf = append(buf, '[')
		for i, e := range t {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = AppendJSON(buf, e)
		}
		return append(buf, ']')
	}
	if f, ok := Number(v); ok {
		return AppendJSON(buf, f)
	}
	// Not a JSON value: write it as a string rather than fail.
	return appendString(buf, "unsupported value")
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string: escaped as JSON requires and no
// more, invalid UTF-8 written as U+FFFD.
func AppendString(buf []byte, s string) []byte { return appendString(buf, s) }

func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, "\ufffd"...)
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
