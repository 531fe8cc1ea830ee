package jsonata

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
)

// nodeKind is the type of an AST node. The raw parse tree and the
// processed tree share the node struct; processAST turns the former into
// the latter, after which nodes are never modified (Expr is shared between
// goroutines).
type nodeKind uint8

const (
	nNone nodeKind = iota
	nPath
	nBinary
	nNegate // unary minus
	nArray  // array constructor
	nObject // object constructor (unary '{')
	nName
	nString
	nNumber
	nValue // true, false, null
	nWildcard
	nDescendant
	nParent
	nCondition
	nBlock
	nBind
	nRegex
	nFunction
	nPartial
	nVariable
	nLambda
	nApply
	nTransform
	nSort
	nOperator // raw operator token (and/or/in used as names, '?' placeholder)
	nEnd
	// raw-only kinds
	nRawBinary // binary operator before processing (value = operator)
	nRawGroup  // object constructor after an expression (binary '{')
	nRawSort   // '^'
	nRawUnary  // prefix '[', '{', '-' before processing
)

type opcode uint8

const (
	opNone opcode = iota
	opAdd
	opSub
	opMul
	opDiv
	opMod
	opEq
	opNe
	opLt
	opLe
	opGt
	opGe
	opConcat
	opAnd
	opOr
	opIn
	opRange
)

var opcodes = map[string]opcode{
	"+": opAdd, "-": opSub, "*": opMul, "/": opDiv, "%": opMod,
	"=": opEq, "!=": opNe, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe,
	"&": opConcat, "and": opAnd, "or": opOr, "in": opIn, "..": opRange,
}

type slot struct {
	label string
	level int
	index int
}

type stage struct {
	isIndex bool
	expr    *node  // filter
	name    string // index variable
	pos     int
}

type sortTerm struct {
	descending bool
	expr       *node
}

type groupExpr struct {
	pairs [][2]*node
	pos   int
}

type node struct {
	kind  nodeKind
	op    opcode
	value string  // operator, name, variable name, string literal
	num   float64 // number literal
	lit   any     // literal value (string, float64, bool, nil)
	pos   int
	id    string // parser symbol id (raw tree only)

	lhs, rhs    *node
	expression  *node   // raw unary operand
	expressions []*node // array items, block expressions
	pairs       [][2]*node
	steps       []*node
	args        []*node
	procedure   *node
	body        *node
	params      []string
	rawParams   []*node
	sig         *signature
	cond        *node
	then        *node
	els         *node
	pattern     *node
	update      *node
	del         *node
	terms       []sortTerm
	rawTerms    []sortTerm

	predicate []*stage
	stages    []*stage
	group     *groupExpr

	keepArray          bool
	keepSingletonArray bool
	consarray          bool
	tuple              bool
	hasFocus           bool
	focus              string
	hasIndex           bool
	index              string
	ancestor           *slot
	slot               *slot
	seekingParent      []*slot
	thunk              bool
	re                 *regexp.Regexp
	reSource           string
	needsFrame         bool       // block binds variables
	ownGroup           *groupExpr // object constructor pairs
	simplePath         bool       // path of plain field names: evaluated without sequences
	operands           []*node    // flattened chain of & operands
}

// ---------------------------------------------------------------- lexer

type token struct {
	kind  nodeKind // nName, nVariable, nOperator, nString, nNumber, nValue, nRegex
	value string
	num   float64
	lit   any
	re    *regexp.Regexp
	src   string
	pos   int
}

type lexer struct {
	src string
	pos int
}

