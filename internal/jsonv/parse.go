package jsonv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// maxDepth is the deepest nesting a document may have, as encoding/json.
const maxDepth = 10000

// smallObject is the most fields an object read from text may have to be
// kept as an *Object; larger objects become maps, whose lookups do not
// grow with their size (and duplicate keys cost nothing to resolve).
const smallObject = 16

// reader is one document being parsed: one pass over the bytes that checks
// the grammar and builds the value. All unescaped strings share one copy
// of the text (one allocation per document).
type reader struct {
	b     []byte
	text  string // b copied once; strings without escapes are slices of it
	i     int
	depth int
	// stack holds the fields of the objects being read (nested objects
	// push theirs on top); each object is allocated once, at its end.
	stack []Field
	// elems does the same for the elements of arrays.
	elems []any
	slabs slabs
	// leased, when set, is the room for the text copy and the first slab
	// of numbers of a leased document (see Parser.ParseLeased).
	leased []uint64
}

var errSyntax = errors.New("syntax error")

func (r *reader) fail(what string) error {
	if r.i >= len(r.b) {
		return fmt.Errorf("not valid JSON: unexpected end of input (%s)", what)
	}
	return fmt.Errorf("not valid JSON: %s at offset %d", what, r.i)
}

func (r *reader) skipSpace() {
	for r.i < len(r.b) {
		c := r.b[r.i]
		if c > ' ' || (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			return
		}
		r.i++
	}
}

// parseDoc reads one JSON document and nothing after it but spaces. p's
// scratch space is used (and kept, grown, for the next document).
func parseDoc(b []byte, p *Parser, ld *leasedDoc) (any, error) {
	r := reader{b: b, stack: p.stack[:0], elems: p.elems[:0]}
	// about one string per 20–24 bytes of a typical record, fewer
	// numbers: one slab of each for most records
	r.slabs.chunk = min(max(len(b)/16, 4), 64)
	if ld != nil {
		// a small document (see ParseLeased): its chunk and text copy
		// come from ld
		r.slabs.doc, r.slabs.strs, r.leased = &ld.d, ld.d.strs[:0], ld.text[:]
	}
	v, err := r.doc()
	if err != nil {
		// Values left half-read: drop what they hold.
		clear(r.stack[:cap(r.stack)])
		clear(r.elems[:cap(r.elems)])
	}
	p.stack, p.elems = r.stack[:0], r.elems[:0]
	return v, err
}

func (r *reader) doc() (any, error) {
	b := r.b
	r.skipSpace()
	v, err := r.value()
	if err != nil {
		return nil, err
	}
	r.skipSpace()
	if r.i != len(b) {
		return nil, r.fail("extra characters after the document")
	}
	return v, nil
}

func (r *reader) value() (any, error) {
	if r.i >= len(r.b) {
		return nil, r.fail("a value is missing")
	}
	switch c := r.b[r.i]; {
	case c == '{':
		return r.object()
	case c == '[':
		return r.array()
	case c == '"':
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		return r.slabs.str(s), nil
	case c == 't':
		return r.literal("true", true)
	case c == 'f':
		return r.literal("false", false)
	case c == 'n':
		return r.literal("null", nil)
	case c == '-' || (c >= '0' && c <= '9'):
		return r.number()
	}
	return nil, r.fail(fmt.Sprintf("unexpected character %q", r.b[r.i]))
}

func (r *reader) literal(word string, v any) (any, error) {
	if len(r.b)-r.i < len(word) || string(r.b[r.i:r.i+len(word)]) != word {
		return nil, r.fail("invalid literal")
	}
	r.i += len(word)
	return v, nil
}

