package jsonata

import "strings"

// signature is a parsed function signature such as <s-nn?:s>. The
// reference builds a regular expression over one type letter per argument;
// we match the same language with a small backtracking matcher, which
// needs no allocation per call.
type signature struct {
	def    string
	params []sigParam
}

type sigParam struct {
	allowed        string // type letters this parameter accepts ('m' = missing)
	quant          byte   // 0, '?' or '+'
	typ            string // the declared type ("a", "(sf)", ...)
	context        bool   // '-': use the context value when the argument is absent
	contextAllowed string
	subtype        string // array or function type parameter
}

var arrayTypeNames = map[string]string{
	"a": "arrays", "b": "booleans", "f": "functions", "n": "numbers", "o": "objects", "s": "strings",
}

func parseSignature(sig string) (*signature, error) {
	s := &signature{def: sig}
	var param sigParam
	havePrev := false
	push := func() {
		s.params = append(s.params, param)
		param = sigParam{}
		havePrev = true
	}
	prev := func() *sigParam {
		if !havePrev {
			return &param // the reference mutates an empty placeholder here
		}
		return &s.params[len(s.params)-1]
	}
	findClosing := func(start int, open, close byte) int {
		depth := 1
		pos := start
		for pos < len(sig) {
			pos++
			if pos >= len(sig) {
				break
			}
			c := sig[pos]
			if c == close {
				depth--
				if depth == 0 {
					break
				}
			} else if c == open {
				depth++
			}
		}
		return pos
	}
	for pos := 1; pos < len(sig); pos++ {
		c := sig[pos]
		if c == ':' {
			break
		}
		switch c {
		case 's', 'n', 'b', 'l', 'o', 'a', 'f', 'j', 'x':
			param.allowed = signatureAllowed[c]
			param.typ = string(c)
			push()
		case '-':
			p := prev()
			p.context = true
			p.contextAllowed = p.allowed
			p.quant = '?'
		case '?', '+':
			p := prev()
			p.quant = c
		case '(':
			end := findClosing(pos, '(', ')')
			if end > len(sig) {
				end = len(sig)
			}
			choice := sig[pos+1 : min(end, len(sig))]
			if strings.Contains(choice, "<") {
				e := errAt("S0402", pos, "")
				e.value, e.hasValue = choice, true
				return nil, e
			}
			param.allowed = choice + "m"
			param.typ = "(" + choice + ")"
			pos = end
			push()
		case '<':
			p := prev()
			if p.typ == "a" || p.typ == "f" {
				end := findClosing(pos, '<', '>')
				if end > len(sig) {
					end = len(sig)
				}
				p.subtype = sig[pos+1 : min(end, len(sig))]
				pos = end
			} else {
				e := errAt("S0401", pos, "")
				e.value, e.hasValue = p.typ, true
				return nil, e
			}
		}
	}
	return s, nil
}

// match finds, with the reference regex's greedy backtracking order, how
// many argument letters each parameter consumes. With anchored false it
// matches a prefix (used to locate the bad argument).
func (s *signature) match(params []sigParam, syms []byte, counts []int, anchored bool) (int, bool) {
	var rec func(pi, si int) (int, bool)
	rec = func(pi, si int) (int, bool) {
		if pi == len(params) {
			if anchored && si != len(syms) {
				return 0, false
			}
			return si, true
		}
		p := &params[pi]
		ok := func(i int) bool { return i < len(syms) && strings.IndexByte(p.allowed, syms[i]) >= 0 }
		switch p.quant {
		case '?':
			if ok(si) {
				counts[pi] = 1
				if n, good := rec(pi+1, si+1); good {
					return n, true
				}
			}
			counts[pi] = 0
			return rec(pi+1, si)
		case '+':
			n := 0
			for ok(si + n) {
				n++
			}
			for ; n >= 1; n-- {
				counts[pi] = n
				if r, good := rec(pi+1, si+n); good {
					return r, true
				}
			}
			return 0, false
		default:
			if !ok(si) {
				return 0, false
			}
			counts[pi] = 1
			return rec(pi+1, si+1)
		}
	}
	return rec(0, 0)
}

// validate checks args against the signature and returns the arguments to
// pass: context values substituted, singletons wrapped for array params.
func (s *signature) validate(args []any, context any) ([]any, error) {
	var symBuf [8]byte
	syms := symBuf[:0]
	for _, a := range args {
		syms = append(syms, typeSymbol(a))
	}
	var cntBuf [8]int
	counts := cntBuf[:0]
	if len(s.params) > len(cntBuf) {
		counts = make([]int, len(s.params))
	} else {
		counts = cntBuf[:len(s.params)]
	}
	if _, ok := s.match(s.params, syms, counts, true); !ok {
		return nil, s.validationError(args, syms)
	}
	// Common case: one argument per parameter, no context value to insert
	// and no singleton to wrap in an array: the arguments pass unchanged.
	if len(args) == len(s.params) {
		same := true
		for pi := range s.params {
			if counts[pi] != 1 || (s.params[pi].typ == "a" && syms[pi] != 'a') || (s.params[pi].typ == "a" && s.params[pi].subtype != "") {
				same = false
				break
			}
		}
		if same {
			return args, nil
		}
	}
	out := make([]any, 0, len(s.params)+len(args))
	argIndex := 0
	for pi := range s.params {
		p := &s.params[pi]
		n := counts[pi]
		if n == 0 {
			if p.context {
				if strings.IndexByte(p.contextAllowed, typeSymbol(context)) >= 0 {
					out = append(out, context)
				} else {
					e := errVal("T0411", context)
					e.index = argIndex + 1
					return nil, e
				}
			} else {
				if argIndex < len(args) {
					out = append(out, args[argIndex])
				} else {
					out = append(out, undef)
				}
				argIndex++
			}
			continue
		}
		for k := 0; k < n; k++ {
			arg := arg(args, argIndex)
			single := byte('m')
			if argIndex < len(syms) {
				single = syms[argIndex]
			}
			if p.typ == "a" {
				if single == 'm' {
					arg = undef
				} else {
					arrayOK := true
					if p.subtype != "" {
						if single != 'a' && (n != 1 || string(single) != p.subtype) {
							arrayOK = false
						} else if single == 'a' {
							items, _ := asArray(arg)
							if len(items) > 0 {
								itemType := typeSymbol(items[0])
								if itemType != p.subtype[0] {
									arrayOK = false
								} else {
									for _, it := range items {
										if typeSymbol(it) != itemType {
											arrayOK = false
											break
										}
									}
								}
							}
						}
					}
					if !arrayOK {
						e := errVal("T0412", arg)
						e.index = argIndex + 1
						e.typeName = arrayTypeNames[p.subtype]
						return nil, e
					}
					if single != 'a' {
						arg = []any{arg}
					}
				}
			}
			out = append(out, arg)
			argIndex++
		}
	}
	return out, nil
}

func (s *signature) validationError(args []any, syms []byte) error {
	goodTo := 0
	counts := make([]int, len(s.params))
	for i := range s.params {
		n, ok := s.match(s.params[:i+1], syms, counts, false)
		if !ok {
			break
		}
		goodTo = n
	}
	var v any = undef
	if goodTo < len(args) {
		v = args[goodTo]
	}
	e := errVal("T0410", v)
	e.index = goodTo + 1
	return e
}

// signatureAllowed maps a signature's type letter to the value types it
// accepts (m: missing).
var signatureAllowed = map[byte]string{
	's': "sm", 'n': "nm", 'b': "bm", 'l': "lm", 'o': "om",
	'a': "asnblfom", 'f': "f", 'j': "asnblom", 'x': "asnblfom",
}