var operatorChars = map[byte]bool{
	'.': true, '[': true, ']': true, '{': true, '}': true, '(': true, ')': true, ',': true,
	'@': true, '#': true, ';': true, ':': true, '?': true, '+': true, '-': true, '*': true,
	'/': true, '%': true, '|': true, '=': true, '<': true, '>': true, '^': true, '&': true,
	'!': true, '~': true,
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' }

func (l *lexer) next(prefix bool) (*token, error) {
	src := l.src
	for {
		for l.pos < len(src) && isSpace(src[l.pos]) {
			l.pos++
		}
		if l.pos >= len(src) {
			return nil, nil
		}
		if src[l.pos] == '/' && l.pos+1 < len(src) && src[l.pos+1] == '*' {
			start := l.pos
			end := strings.Index(src[l.pos+2:], "*/")
			if end < 0 {
				return nil, errAt("S0106", start, "")
			}
			l.pos += 2 + end + 2
			continue
		}
		break
	}
	c := src[l.pos]
	mk := func(kind nodeKind, v string) *token { return &token{kind: kind, value: v, pos: l.pos} }
	if !prefix && c == '/' {
		l.pos++
		return l.scanRegex()
	}
	if l.pos+1 < len(src) {
		two := src[l.pos : l.pos+2]
		switch two {
		case "..", ":=", "!=", ">=", "<=", "**", "~>", "?:", "??":
			l.pos += 2
			return mk(nOperator, two), nil
		}
	}
	if operatorChars[c] {
		l.pos++
		return mk(nOperator, string(c)), nil
	}
	if c == '"' || c == '\'' {
		return l.scanString(c)
	}
	if c >= '0' && c <= '9' {
		end := scanNumber(src, l.pos)
		if end > l.pos {
			text := src[l.pos:end]
			f, err := strconv.ParseFloat(text, 64)
			if err != nil || math.IsInf(f, 0) {
				return nil, errAt("S0102", l.pos, text)
			}
			l.pos = end
			t := mk(nNumber, text)
			t.num = f
			return t, nil
		}
	}
	if c == '`' {
		end := strings.IndexByte(src[l.pos+1:], '`')
		if end < 0 {
			l.pos = len(src)
			return nil, errAt("S0105", l.pos, "")
		}
		name := src[l.pos+1 : l.pos+1+end]
		l.pos += end + 2
		return mk(nName, name), nil
	}
	i := l.pos
	for i < len(src) && !isSpace(src[i]) && !operatorChars[src[i]] {
		i++
	}
	if src[l.pos] == '$' {
		name := src[l.pos+1 : i]
		l.pos = i
		return mk(nVariable, name), nil
	}
	name := src[l.pos:i]
	l.pos = i
	switch name {
	case "or", "in", "and":
		return mk(nOperator, name), nil
	case "true":
		t := mk(nValue, name)
		t.lit = true
		return t, nil
	case "false":
		t := mk(nValue, name)
		t.lit = false
		return t, nil
	case "null":
		t := mk(nValue, name)
		t.lit = nil
		return t, nil
	}
	if l.pos == len(src) && name == "" {
		return nil, nil
	}
	return mk(nName, name), nil
}

// scanNumber matches -?(0|[1-9][0-9]*)(\.[0-9]+)?([Ee][-+]?[0-9]+)? at i
// (the sign is never seen here: '-' is lexed as an operator).
func scanNumber(s string, i int) int {
	start := i
	if i < len(s) && s[i] == '0' {
		i++
	} else {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i == start {
		return start
	}
	if i+1 < len(s) && s[i] == '.' && s[i+1] >= '0' && s[i+1] <= '9' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			i = j
		}
	}
	return i
}

func (l *lexer) scanString(quote byte) (*token, error) {
	src := l.src
	l.pos++
	var b strings.Builder
	for l.pos < len(src) {
		c := src[l.pos]
		if c == '\\' {
			l.pos++
			if l.pos >= len(src) {
				break
			}
			e := src[l.pos]
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, ok := hex4(src, l.pos+1)
				if !ok {
					return nil, errAt("S0104", l.pos, "")
				}
				l.pos += 4
				if utf16.IsSurrogate(r) {
					// combine a surrogate pair written as two escapes
					if r < 0xDC00 && l.pos+6 < len(src) && src[l.pos+1] == '\\' && src[l.pos+2] == 'u' {
						if r2, ok := hex4(src, l.pos+3); ok && r2 >= 0xDC00 && r2 <= 0xDFFF {
							r = utf16.DecodeRune(r, r2)
							l.pos += 6
						}
					}
				}
				b.WriteRune(r)
			default:
				return nil, errAt("S0103", l.pos, string(e))
			}
		} else if c == quote {
			l.pos++
			return &token{kind: nString, value: b.String(), pos: l.pos}, nil
		} else {
			b.WriteByte(c)
		}
		l.pos++
	}
	return nil, errAt("S0101", l.pos, "")
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	v, err := strconv.ParseUint(s[i:i+4], 16, 32)
	if err != nil || strings.ContainsAny(s[i:i+4], "+-") {
		return 0, false
	}
	return rune(v), true
}

func (l *lexer) scanRegex() (*token, error) {
	src := l.src
	start := l.pos
	depth := 0
	for l.pos < len(src) {
		c := src[l.pos]
		if c == '/' && depth == 0 {
			bs := 0
			for l.pos-(bs+1) >= 0 && src[l.pos-(bs+1)] == '\\' {
				bs++
			}
			if bs%2 == 0 {
				pattern := src[start:l.pos]
				if pattern == "" {
					return nil, errAt("S0301", l.pos, "")
				}
				l.pos++
				fstart := l.pos
				for l.pos < len(src) && (src[l.pos] == 'i' || src[l.pos] == 'm') {
					l.pos++
				}
				flags := src[fstart:l.pos]
				re, err := compileJSRegex(pattern, flags)
				if err != nil {
					e := errAt("S0303", l.pos, "")
					e.value, e.hasValue = pattern+": "+err.Error(), true
					return nil, e
				}
				return &token{kind: nRegex, value: pattern, re: re, src: "/" + pattern + "/" + flags, pos: l.pos}, nil
			}
		}
		if (c == '(' || c == '[' || c == '{') && (l.pos == 0 || src[l.pos-1] != '\\') {
			depth++
		}
		if (c == ')' || c == ']' || c == '}') && (l.pos == 0 || src[l.pos-1] != '\\') {
			depth--
		}
		l.pos++
	}
	return nil, errAt("S0302", l.pos, "")
}

// ---------------------------------------------------------------- parser

var bindingPowers = map[string]int{
	".": 75, "[": 80, "{": 70, "(": 80, "@": 80, "#": 80, "?": 20,
	"+": 50, "-": 50, "*": 60, "/": 60, "%": 60, "=": 40, "<": 40, ">": 40,
	"^": 40, "!=": 40, "<=": 40, ">=": 40, "~>": 40, "?:": 40, "??": 40,
	"and": 30, "or": 25, "in": 40, "&": 50, ":=": 10,
}

