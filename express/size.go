package express

import (
	"math"

	"github.com/stepstream/express/internal/jsonv"
	"strconv"
	"unicode/utf8"
)

// Sizes of JSON values are worked out by walking them without allocating,
// stopping as soon as the limit is passed, so that a value shared many
// times over (a state that copies its input into two fields, in a loop)
// cannot make the walk run long. A quick upper bound comes first (strings
// counted as if every byte needed a six-byte escape, numbers as 24 bytes);
// only when that is over the limit is the exact size worked out.
// SizeBound returns an upper bound of the size of v as compact JSON, at
// most MaxPayloadBytes+1 (it stops counting past the limit). It does not
// scan strings, so it is cheap; flows use it to tell the engine how large
// their output can be (Scope.SetOutputSize) so that the exact check is
// needed only near the limit.
func SizeBound(v any) int {
	switch t := v.(type) {
	case string:
		return 6*len(t) + 2
	case nil, bool, int64, float64:
		return 24
	case []any:
		if n, flat := flatBound(t); flat {
			return min(n, MaxPayloadBytes+1)
		}
	}
	left := MaxPayloadBytes
	if !fitsBound(v, &left) {
		return MaxPayloadBytes + 1
	}
	return MaxPayloadBytes - left
}

// exactSize returns the exact compact-JSON size of v, or limit+1 when it is
// larger than limit.
func exactSize(v any, limit int) int {
	left := limit
	if !fits(v, &left) {
		return limit + 1
	}
	return limit - left
}

// flatBound is what fitsBound counts for an array of strings and numbers
// (tags, readings), without its calls; flat is false when some element is
// an object or an array.
func flatBound(a []any) (n int, flat bool) {
	n = 2 + len(a)
	for _, e := range a {
		switch t := e.(type) {
		case string:
			n += 6*len(t) + 2
		case map[string]any, *jsonv.Object, []any:
			return 0, false
		default:
			n += 24
		}
	}
	return n, true
}

func fitsBound(v any, left *int) bool {
	switch t := v.(type) {
	case string:
		*left -= 6*len(t) + 2
	case map[string]any:
		*left -= 2 + len(t)
		for k, e := range t {
			*left -= 6*len(k) + 3
			if *left < 0 || !fitsBound(e, left) {
				return false
			}
		}
	case *jsonv.Object:
		*left -= 2 + len(t.Fields)
		for i := range t.Fields {
			*left -= 6*len(t.Fields[i].Key) + 3
			if *left < 0 || !fitsBound(t.Fields[i].Val, left) {
				return false
			}
		}
	case []any:
		*left -= 2 + len(t)
		for _, e := range t {
			if *left < 0 || !fitsBound(e, left) {
				return false
			}
		}
	default:
		*left -= 24
	}
	return *left >= 0
}

func fits(v any, left *int) bool {
	switch t := v.(type) {
	case nil:
		*left -= 4
	case bool:
		if t {
			*left -= 4
		} else {
			*left -= 5
		}
	case string:
		*left -= stringSize(t)
	case int64:
		*left -= intLen(t)
	case int:
		*left -= intLen(int64(t))
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			*left -= 4
		} else if t == math.Trunc(t) && math.Abs(t) < 1e15 {
			*left -= intLen(int64(t))
		} else {
			*left -= len(strconv.FormatFloat(t, 'g', -1, 64))
		}
	case []any:
		*left -= 2 + len(t)
		for _, e := range t {
			if *left < 0 || !fits(e, left) {
				return false
			}
		}
	case map[string]any:
		*left -= 2 + len(t)
		for k, e := range t {
			*left -= stringSize(k) + 1
			if *left < 0 || !fits(e, left) {
				return false
			}
		}
	case *jsonv.Object:
		*left -= 2 + len(t.Fields)
		for i := range t.Fields {
			*left -= stringSize(t.Fields[i].Key) + 1
			if *left < 0 || !fits(t.Fields[i].Val, left) {
				return false
			}
		}
	default:
		*left -= 16
	}
	return *left >= 0
}

func intLen(i int64) int {
	n := 1
	if i < 0 {
		n++
		if i == math.MinInt64 {
			return 20
		}
		i = -i
	}
	for i >= 10 {
		i /= 10
		n++
	}
	return n
}

func stringSize(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
				n += 2
			case c < 0x20:
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		_, sz := utf8.DecodeRuneInString(s[i:])
		n += sz
		i += sz
	}
	return n
}
