package intrinsic

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/stepstream/express/aslpath"
)

// maxDepth is how deeply calls may nest: AWS allows up to 10 intrinsic
// functions nested within a field.
const maxDepth = 10

type exprKind int

const (
	exString exprKind = iota
	exNumber
	exBool
	exNull
	exPath
	exCall
)

// expr is the syntax tree the parser produces and the checker turns into
// evaluation nodes.
type expr struct {
	kind exprKind
	pos  int    // byte offset of the expression in the source
	text string // the expression as written
	val  any    // literal value: string, int64, float64, bool or nil
	raw  string // string literals: the text between the quotes, escapes intact
	path *aslpath.Path
	name string // call: function name as written
	args []*expr
}

type parser struct {
	src string
	pos int
}

func (p *parser) errAt(pos int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Src: p.src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) parseTop() (*expr, *SyntaxError) {
	if !strings.HasPrefix(p.src, "States.") {
		return nil, p.errAt(0, "an intrinsic function call must start with \"States.\"")
	}
	e, err := p.parseCall(1)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.src) {
		return nil, p.errAt(p.pos, "unexpected %s after the end of the call", p.describe())
	}
	return e, nil
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// describe names what is at the current position, for error messages.
func (p *parser) describe() string {
	if p.pos >= len(p.src) {
		return "end of input"
	}
	r := []rune(p.src[p.pos:])[0]
	return strconv.QuoteRune(r)
}

func isIdentByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// parseCall parses States.Name(arg, ...) at p.pos.
func (p *parser) parseCall(depth int) (*expr, *SyntaxError) {
	start := p.pos
	if depth > maxDepth {
		return nil, p.errAt(start, "intrinsic functions are nested more than %d deep", maxDepth)
	}
	i := p.pos + len("States.")
	for i < len(p.src) && isIdentByte(p.src[i]) {
		i++
	}
	e := &expr{kind: exCall, pos: start, name: p.src[start:i]}
	if i == start+len("States.") {
		return nil, p.errAt(i, "expected a function name after \"States.\"")
	}
	p.pos = i
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != '(' {
		return nil, p.errAt(p.pos, "expected '(' after %s, found %s", e.name, p.describe())
	}
	p.pos++
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ')' {
		p.pos++
		e.text = p.src[start:p.pos]
		return e, nil
	}
	for {
		p.skipSpace()
		a, err := p.parseArg(depth)
		if err != nil {
			return nil, err
		}
		e.args = append(e.args, a)
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, p.errAt(p.pos, "missing ')' to close %s(", e.name)
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ')':
			p.pos++
			e.text = p.src[start:p.pos]
			return e, nil
		default:
			return nil, p.errAt(p.pos, "expected ',' or ')' in the arguments of %s, found %s", e.name, p.describe())
		}
	}
}

func (p *parser) parseArg(depth int) (*expr, *SyntaxError) {
	if p.pos >= len(p.src) {
		return nil, p.errAt(p.pos, "expected an argument, found end of input")
	}
	c := p.src[p.pos]
	switch {
	case c == '\'':
		return p.parseString()
	case c == '$':
		return p.parsePath()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.parseNumber()
	case strings.HasPrefix(p.src[p.pos:], "States."):
		return p.parseCall(depth + 1)
	case c == ',' || c == ')':
		return nil, p.errAt(p.pos, "expected an argument, found %s", p.describe())
	case c == '"':
		return nil, p.errAt(p.pos, "string arguments are written in single quotes, not double quotes")
	}
	start := p.pos
	i := p.pos
	for i < len(p.src) && isIdentByte(p.src[i]) {
		i++
	}
	word := p.src[start:i]
	switch word {
	case "true", "false":
		p.pos = i
		return &expr{kind: exBool, pos: start, text: word, val: word == "true"}, nil
	case "null":
		p.pos = i
		return &expr{kind: exNull, pos: start, text: word}, nil
	}
	if i < len(p.src) && (p.src[i] == '.' || p.src[i] == '(') && word != "" {
		return nil, p.errAt(start, "unknown function %q: intrinsic functions are named States.<Name>", word)
	}
	if word == "" {
		return nil, p.errAt(start, "unexpected %s: an argument is a 'string', a number, true, false, null, a path ($..., $$..., $name...) or an intrinsic function call", p.describe())
	}
	return nil, p.errAt(start, "unexpected %q: an argument is a 'string', a number, true, false, null, a path ($..., $$..., $name...) or an intrinsic function call", word)
}