// symbols the parser knows; any other operator token is S0204.
var knownSymbols = map[string]bool{
	":": true, ";": true, ",": true, ")": true, "]": true, "}": true, "..": true,
	"|": true, "**": true,
}

type parser struct {
	src      string
	lex      lexer
	node     *node
	ancestry []*node
	labels   int
	depth    int
	cloned   int
}

const maxParseDepth = 500

func (p *parser) advance(id string, infix bool) error {
	if id != "" && p.node.id != id {
		code := "S0202"
		if p.node.id == "(end)" {
			code = "S0203"
		}
		e := errAt(code, p.node.pos, p.node.value)
		e.value, e.hasValue = id, true
		return e
	}
	t, err := p.lex.next(infix)
	if err != nil {
		return err
	}
	if t == nil {
		p.node = &node{id: "(end)", kind: nEnd, pos: len(p.src)}
		return nil
	}
	n := &node{pos: t.pos, value: t.value}
	switch t.kind {
	case nName, nVariable:
		n.id = "(name)"
		n.kind = t.kind
	case nOperator:
		if _, ok := bindingPowers[t.value]; !ok && !knownSymbols[t.value] {
			return errAt("S0204", t.pos, t.value)
		}
		n.id = t.value
		n.kind = nOperator
	case nString:
		n.id = "(literal)"
		n.kind = nString
		n.lit = t.value
	case nNumber:
		n.id = "(literal)"
		n.kind = nNumber
		n.num = t.num
		n.lit = t.num
	case nValue:
		n.id = "(literal)"
		n.kind = nValue
		n.lit = t.lit
	case nRegex:
		n.id = "(regex)"
		n.kind = nRegex
		n.re = t.re
		n.reSource = t.src
	}
	p.node = n
	return nil
}

func (p *parser) lbp(n *node) int {
	if n.kind != nOperator {
		return 0
	}
	return bindingPowers[n.id]
}

func (p *parser) expression(rbp int) (*node, error) {
	p.depth++
	if p.depth > maxParseDepth {
		return nil, errAt("S0201", p.node.pos, "(nesting too deep)")
	}
	defer func() { p.depth-- }()
	t := p.node
	if err := p.advance("", true); err != nil {
		return nil, err
	}
	left, err := p.nud(t)
	if err != nil {
		return nil, err
	}
	for rbp < p.lbp(p.node) {
		t = p.node
		if err := p.advance("", false); err != nil {
			return nil, err
		}
		left, err = p.led(t, left)
		if err != nil {
			return nil, err
		}
	}
	return left, nil
}

func (p *parser) nud(t *node) (*node, error) {
	switch t.id {
	case "(name)", "(literal)", "(regex)", "(end)", "and", "or", "in":
		return t, nil
	case "-":
		e, err := p.expression(70)
		if err != nil {
			return nil, err
		}
		t.kind = nRawUnary
		t.expression = e
		return t, nil
	case "*":
		t.kind = nWildcard
		return t, nil
	case "**":
		t.kind = nDescendant
		return t, nil
	case "%":
		t.kind = nParent
		return t, nil
	case "(":
		var exprs []*node
		for p.node.id != ")" {
			e, err := p.expression(0)
			if err != nil {
				return nil, err
			}
			exprs = append(exprs, e)
			if p.node.id != ";" {
				break
			}
			if err := p.advance(";", false); err != nil {
				return nil, err
			}
		}
		if err := p.advance(")", true); err != nil {
			return nil, err
		}
		t.kind = nBlock
		t.expressions = exprs
		return t, nil
	case "[":
		var items []*node
		err := p.commaList("]", true, true, func() error {
			item, err := p.expression(0)
			if err != nil {
				return err
			}
			if p.node.id == ".." {
				r := &node{kind: nRawBinary, value: "..", pos: p.node.pos, lhs: item}
				if err := p.advance("..", false); err != nil {
					return err
				}
				if r.rhs, err = p.expression(0); err != nil {
					return err
				}
				item = r
			}
			items = append(items, item)
			return nil
		})
		if err != nil {
			return nil, err
		}
		t.kind = nRawUnary
		t.expressions = items
		return t, nil
	case "{":
		pairs, err := p.objectPairs()
		if err != nil {
			return nil, err
		}
		t.kind = nRawUnary
		t.pairs = pairs
		return t, nil
	case "|":
		t.kind = nTransform
		var err error
		if t.pattern, err = p.expression(0); err != nil {
			return nil, err
		}
		if err := p.advance("|", false); err != nil {
			return nil, err
		}
		if t.update, err = p.expression(0); err != nil {
			return nil, err
		}
		if p.node.id == "," {
			if err := p.advance(",", false); err != nil {
				return nil, err
			}
			if t.del, err = p.expression(0); err != nil {
				return nil, err
			}
		}
		if err := p.advance("|", false); err != nil {
			return nil, err
		}
		return t, nil
	}
	return nil, errAt("S0211", t.pos, t.value)
}

