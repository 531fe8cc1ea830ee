package jsonata

import (
	"regexp"
	"strings"
)

// compileJSRegex translates a JavaScript regular expression (the syntax
// JSONata uses) to Go's RE2 syntax. Constructs RE2 lacks (look-around,
// back-references) are rejected at compile time with S0303 rather than
// silently behaving differently.
func compileJSRegex(pattern, flags string) (*regexp.Regexp, error) {
	var b strings.Builder
	if strings.Contains(flags, "i") || strings.Contains(flags, "m") {
		b.WriteString("(?")
		if strings.Contains(flags, "i") {
			b.WriteByte('i')
		}
		if strings.Contains(flags, "m") {
			b.WriteByte('m')
		}
		b.WriteByte(')')
	}
	inClass := false
	for i := 0; i < len(pattern); i++ {
		ch := pattern[i]
		switch {
		case ch == '\\' && i+1 < len(pattern):
			nx := pattern[i+1]
			switch {
			case nx == 'u' && i+5 < len(pattern)+0 && isHex4(pattern[i+2:min(i+6, len(pattern))]):
				b.WriteString(`\x{` + pattern[i+2:i+6] + `}`)
				i += 5
				continue
			case nx == 'd' || nx == 'D' || nx == 'w' || nx == 'W' || nx == 's' || nx == 'S' || nx == 'b' || nx == 'B':
				b.WriteByte('\\')
				b.WriteByte(nx)
			case nx == '/':
				b.WriteByte('/')
			case nx >= '1' && nx <= '9' && !inClass:
				b.WriteString(`\` + string(nx)) // back-reference: RE2 rejects it
			case nx == '-':
				b.WriteString(`\-`)
			default:
				b.WriteByte('\\')
				b.WriteByte(nx)
			}
			i++
		case ch == '[' && !inClass:
			inClass = true
			if strings.HasPrefix(pattern[i:], "[^]") {
				b.WriteString(`[\s\S]`)
				i += 2
				inClass = false
				continue
			}
			b.WriteByte(ch)
		case ch == ']' && inClass:
			inClass = false
			b.WriteByte(ch)
		case ch == '(' && !inClass && strings.HasPrefix(pattern[i:], "(?<") && i+3 < len(pattern) && pattern[i+3] != '=' && pattern[i+3] != '!':
			b.WriteString("(?P<")
			i += 2
		default:
			b.WriteByte(ch)
		}
	}
	return regexp.Compile(b.String())
}

func isHex4(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := 0; i < 4; i++ {
		if _, ok := unhex(s[i]); !ok {
			return false
		}
	}
	return true
}