// parseString parses a single-quoted literal. AWS's escapes are \' \{ \} and
// \\; any other backslash is an error.
func (p *parser) parseString() (*expr, *SyntaxError) {
	start := p.pos
	i := start + 1
	var b strings.Builder
	plain := true
	for {
		if i >= len(p.src) {
			return nil, p.errAt(start, "unterminated string literal: missing closing '")
		}
		c := p.src[i]
		if c == '\'' {
			break
		}
		if c == '\\' {
			if i+1 >= len(p.src) {
				return nil, p.errAt(i, "unterminated string literal: missing closing '")
			}
			n := p.src[i+1]
			switch n {
			case '\'', '{', '}', '\\':
			default:
				r := []rune(p.src[i+1:])[0]
				return nil, p.errAt(i, "invalid escape \\%c in a string literal: only \\', \\{, \\} and \\\\ are allowed (write a double quote as is)", r)
			}
			if plain {
				b.WriteString(p.src[start+1 : i])
				plain = false
			}
			b.WriteByte(n)
			i += 2
			continue
		}
		if !plain {
			b.WriteByte(c)
		}
		i++
	}
	raw := p.src[start+1 : i]
	val := raw
	if !plain {
		val = b.String()
	}
	p.pos = i + 1
	return &expr{kind: exString, pos: start, text: p.src[start:p.pos], val: val, raw: raw}, nil
}

func (p *parser) parseNumber() (*expr, *SyntaxError) {
	start := p.pos
	i := start
	if p.src[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(p.src) && p.src[i] >= '0' && p.src[i] <= '9' {
			i++
		}
		return i - j
	}
	intStart := i
	if digits() == 0 {
		return nil, p.errAt(start, "invalid number: expected a digit after '-'")
	}
	if i-intStart > 1 && p.src[intStart] == '0' {
		return nil, p.errAt(start, "invalid number %q: leading zeros are not allowed", p.src[start:i])
	}
	isFloat := false
	if i < len(p.src) && p.src[i] == '.' {
		i++
		isFloat = true
		if digits() == 0 {
			return nil, p.errAt(start, "invalid number %q: expected digits after '.'", p.src[start:i])
		}
	}
	if i < len(p.src) && (p.src[i] == 'e' || p.src[i] == 'E') {
		i++
		isFloat = true
		if i < len(p.src) && (p.src[i] == '+' || p.src[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, p.errAt(start, "invalid number %q: expected digits in the exponent", p.src[start:i])
		}
	}
	if i < len(p.src) && (isIdentByte(p.src[i]) || p.src[i] == '.') {
		return nil, p.errAt(start, "invalid number: unexpected %q after %q", p.src[i], p.src[start:i])
	}
	text := p.src[start:i]
	p.pos = i
	e := &expr{kind: exNumber, pos: start, text: text}
	if !isFloat {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			e.val = n
			return e, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, p.errAt(start, "number %s is out of range", text)
	}
	e.val = f
	return e, nil
}

// parsePath takes a path argument: from '$' up to the ',' or ')' that ends
// it (brackets, parentheses and quotes inside the path are skipped over).
func (p *parser) parsePath() (*expr, *SyntaxError) {
	start := p.pos
	i := start
	depth := 0
	for i < len(p.src) {
		c := p.src[i]
		if depth == 0 && (c == ',' || c == ')' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			break
		}
		switch c {
		case '[', '(':
			depth++
		case ']', ')':
			depth--
		case '\'', '"':
			if depth > 0 {
				j := i + 1
				for j < len(p.src) && p.src[j] != c {
					if p.src[j] == '\\' {
						j++
					}
					j++
				}
				if j >= len(p.src) {
					return nil, p.errAt(i, "unterminated quote in path %q", p.src[start:])
				}
				i = j
			}
		}
		i++
	}
	text := p.src[start:i]
	if depth != 0 {
		return nil, p.errAt(start, "unbalanced brackets in path %q", text)
	}
	pp, err := aslpath.Parse(text)
	if err != nil {
		return nil, p.errAt(start, "%v", err)
	}
	p.pos = i
	return &expr{kind: exPath, pos: start, text: text, path: pp}, nil
}