// commaList reads comma-separated items (each by item) up to close, which
// it consumes (closeInfix as for advance); with allowEmpty the list may be
// empty.
func (p *parser) commaList(close string, closeInfix, allowEmpty bool, item func() error) error {
	if !allowEmpty || p.node.id != close {
		for {
			if err := item(); err != nil {
				return err
			}
			if p.node.id != "," {
				break
			}
			if err := p.advance(",", false); err != nil {
				return err
			}
		}
	}
	return p.advance(close, closeInfix)
}

func (p *parser) objectPairs() ([][2]*node, error) {
	var pairs [][2]*node
	err := p.commaList("}", true, true, func() error {
		n, err := p.expression(0)
		if err != nil {
			return err
		}
		if err := p.advance(":", false); err != nil {
			return err
		}
		v, err := p.expression(0)
		if err != nil {
			return err
		}
		pairs = append(pairs, [2]*node{n, v})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pairs, nil
}

func (p *parser) led(t *node, left *node) (*node, error) {
	var err error
	switch t.id {
	case "??":
		// $exists(left) ? left : rhs, with an independent copy of left
		t.kind = nCondition
		t.cond = &node{kind: nFunction, value: "(", pos: t.pos,
			procedure: &node{kind: nVariable, value: "exists", pos: t.pos},
		}
		cl, err := p.cloneRaw(left)
		if err != nil {
			return nil, err
		}
		t.cond.args = []*node{cl}
		t.then = left
		if t.els, err = p.expression(0); err != nil {
			return nil, err
		}
		return t, nil
	case "?:":
		t.kind = nCondition
		if t.cond, err = p.cloneRaw(left); err != nil {
			return nil, err
		}
		t.then = left
		if t.els, err = p.expression(0); err != nil {
			return nil, err
		}
		return t, nil
	case "(":
		t.procedure = left
		t.kind = nFunction
		err := p.commaList(")", true, true, func() error {
			if p.node.kind == nOperator && p.node.id == "?" {
				t.kind = nPartial
				t.args = append(t.args, p.node)
				return p.advance("?", false)
			}
			a, err := p.expression(0)
			if err != nil {
				return err
			}
			t.args = append(t.args, a)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if left.kind == nName && (left.value == "function" || left.value == "\u03BB") {
			for i, a := range t.args {
				if a.kind != nVariable {
					e := errAt("S0208", a.pos, a.value)
					e.value, e.hasValue = float64(i+1), true
					return nil, e
				}
			}
			t.kind = nLambda
			if p.node.id == "<" {
				sigPos := p.node.pos
				depth := 1
				sig := "<"
				for depth > 0 && p.node.id != "{" && p.node.id != "(end)" {
					if err := p.advance("", false); err != nil {
						return nil, err
					}
					tok := p.node
					if tok.id == ">" {
						depth--
					} else if tok.id == "<" {
						depth++
					}
					sig += tok.value
				}
				if err := p.advance(">", false); err != nil {
					return nil, err
				}
				s, err := parseSignature(sig)
				if err != nil {
					if e, ok := err.(*Error); ok {
						e.Position += sigPos
					}
					return nil, err
				}
				t.sig = s
			}
			if err := p.advance("{", false); err != nil {
				return nil, err
			}
			if t.body, err = p.expression(0); err != nil {
				return nil, err
			}
			if err := p.advance("}", false); err != nil {
				return nil, err
			}
		}
		return t, nil
	case "[":
		if p.node.id == "]" {
			step := left
			for step != nil && step.kind == nRawBinary && step.value == "[" {
				step = step.lhs
			}
			step.keepArray = true
			if err := p.advance("]", false); err != nil {
				return nil, err
			}
			return left, nil
		}
		t.lhs = left
		if t.rhs, err = p.expression(0); err != nil {
			return nil, err
		}
		t.kind = nRawBinary
		if err := p.advance("]", true); err != nil {
			return nil, err
		}
		return t, nil
	case "^":
		if err := p.advance("(", false); err != nil {
			return nil, err
		}
		var terms []sortTerm
		err := p.commaList(")", false, false, func() error {
			term := sortTerm{}
			if p.node.id == "<" {
				if err := p.advance("<", false); err != nil {
					return err
				}
			} else if p.node.id == ">" {
				term.descending = true
				if err := p.advance(">", false); err != nil {
					return err
				}
			}
			var err error
			if term.expr, err = p.expression(0); err != nil {
				return err
			}
			terms = append(terms, term)
			return nil
		})
		if err != nil {
			return nil, err
		}
		t.lhs = left
		t.rawTerms = terms
		t.kind = nRawSort
		return t, nil
	case "{":
		pairs, err := p.objectPairs()
		if err != nil {
			return nil, err
		}
		t.lhs = left
		t.pairs = pairs
		t.kind = nRawGroup
		return t, nil
	case ":=":
		if left.kind != nVariable {
			return nil, errAt("S0212", left.pos, left.value)
		}
		t.lhs = left
		if t.rhs, err = p.expression(bindingPowers[":="] - 1); err != nil {
			return nil, err
		}
		t.kind = nRawBinary
		return t, nil
	case "@", "#":
		t.lhs = left
		if t.rhs, err = p.expression(bindingPowers[t.id]); err != nil {
			return nil, err
		}
		if t.rhs.kind != nVariable {
			return nil, errAt("S0214", t.rhs.pos, t.id)
		}
		t.kind = nRawBinary
		return t, nil
	case "?":
		t.kind = nCondition
		t.cond = left
		if t.then, err = p.expression(0); err != nil {
			return nil, err
		}
		if p.node.id == ":" {
			if err := p.advance(":", false); err != nil {
				return nil, err
			}
			if t.els, err = p.expression(0); err != nil {
				return nil, err
			}
		}
		return t, nil
	}
	// plain left-associative infix operator
	bp, ok := bindingPowers[t.id]
	if !ok {
		return nil, errAt("S0201", t.pos, t.value)
	}
	t.lhs = left
	if t.rhs, err = p.expression(bp); err != nil {
		return nil, err
	}
	t.kind = nRawBinary
	return t, nil
}

// maxCloneNodes bounds the copies made for ?: and ??, whose left operand
// is duplicated: chained operators would otherwise grow exponentially.
const maxCloneNodes = 100_000

// cloneRaw deep-copies a raw parse tree (the reference clones via JSON).
func (p *parser) cloneRaw(n *node) (*node, error) {
	p.cloned = 0
	c := cloneRaw(n, &p.cloned)
	if p.cloned > maxCloneNodes {
		return nil, errAt("S0201", n.pos, "(expression too complex)")
	}
	return c, nil
}

func cloneRaw(n *node, count *int) *node {
	if n == nil || *count > maxCloneNodes {
		return nil
	}
	*count++
	c := *n
	c.lhs = cloneRaw(n.lhs, count)
	c.rhs = cloneRaw(n.rhs, count)
	c.expression = cloneRaw(n.expression, count)
	c.procedure = cloneRaw(n.procedure, count)
	c.body = cloneRaw(n.body, count)
	c.cond = cloneRaw(n.cond, count)
	c.then = cloneRaw(n.then, count)
	c.els = cloneRaw(n.els, count)
	c.pattern = cloneRaw(n.pattern, count)
	c.update = cloneRaw(n.update, count)
	c.del = cloneRaw(n.del, count)
	c.expressions = cloneList(n.expressions, count)
	c.args = cloneList(n.args, count)
	if n.pairs != nil {
		c.pairs = make([][2]*node, len(n.pairs))
		for i, pr := range n.pairs {
			c.pairs[i] = [2]*node{cloneRaw(pr[0], count), cloneRaw(pr[1], count)}
		}
	}
	if n.rawTerms != nil {
		c.rawTerms = make([]sortTerm, len(n.rawTerms))
		for i, t := range n.rawTerms {
			c.rawTerms[i] = sortTerm{descending: t.descending, expr: cloneRaw(t.expr, count)}
		}
	}
	return &c
}

func cloneList(l []*node, count *int) []*node {
	if l == nil {
		return nil
	}
	out := make([]*node, len(l))
	for i, n := range l {
		out[i] = cloneRaw(n, count)
	}
	return out
}

// parse parses and post-processes an expression.
func parse(src string) (*node, error) {
	p := &parser{src: src, lex: lexer{src: src}}
	if err := p.advance("", false); err != nil {
		return nil, err
	}
	expr, err := p.expression(0)
	if err != nil {
		return nil, err
	}
	if p.node.id != "(end)" {
		return nil, errAt("S0201", p.node.pos, p.node.value)
	}
	res, err := p.process(expr)
	if err != nil {
		return nil, err
	}
	if res.kind == nParent || res.seekingParent != nil {
		return nil, errAt("S0217", res.pos, kindName(res.kind))
	}
	optimize(res, 0)
	return res, nil
}

// optimize marks nodes that can take fast evaluation paths. It only adds
// information; the reference semantics are preserved.
func optimize(n *node, depth int) {
	if n == nil || depth > 10*maxParseDepth {
		return
	}
	switch n.kind {
	case nPath:
		simple := !n.keepSingletonArray && !n.keepArray && n.group == nil && !n.tuple && n.predicate == nil
		for _, st := range n.steps {
			if st.kind != nName || st.stages != nil || st.predicate != nil || st.group != nil || st.keepArray ||
				st.tuple || st.hasFocus || st.hasIndex || st.ancestor != nil || st.consarray {
				simple = false
			}
		}
		n.simplePath = simple
	case nBinary:
		if n.op == opConcat {
			n.operands = concatOperands(n, nil)
		}
	}
	for _, c := range []*node{n.lhs, n.rhs, n.expression, n.cond, n.then, n.els, n.procedure, n.body, n.pattern, n.update, n.del} {
		optimize(c, depth+1)
	}
	for _, l := range [][]*node{n.expressions, n.steps, n.args} {
		for _, c := range l {
			optimize(c, depth+1)
		}
	}
	for _, pr := range n.pairs {
		optimize(pr[0], depth+1)
		optimize(pr[1], depth+1)
	}
	for _, g := range []*groupExpr{n.group, n.ownGroup} {
		if g != nil {
			for _, pr := range g.pairs {
				optimize(pr[0], depth+1)
				optimize(pr[1], depth+1)
			}
		}
	}
	for _, st := range n.predicate {
		optimize(st.expr, depth+1)
	}
	for _, st := range n.stages {
		optimize(st.expr, depth+1)
	}
	for _, t := range n.terms {
		optimize(t.expr, depth+1)
	}
}

// concatOperands flattens a left-associated chain a & b & c so it can be
// built with one allocation.
func concatOperands(n *node, out []*node) []*node {
	if n.kind == nBinary && n.op == opConcat && n.predicate == nil && n.group == nil && !n.keepArray {
		out = concatOperands(n.lhs, out)
		return append(out, n.rhs)
	}
	return append(out, n)
}

func kindName(k nodeKind) string {
	switch k {
	case nPath:
		return "path"
	case nParent:
		return "parent"
	case nName:
		return "name"
	case nBlock:
		return "block"
	case nFunction:
		return "function"
	case nVariable:
		return "variable"
	case nString:
		return "string"
	case nNumber:
		return "number"
	case nValue:
		return "value"
	case nBinary:
		return "binary"
	case nArray, nObject, nNegate:
		return "unary"
	case nCondition:
		return "condition"
	case nLambda:
		return "lambda"
	}
	return "expression"
}

// ------------------------------------------------------- post-processing

func (p *parser) tailCallOptimize(e *node) *node {
	switch e.kind {
	case nFunction:
		if e.predicate == nil {
			return &node{kind: nLambda, thunk: true, pos: e.pos, body: e}
		}
	case nCondition:
		e.then = p.tailCallOptimize(e.then)
		if e.els != nil {
			e.els = p.tailCallOptimize(e.els)
		}
	case nBlock:
		if n := len(e.expressions); n > 0 {
			e.expressions[n-1] = p.tailCallOptimize(e.expressions[n-1])
		}
	}
	return e
}

func (p *parser) seekParent(n *node, s *slot) (*slot, error) {
	switch n.kind {
	case nName, nWildcard:
		s.level--
		if s.level == 0 {
			if n.ancestor == nil {
				n.ancestor = s
			} else {
				p.ancestry[s.index].slot.label = n.ancestor.label
				n.ancestor = s
			}
			n.tuple = true
		}
	case nParent:
		s.level++
	case nBlock:
		if len(n.expressions) > 0 {
			n.tuple = true
			var err error
			s, err = p.seekParent(n.expressions[len(n.expressions)-1], s)
			if err != nil {
				return nil, err
			}
		}
	case nPath:
		n.tuple = true
		index := len(n.steps) - 1
		var err error
		s, err = p.seekParent(n.steps[index], s)
		index--
		if err != nil {
			return nil, err
		}
		for s.level > 0 && index >= 0 {
			s, err = p.seekParent(n.steps[index], s)
			index--
			if err != nil {
				return nil, err
			}
		}
	default:
		return nil, errAt("S0217", n.pos, kindName(n.kind))
	}
	return s, nil
}

func pushAncestry(result, value *node) {
	if value.seekingParent != nil || value.kind == nParent {
		slots := value.seekingParent
		if value.kind == nParent {
			slots = append(slots, value.slot)
		}
		if result.seekingParent == nil {
			result.seekingParent = slots
		} else {
			result.seekingParent = append(result.seekingParent, slots...)
		}
	}
}

func (p *parser) resolveAncestry(path *node) error {
	index := len(path.steps) - 1
	last := path.steps[index]
	var slots []*slot
	if last.seekingParent != nil {
		slots = append(slots, last.seekingParent...)
	}
	if last.kind == nParent {
		slots = append(slots, last.slot)
	}
	for _, s := range slots {
		index = len(path.steps) - 2
		for s.level > 0 {
			if index < 0 {
				path.seekingParent = append(path.seekingParent, s)
				break
			}
			step := path.steps[index]
			index--
			for index >= 0 && step.hasFocus && path.steps[index].hasFocus {
				step = path.steps[index]
				index--
			}
			var err error
			s, err = p.seekParent(step, s)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *parser) process(expr *node) (*node, error) {
	p.depth++
	if p.depth > maxParseDepth*2 {
		return nil, errAt("S0201", expr.pos, "(nesting too deep)")
	}
	defer func() { p.depth-- }()
	var result *node
	var err error
	switch expr.kind {
	case nRawBinary:
		switch expr.value {
		case ".":
			lstep, err := p.process(expr.lhs)
			if err != nil {
				return nil, err
			}
			if lstep.kind == nPath {
				result = lstep
			} else {
				result = &node{kind: nPath, steps: []*node{lstep}, pos: lstep.pos}
			}
			if lstep.kind == nParent {
				result.seekingParent = []*slot{lstep.slot}
			}
			rest, err := p.process(expr.rhs)
			if err != nil {
				return nil, err
			}
			if rest.kind == nPath {
				result.steps = append(result.steps, rest.steps...)
			} else {
				if rest.predicate != nil {
					rest.stages = rest.predicate
					rest.predicate = nil
				}
				result.steps = append(result.steps, rest)
			}
			for _, step := range result.steps {
				if step.kind == nNumber || step.kind == nValue {
					e := errAt("S0213", step.pos, "")
					e.value, e.hasValue = step.lit, true
					return nil, e
				}
				if step.kind == nString {
					step.kind = nName
				}
			}
			for _, step := range result.steps {
				if step.keepArray {
					result.keepSingletonArray = true
				}
			}
			if first := result.steps[0]; first.kind == nArray {
				first.consarray = true
			}
			if last := result.steps[len(result.steps)-1]; last.kind == nArray {
				last.consarray = true
			}
			if err := p.resolveAncestry(result); err != nil {
				return nil, err
			}
		case "[":
			result, err = p.process(expr.lhs)
			if err != nil {
				return nil, err
			}
			step := result
			stages := &result.predicate
			if result.kind == nPath {
				step = result.steps[len(result.steps)-1]
				stages = &step.stages
			}
			if step.group != nil {
				return nil, errAt("S0209", expr.pos, "")
			}
			pred, err := p.process(expr.rhs)
			if err != nil {
				return nil, err
			}
			if pred.seekingParent != nil {
				for _, s := range pred.seekingParent {
					if s.level == 1 {
						if _, err := p.seekParent(step, s); err != nil {
							return nil, err
						}
					} else {
						s.level--
					}
				}
				pushAncestry(step, pred)
			}
			*stages = append(*stages, &stage{expr: pred, pos: expr.pos})
		case ":=":
			result = &node{kind: nBind, value: ":=", pos: expr.pos}
			if result.lhs, err = p.process(expr.lhs); err != nil {
				return nil, err
			}
			if result.rhs, err = p.process(expr.rhs); err != nil {
				return nil, err
			}
			pushAncestry(result, result.rhs)
		case "@":
			result, err = p.process(expr.lhs)
			if err != nil {
				return nil, err
			}
			step := result
			if result.kind == nPath {
				step = result.steps[len(result.steps)-1]
			}
			if step.stages != nil || step.predicate != nil {
				return nil, errAt("S0215", expr.pos, "")
			}
			if step.kind == nSort {
				return nil, errAt("S0216", expr.pos, "")
			}
			if expr.keepArray {
				step.keepArray = true
			}
			step.hasFocus = true
			step.focus = expr.rhs.value
			step.tuple = true
		case "#":
			result, err = p.process(expr.lhs)
			if err != nil {
				return nil, err
			}
			step := result
			if result.kind == nPath {
				step = result.steps[len(result.steps)-1]
			} else {
				result = &node{kind: nPath, steps: []*node{result}, pos: result.pos}
				if step.predicate != nil {
					step.stages = step.predicate
					step.predicate = nil
				}
			}
			if step.stages == nil {
				step.hasIndex = true
				step.index = expr.rhs.value
			} else {
				step.stages = append(step.stages, &stage{isIndex: true, name: expr.rhs.value, pos: expr.pos})
			}
			step.tuple = true
		case "~>":
			result = &node{kind: nApply, value: "~>", pos: expr.pos}
			if result.lhs, err = p.process(expr.lhs); err != nil {
				return nil, err
			}
			if result.rhs, err = p.process(expr.rhs); err != nil {
				return nil, err
			}
			result.keepArray = result.lhs.keepArray || result.rhs.keepArray
		default:
			result = &node{kind: nBinary, value: expr.value, op: opcodes[expr.value], pos: expr.pos}
			if result.lhs, err = p.process(expr.lhs); err != nil {
				return nil, err
			}
			if result.rhs, err = p.process(expr.rhs); err != nil {
				return nil, err
			}
			pushAncestry(result, result.lhs)
			pushAncestry(result, result.rhs)
		}
	case nRawGroup:
		result, err = p.process(expr.lhs)
		if err != nil {
			return nil, err
		}
		if result.group != nil {
			return nil, errAt("S0210", expr.pos, "")
		}
		g := &groupExpr{pos: expr.pos}
		for _, pr := range expr.pairs {
			k, err := p.process(pr[0])
			if err != nil {
				return nil, err
			}
			v, err := p.process(pr[1])
			if err != nil {
				return nil, err
			}
			g.pairs = append(g.pairs, [2]*node{k, v})
		}
		result.group = g
	case nRawSort:
		result, err = p.process(expr.lhs)
		if err != nil {
			return nil, err
		}
		if result.kind != nPath {
			result = &node{kind: nPath, steps: []*node{result}, pos: result.pos}
		}
		sortStep := &node{kind: nSort, pos: expr.pos}
		for _, t := range expr.rawTerms {
			e, err := p.process(t.expr)
			if err != nil {
				return nil, err
			}
			pushAncestry(sortStep, e)
			sortStep.terms = append(sortStep.terms, sortTerm{descending: t.descending, expr: e})
		}
		result.steps = append(result.steps, sortStep)
		if err := p.resolveAncestry(result); err != nil {
			return nil, err
		}
	case nRawUnary:
		switch expr.value {
		case "[":
			result = &node{kind: nArray, value: "[", pos: expr.pos}
			for _, item := range expr.expressions {
				v, err := p.process(item)
				if err != nil {
					return nil, err
				}
				pushAncestry(result, v)
				result.expressions = append(result.expressions, v)
			}
		case "{":
			result = &node{kind: nObject, value: "{", pos: expr.pos}
			g := &groupExpr{pos: expr.pos}
			for _, pr := range expr.pairs {
				k, err := p.process(pr[0])
				if err != nil {
					return nil, err
				}
				pushAncestry(result, k)
				v, err := p.process(pr[1])
				if err != nil {
					return nil, err
				}
				pushAncestry(result, v)
				g.pairs = append(g.pairs, [2]*node{k, v})
			}
			result.ownGroup = g
		default: // "-"
			operand, err := p.process(expr.expression)
			if err != nil {
				return nil, err
			}
			if operand.kind == nNumber {
				result = operand
				result.num = -result.num
				result.lit = result.num
			} else {
				result = &node{kind: nNegate, value: "-", pos: expr.pos, expression: operand}
				pushAncestry(result, operand)
			}
		}
	case nFunction, nPartial:
		result = &node{kind: expr.kind, value: expr.value, pos: expr.pos}
		for _, a := range expr.args {
			an, err := p.process(a)
			if err != nil {
				return nil, err
			}
			pushAncestry(result, an)
			result.args = append(result.args, an)
		}
		if result.procedure, err = p.process(expr.procedure); err != nil {
			return nil, err
		}
	case nLambda:
		result = &node{kind: nLambda, sig: expr.sig, pos: expr.pos}
		for _, a := range expr.args {
			result.params = append(result.params, a.value)
		}
		body, err := p.process(expr.body)
		if err != nil {
			return nil, err
		}
		result.body = p.tailCallOptimize(body)
	case nCondition:
		result = &node{kind: nCondition, pos: expr.pos}
		if result.cond, err = p.process(expr.cond); err != nil {
			return nil, err
		}
		pushAncestry(result, result.cond)
		if result.then, err = p.process(expr.then); err != nil {
			return nil, err
		}
		pushAncestry(result, result.then)
		if expr.els != nil {
			if result.els, err = p.process(expr.els); err != nil {
				return nil, err
			}
			pushAncestry(result, result.els)
		}
	case nTransform:
		result = &node{kind: nTransform, pos: expr.pos}
		if result.pattern, err = p.process(expr.pattern); err != nil {
			return nil, err
		}
		if result.update, err = p.process(expr.update); err != nil {
			return nil, err
		}
		if expr.del != nil {
			if result.del, err = p.process(expr.del); err != nil {
				return nil, err
			}
		}
	case nBlock:
		result = &node{kind: nBlock, pos: expr.pos}
		for _, item := range expr.expressions {
			part, err := p.process(item)
			if err != nil {
				return nil, err
			}
			pushAncestry(result, part)
			if part.consarray || (part.kind == nPath && part.steps[0].consarray) {
				result.consarray = true
			}
			result.expressions = append(result.expressions, part)
		}
		result.needsFrame = blockBinds(result.expressions)
	case nName:
		result = &node{kind: nPath, steps: []*node{expr}, pos: expr.pos}
		if expr.keepArray {
			result.keepSingletonArray = true
		}
	case nParent:
		result = &node{kind: nParent, pos: expr.pos, slot: &slot{label: "!" + strconv.Itoa(p.labels), level: 1, index: len(p.ancestry)}}
		p.labels++
		p.ancestry = append(p.ancestry, result)
	case nString, nNumber, nValue, nWildcard, nDescendant, nVariable, nRegex:
		result = expr
	case nOperator:
		if expr.value == "and" || expr.value == "or" || expr.value == "in" {
			expr.kind = nName
			return p.process(expr)
		} else if expr.value == "?" {
			result = expr
		} else {
			return nil, errAt("S0201", expr.pos, expr.value)
		}
	case nEnd:
		return nil, errAt("S0207", expr.pos, "")
	default:
		return nil, errAt("S0206", expr.pos, expr.value)
	}
	if expr.keepArray {
		result.keepArray = true
	}
	return result, nil
}

// blockBinds reports whether evaluating exprs can bind a variable in the
// enclosing block's frame (a := not nested in another block or lambda), so
// blocks that bind nothing can skip allocating a frame.
func blockBinds(exprs []*node) bool {
	for _, e := range exprs {
		if bindsInScope(e) {
			return true
		}
	}
	return false
}

func bindsInScope(n *node) bool {
	if n == nil {
		return false
	}
	switch n.kind {
	case nBind:
		return true
	case nBlock, nLambda:
		return false
	case nFunction, nPartial:
		// $eval can bind in the caller's scope
		if n.procedure != nil && n.procedure.kind == nVariable && n.procedure.value == "eval" {
			return true
		}
	}
	for _, c := range []*node{n.lhs, n.rhs, n.expression, n.cond, n.then, n.els, n.procedure, n.pattern, n.update, n.del} {
		if bindsInScope(c) {
			return true
		}
	}
	for _, l := range [][]*node{n.expressions, n.steps, n.args} {
		for _, c := range l {
			if bindsInScope(c) {
				return true
			}
		}
	}
	for _, pr := range n.pairs {
		if bindsInScope(pr[0]) || bindsInScope(pr[1]) {
			return true
		}
	}
	for _, st := range append(n.predicate, n.stages...) {
		if st.expr != nil && bindsInScope(st.expr) {
			return true
		}
	}
	if n.group != nil {
		for _, pr := range n.group.pairs {
			if bindsInScope(pr[0]) || bindsInScope(pr[1]) {
				return true
			}
		}
	}
	for _, t := range n.terms {
		if bindsInScope(t.expr) {
			return true
		}
	}
	return false
}
