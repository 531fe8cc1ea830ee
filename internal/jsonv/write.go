package jsonv

import (
	"encoding/json"
	"math"
	"math/bits"
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
		if b, ok := appendShortFloat(buf, t); ok {
			return b
		}
		return strconv.AppendFloat(buf, t, 'g', -1, 64)
	case *Object:
		buf = append(buf, '{')
		for i := range t.Fields {
			f := &t.Fields[i]
			if i > 0 {
				buf = append(buf, ',')
			}
			if f.plain {
				buf = append(buf, '"')
				buf = append(buf, f.Key...)
				buf = append(buf, '"', ':')
			} else {
				buf = appendString(buf, f.Key)
				buf = append(buf, ':')
			}
			buf = AppendJSON(buf, f.Val)
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
	for i := 0; ; {
		i = plainRun(s, i)
		if i >= len(s) {
			break
		}
		c := s[i]
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

// Word-at-a-time tests of eight bytes (see "Bit Twiddling Hacks", "Determine
// if a word has a byte less than n"): the tests are exact about whether
// some byte matches, which is all plainRun asks.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainRun returns the index of the first byte of s at or after i that a
// JSON string cannot hold as it is (a control character, '"', '\\' or the
// start of a non-ASCII character), or len(s).
func plainRun(s string, i int) int {
	// Whole words first; a short rest (or string) is tested as one word
	// made of overlapping loads, padded with plain bytes. Only when some
	// byte is special is it looked for byte by byte.
	switch n := len(s) - i; {
	case n >= 8:
		for ; i+8 <= len(s); i += 8 {
			if m := special(load8(s[i:])); m != 0 {
				// the lowest bit set is that of the first such byte
				return i + bits.TrailingZeros64(m)/8
			}
		}
		if i == len(s) || special(load8(s[len(s)-8:])) == 0 {
			return len(s)
		}
	case n >= 4:
		if special(load4(s[i:])|load4(s[len(s)-4:])<<32) == 0 {
			return len(s)
		}
	case n > 0:
		if special(uint64(s[i])|uint64(s[i+n/2])<<8|uint64(s[len(s)-1])<<16|pad3) == 0 {
			return len(s)
		}
	default:
		return i
	}
	for i < len(s) && plainByte[s[i]] {
		i++
	}
	return i
}

// pad3 fills the five high bytes of a word with a plain byte ('a').
const pad3 = ones * 'a' &^ 0xffffff

// load4 reads four bytes of w (at least four long) as a little-endian word.
func load4(w string) uint64 {
	_ = w[3]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24
}

// load8 reads eight bytes of w (at least eight long) as a little-endian word.
func load8(w string) uint64 {
	_ = w[7]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// special has the high bit of each byte of x set that a JSON string cannot
// hold as it is — below 0x20, '"' or '\\' (zero after the xor), or with
// the high bit set — and maybe of some bytes after such a byte (never when
// there is none).
func special(x uint64) uint64 {
	q := x ^ (ones * '"')
	b := x ^ (ones * '\\')
	return (((x-ones*0x20)|(q-ones)|(b-ones))&^x | x) & highs
}

// plainByte tells the bytes a JSON string holds as they are.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// pow10f and pow10u are 10^k for the digits after the point
// appendShortFloat writes.
var (
	pow10f = [5]float64{1, 10, 100, 1000, 10000}
	pow10u = [5]uint64{1, 10, 100, 1000, 10000}
)

// appendShortFloat writes f as strconv.AppendFloat(buf, f, 'g', -1, 64)
// does, for the numbers sensors send (21.7, 0.83, 1013.25): at least
// 0.0001 and below 1,000,000 in size, with at most four digits after the
// point; ok is false for any other number. The digits are those of the
// shortest decimal that reads back as f: the fewest digits after the
// point k for which round(|f|·10^k) / 10^k is f again (both sides are
// exact in float64 and the division is correctly rounded, so the test is
// exact; in this range a decimal with k digits is found at the first k
// it exists, and it is the only one with k digits).
func appendShortFloat(buf []byte, f float64) ([]byte, bool) {
	a := math.Abs(f)
	if !(a >= 1e-4 && a < 1e6) {
		return buf, false
	}
	for k := range pow10f {
		p := pow10f[k]
		m := math.Floor(a*p + 0.5)
		if m/p != a {
			continue
		}
		if f < 0 {
			buf = append(buf, '-')
		}
		n := uint64(m)
		buf = strconv.AppendUint(buf, n/pow10u[k], 10)
		if k > 0 {
			buf = append(buf, '.')
			frac := n % pow10u[k]
			for d := k - 1; d >= 0; d-- {
				buf = append(buf, byte('0'+frac/pow10u[d]%10))
			}
		}
		return buf, true
	}
	return buf, false
}