func (r *reader) object() (any, error) {
	if r.depth++; r.depth > maxDepth {
		return nil, r.fail("nesting too deep")
	}
	r.i++ // {
	mark := len(r.stack)
	// seen has a bit per key hash (modulo 64): without two keys on the
	// same bit there are no duplicate keys to resolve.
	var seen uint64
	dup := false
	r.skipSpace()
	if r.i < len(r.b) && r.b[r.i] == '}' {
		r.i++
		r.depth--
		return &Object{}, nil
	}
	// The outermost object of a small document reads its fields straight
	// into the document chunk's object, not onto the stack to be copied
	// there at its end.
	var direct *Object
	if r.depth == 1 {
		direct = r.slabs.claimObject()
	}
	for {
		r.skipSpace()
		if r.i >= len(r.b) || r.b[r.i] != '"' {
			return nil, r.fail("expected a string key")
		}
		key, err := r.str()
		if err != nil {
			return nil, err
		}
		r.skipSpace()
		if r.i >= len(r.b) || r.b[r.i] != ':' {
			return nil, r.fail("expected a colon")
		}
		r.i++
		r.skipSpace()
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		h := KeyHash(key)
		if bit := uint64(1) << (h & 63); seen&bit == 0 {
			seen |= bit
		} else {
			dup = true // maybe: two keys share the bit
		}
		if direct != nil {
			if n := len(direct.Fields); n < cap(direct.Fields) {
				direct.Fields = direct.Fields[:n+1]
				f := &direct.Fields[n]
				f.Key, f.Hash, f.Val = key, h, v
			} else {
				// more fields than the chunk has room for: on to the
				// stack with the others
				r.stack = append(r.stack, direct.Fields...)
				r.slabs.unclaimObject()
				direct = nil
			}
		}
		if direct == nil {
			r.pushField(key, h, v)
		}
		r.skipSpace()
		if r.i >= len(r.b) {
			return nil, r.fail("unterminated object")
		}
		if r.b[r.i] == ',' {
			r.i++
			continue
		}
		if r.b[r.i] != '}' {
			return nil, r.fail("expected a comma or a closing brace")
		}
		r.i++
		r.depth--
		break
	}
	if direct != nil {
		if !dup {
			return direct, nil
		}
		r.stack = append(r.stack, direct.Fields...)
		r.slabs.unclaimObject()
	}
	fields := r.stack[mark:]
	v := r.objectOf(fields, dup)
	clear(fields)
	r.stack = r.stack[:mark]
	return v, nil
}

// pushField puts a field on the stack, written in place: appending a
// Field value builds it on the goroutine's stack and copies it, with its
// write barriers.
func (r *reader) pushField(key string, h uint32, v any) {
	n := len(r.stack)
	if n == cap(r.stack) {
		r.stack = append(r.stack, Field{})
	} else {
		r.stack = r.stack[:n+1]
	}
	f := &r.stack[n]
	f.Key, f.Hash, f.Val = key, h, v
}

// objectOf makes the value of an object read with these fields; dup says
// two keys may be the same.
func (r *reader) objectOf(fields []Field, dup bool) any {
	if len(fields) > smallObject {
		m := make(map[string]any, len(fields))
		for _, f := range fields {
			m[f.Key] = f.Val // the last of duplicate keys wins
		}
		return m
	}
	o := r.slabs.object(len(fields))
	if !dup {
		o.Fields = append(o.Fields, fields...)
		return o
	}
	for _, f := range fields {
		o.PutHash(f.Key, f.Hash, f.Val) // the last of duplicate keys wins
	}
	return o
}

func (r *reader) array() (any, error) {
	if r.depth++; r.depth > maxDepth {
		return nil, r.fail("nesting too deep")
	}
	r.i++ // [
	r.skipSpace()
	if r.i < len(r.b) && r.b[r.i] == ']' {
		r.i++
		r.depth--
		return []any{}, nil
	}
	mark := len(r.elems)
	for {
		r.skipSpace()
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		r.elems = append(r.elems, v)
		r.skipSpace()
		if r.i >= len(r.b) {
			return nil, r.fail("unterminated array")
		}
		if r.b[r.i] == ',' {
			r.i++
			continue
		}
		if r.b[r.i] != ']' {
			return nil, r.fail("expected a comma or a closing bracket")
		}
		r.i++
		r.depth--
		out := r.slabs.array(r.elems[mark:])
		clear(r.elems[mark:])
		r.elems = r.elems[:mark]
		return out, nil
	}
}

// str reads a string starting at the opening quote.
func (r *reader) str() (string, error) {
	start := r.i + 1
	i := start
	b := r.b
	// eight bytes at a time to the first '"', '\\' or control character
	// (the tests of plainRun in write.go, on bytes)
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ (ones * '"')
		e := x ^ (ones * '\\')
		if m := ((x - ones*0x20) | (q - ones) | (e - ones)) &^ x & highs; m != 0 {
			// the lowest bit set is that of the first such byte
			i += bits.TrailingZeros64(m) / 8
			break
		}
	}
	for i < len(b) {
		c := b[i]
		if c == '"' {
			r.i = i + 1
			return r.slice(start, i), nil
		}
		if c == '\\' {
			return r.strEscaped(start, i)
		}
		if c < 0x20 {
			r.i = i
			return "", r.fail("control character in a string")
		}
		i++
	}
	r.i = i
	return "", r.fail("unterminated string")
}

// slice returns b[start:end] as a string sharing the document's one copy.
func (r *reader) slice(start, end int) string {
	if r.text == "" {
		r.copyText()
	}
	return r.text[start:end]
}

