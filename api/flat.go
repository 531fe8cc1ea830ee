package api

import (
	"unicode/utf8"

	"github.com/stepstream/express/internal/jsonv"
)

// decodeFlat reads a JSON object whose members are all strings (the
// common StartSyncExecution request) without building a document: set is
// called with each member's name, its unescaped value and its raw token
// (the quoted, escaped text in b: valid JSON). It reports false for
// anything else, valid or not (null, a nested value, a number, bad
// syntax), and the caller then reads the body with the general parser,
// which gives the right error.
func decodeFlat(b []byte, set func(name, val string, raw []byte)) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipSpace(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		name, j, ok := flatString(b, i)
		if !ok {
			return false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		switch {
		case i < len(b) && b[i] == '"':
			val, j, ok := flatString(b, i)
			if !ok {
				return false
			}
			set(name, val, b[i:j])
			i = j
		default:
			return false
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			return skipSpace(b, i+1) == len(b)
		}
		if b[i] != ',' {
			return false
		}
		i = skipSpace(b, i+1)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// flatString reads the JSON string starting at b[i] (a quote) and returns
// its value and the index after it; false on anything invalid.
func flatString(b []byte, i int) (string, int, bool) {
	i++
	start := i
	ascii := true
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			s := b[start:i]
			if !ascii && !utf8.Valid(s) {
				return "", 0, false
			}
			return string(s), i + 1, true
		case c == '\\':
			return flatEscaped(b, start)
		case c < 0x20:
			return "", 0, false
		case c >= 0x80:
			ascii = false
		}
		i++
	}
	return "", 0, false
}

// flatEscaped is flatString for a string with escapes: the string token
// is handed to the project's JSON parser, which unescapes it.
func flatEscaped(b []byte, start int) (string, int, bool) {
	i := start
	for i < len(b) && b[i] != '"' {
		if b[i] == '\\' {
			i++
		}
		i++
	}
	if i >= len(b) {
		return "", 0, false
	}
	v, err := jsonv.Parse(b[start-1 : i+1])
	s, ok := v.(string)
	return s, i + 1, err == nil && ok && utf8.ValidString(s)
}
