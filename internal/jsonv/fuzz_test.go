package jsonv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks Parse against encoding/json: it must accept exactly the
// documents encoding/json accepts, and never panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1,2,{"b":null}]`, `"x"`, `1.5e3`, `{"a":}`, ``, `{"a":{"b":[true,false]}}`, `{"a":"\u00e9\n"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Parse(b)
		if valid := json.Valid(b); valid != (err == nil) {
			t.Fatalf("Parse(%q): err %v, encoding/json valid %v", b, err, valid)
		}
		if err != nil || !utf8.Valid(b) {
			return
		}
		// The value is the one encoding/json reads (numbers by value).
		var std any
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if d.Decode(&std) != nil {
			return // e.g. a number beyond float64, which Valid allows
		}
		if !Equal(Plain(v), fromStd(std)) {
			t.Fatalf("Parse(%q) = %s, encoding/json reads %v", b, AppendJSON(nil, v), std)
		}
		// ParseLeased reads the same, in memory an earlier document
		// released (leasedParser's), and the earlier document's values
		// were not touched by it.
		want := string(AppendJSON(nil, v))
		lv, l, err := leasedParser.ParseLeased(b)
		if err != nil {
			t.Fatalf("ParseLeased(%q): %v, Parse read it", b, err)
		}
		if got := string(AppendJSON(nil, lv)); got != want {
			t.Fatalf("ParseLeased(%q) = %s, Parse %s", b, got, want)
		}
		l.Release()
	})
}

var leasedParser Parser

// FuzzAppendJSON checks that AppendJSON writes valid JSON that reads back
// as the same value.
func FuzzAppendJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1,2.5,{"b":null,"c":"x\ny\"\\"}]`, `"\u0001é"`, `1e-7`, `{"k":{"o":[true,false]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Parse(b)
		if err != nil {
			return
		}
		// Wrap objects into *Object too, to cover both kinds.
		if m, ok := v.(map[string]any); ok {
			o := NewObject(len(m))
			for k, e := range m {
				o.Put(k, e)
			}
			v = []any{v, o}
		}
		out := AppendJSON(nil, v)
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("AppendJSON(%q) wrote invalid JSON %q: %v", b, out, err)
		}
		if !Equal(Plain(v), back) && utf8.Valid(b) && !hasInf(v) {
			t.Fatalf("round trip of %q: %q", b, out)
		}
	})
}

// hasInf reports whether v holds a number too large for float64 (1e700),
// which JSON output can only write as null.
func hasInf(v any) bool {
	switch t := v.(type) {
	case float64:
		return math.IsInf(t, 0)
	case []any:
		for _, e := range t {
			if hasInf(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range t {
			if hasInf(e) {
				return true
			}
		}
	case *Object:
		for _, f := range t.Fields {
			if hasInf(f.Val) {
				return true
			}
		}
	}
	return false
}

// fromStd turns encoding/json's json.Number into int64 or float64.
func fromStd(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = fromStd(e)
		}
	case map[string]any:
		for k, e := range t {
			t[k] = fromStd(e)
		}
	}
	return v
}

// FuzzAppendString checks the word-at-a-time AppendString against the
// byte-by-byte escaping it replaced (appendStringRef), on any bytes.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "ab\"", "abcdefg\\", "0123456789abcdef", "é", "\x00\x1f\x7f", "abcdefgh\xff", "dev-42/temperature/2026-11-22T10:00:00Z", "\u2028<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString([]byte("x"), s)
		want := appendStringRef([]byte("x"), s)
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %q, want %q", s, got, want)
		}
		// A plain key is written as it is, and as AppendString writes it.
		o := NewObject(1)
		o.Fields = o.Fields[:1]
		o.Fields[0].SetKey(s, KeyHash(s), PlainKey(s))
		o.Fields[0].Val = int64(1)
		if got, want := AppendJSON(nil, o), append(appendStringRef([]byte("{"), s), ":1}"...); !bytes.Equal(got, want) {
			t.Fatalf("an object with the key %q (plain %v) is written %q, want %q", s, PlainKey(s), got, want)
		}
		for i := 0; i <= len(s); i++ {
			if got, want := plainRun(s, i), plainRunRef(s, i); got != want {
				t.Fatalf("plainRun(%q, %d) = %d, want %d", s, i, got, want)
			}
		}
	})
}

// plainRunRef is plainRun one byte at a time.
func plainRunRef(s string, i int) int {
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			break
		}
	}
	return i
}

// appendStringRef is JSON's string escaping written one character at a
// time: ranging over a string gives U+FFFD for each invalid byte.
func appendStringRef(buf []byte, s string) []byte {
	short := map[rune]string{'"': `\"`, '\\': `\\`, '\n': `\n`, '\r': `\r`, '\t': `\t`, '\b': `\b`, '\f': `\f`}
	buf = append(buf, '"')
	for _, r := range s {
		if e, ok := short[r]; ok {
			buf = append(buf, e...)
		} else if r < 0x20 {
			buf = fmt.Appendf(buf, `\u%04x`, r)
		} else {
			buf = utf8.AppendRune(buf, r)
		}
	}
	return append(buf, '"')
}