// copyText makes the document's one copy of its text. The numbers' first
// slab, when there is none yet, shares its allocation (both hold no
// pointers): one allocation instead of two for most documents. It runs
// once per document: kept out of line, so that slice stays inlined.
//
//go:noinline
func (r *reader) copyText() {
	words := (len(r.b) + 7) / 8
	extra := 0
	if cap(r.slabs.nums) == 0 {
		extra = r.slabs.chunk
	}
	var buf []uint64
	if words+extra <= len(r.leased) {
		buf = r.leased[:words+extra]
	} else {
		buf = make([]uint64, words+extra)
	}
	text := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(r.b))
	copy(text, r.b)
	r.text = unsafe.String(&text[0], len(text))
	if extra > 0 {
		r.slabs.nums = buf[words:words:len(buf)]
	}
}

// strEscaped reads the rest of a string that has escapes, from i (a '\').
func (r *reader) strEscaped(start, i int) (string, error) {
	buf := make([]byte, 0, i-start+16)
	buf = append(buf, r.b[start:i]...)
	for i < len(r.b) {
		c := r.b[i]
		switch {
		case c == '"':
			r.i = i + 1
			return string(buf), nil
		case c < 0x20:
			r.i = i
			return "", r.fail("control character in a string")
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		if i+1 >= len(r.b) {
			r.i = i
			return "", r.fail("unterminated escape")
		}
		e := r.b[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			rn, ok := hex4(r.b, i)
			if !ok {
				r.i = i
				return "", r.fail("invalid \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(rn) {
				// A pair makes one character; a lone half becomes U+FFFD,
				// as encoding/json does.
				if i+6 <= len(r.b) && r.b[i] == '\\' && r.b[i+1] == 'u' {
					if lo, ok := hex4(r.b, i+2); ok {
						if d := utf16.DecodeRune(rn, lo); d != utf8.RuneError {
							buf = utf8.AppendRune(buf, d)
							i += 6
							continue
						}
					}
				}
				rn = utf8.RuneError
			}
			buf = utf8.AppendRune(buf, rn)
		default:
			r.i = i - 1
			return "", r.fail("invalid escape")
		}
	}
	r.i = i
	return "", r.fail("unterminated string")
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var v rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// number reads a number: an int64 when it is an integer that fits, else a
// float64; a number too large for a float64 is kept as its text
// (json.Number), so that it is not lost.
func (r *reader) number() (any, error) {
	start := r.i
	i := r.i
	if r.b[i] == '-' {
		i++
	}
	if i >= len(r.b) {
		r.i = i
		return nil, r.fail("invalid number")
	}
	switch {
	case r.b[i] == '0':
		i++
	case r.b[i] >= '1' && r.b[i] <= '9':
		for i < len(r.b) && r.b[i] >= '0' && r.b[i] <= '9' {
			i++
		}
	default:
		r.i = i
		return nil, r.fail("invalid number")
	}
	integer, frac, exp := true, 0, false
	if i < len(r.b) && r.b[i] == '.' {
		integer = false
		i++
		frac = i
		d := i
		for i < len(r.b) && r.b[i] >= '0' && r.b[i] <= '9' {
			i++
		}
		if i == d {
			r.i = i
			return nil, r.fail("invalid number")
		}
	}
	if i < len(r.b) && (r.b[i] == 'e' || r.b[i] == 'E') {
		integer, exp = false, true
		i++
		if i < len(r.b) && (r.b[i] == '+' || r.b[i] == '-') {
			i++
		}
		d := i
		for i < len(r.b) && r.b[i] >= '0' && r.b[i] <= '9' {
			i++
		}
		if i == d {
			r.i = i
			return nil, r.fail("invalid number")
		}
	}
	r.i = i
	text := r.b[start:i]
	if !integer && !exp && len(text) <= 16 {
		// A decimal of at most 15 digits: its digits as an integer and a
		// power of ten are both exact in a float64, so one division is the
		// correctly rounded value (the fast path of strconv, without its
		// general machinery).
		var m int64
		for _, c := range text {
			if c >= '0' {
				m = m*10 + int64(c-'0')
			}
		}
		f := float64(m) / pow10[i-frac]
		if text[0] == '-' {
			f = -f
		}
		return r.slabs.float64(f), nil
	}
	if integer && len(text) < 19 {
		var n int64
		neg := text[0] == '-'
		for _, c := range text {
			if c != '-' {
				n = n*10 + int64(c-'0')
			}
		}
		if neg {
			n = -n
		}
		return r.slabs.int64(n), nil
	}
	s := r.slice(start, i)
	if integer {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return r.slabs.int64(n), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return jsonNumber(s), nil
	}
	return r.slabs.float64(f), nil
}

// pow10 holds the powers of ten that are exact in a float64.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}
