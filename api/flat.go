package api

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
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

// flatEscaped is flatString for a string with escapes, from b[start]
// (after its quote): it unescapes it. A lone surrogate (\ud800), which
// encoding/json turns into U+FFFD, is refused: the caller's general
// parser then reads the body.
func flatEscaped(b []byte, start int) (string, int, bool) {
	end := start
	for end < len(b) && b[end] != '"' {
		if b[end] == '\\' {
			end++
		}
		end++
	}
	if end >= len(b) {
		return "", 0, false
	}
	var sb strings.Builder
	sb.Grow(end - start) // unescaping never lengthens
	for i := start; i < end; i++ {
		c := b[i]
		if c < 0x20 {
			return "", 0, false
		}
		if c != '\\' {
			sb.WriteByte(c)
			continue
		}
		i++
		switch b[i] {
		case '"', '\\', '/':
			sb.WriteByte(b[i])
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'u':
			r, ok := hex4(b, i+1, end)
			if !ok {
				return "", 0, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				// only a high surrogate followed by a low one
				if i+2 >= end || b[i+1] != '\\' || b[i+2] != 'u' {
					return "", 0, false
				}
				lo, ok := hex4(b, i+3, end)
				if r = utf16.DecodeRune(r, lo); !ok || r == utf8.RuneError {
					return "", 0, false
				}
				i += 6
			}
			sb.WriteRune(r)
		default:
			return "", 0, false
		}
	}
	out := sb.String()
	return out, end + 1, utf8.ValidString(out)
}

// hex4 reads the 4 hex digits of a \u escape at b[i:], before end.
func hex4(b []byte, i, end int) (rune, bool) {
	if i+4 > end {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
