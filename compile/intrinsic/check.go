package intrinsic

import (
	"fmt"
	"github.com/stepstream/express/compile/diag"
	"strings"
)

// checker resolves functions, checks arities and argument types, and builds
// the evaluation nodes, folding calls whose arguments are all literals.
type checker struct {
	src  string
	errs Errors
}

func (c *checker) errAt(pos int, format string, args ...any) {
	c.errs = append(c.errs, &SyntaxError{Src: c.src, Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// staticKind is what an argument can be at run time, as far as the
// expression tells.
func staticKind(e *expr) kind {
	switch e.kind {
	case exString:
		return kString
	case exNumber:
		return kNumber
	case exBool:
		return kBool
	case exNull:
		return kNull
	case exCall:
		if fd := lookup(e.name); fd != nil {
			return fd.result
		}
	}
	return kAny
}

func describeExpr(e *expr) string {
	switch e.kind {
	case exString:
		return "the string literal " + e.text
	case exNumber:
		return "the number " + e.text
	case exBool, exNull:
		return e.text
	case exCall:
		if fd := lookup(e.name); fd != nil {
			return "a call to " + e.name + ", which returns " + fd.result.String()
		}
	}
	return e.text
}

func (c *checker) check(e *expr) node {
	switch e.kind {
	case exString, exNumber, exBool, exNull:
		return &litNode{v: e.val}
	case exPath:
		return &pathNode{p: e.path}
	}
	before := len(c.errs)
	fd := lookup(e.name)
	if fd == nil {
		c.errAt(e.pos, "unknown function %s%s", e.name, suggest(e.name))
	} else if len(e.args) < fd.min || (fd.max >= 0 && len(e.args) > fd.max) {
		c.errAt(e.pos, "%s takes %s, but %d %s given", fd.name, fd.arity(), len(e.args), wasWere(len(e.args)))
	}
	args := make([]node, len(e.args))
	for i, a := range e.args {
		args[i] = c.check(a)
		if fd == nil {
			continue
		}
		want := fd.param(i)
		if staticKind(a)&want == 0 {
			c.errAt(a.pos, "argument %d of %s must be %s, but it is %s", i+1, fd.name, want, describeExpr(a))
		}
	}
	if len(c.errs) > before {
		return nil
	}
	var n node
	switch fd {
	case fnFormat:
		n = c.format(e, args)
	case fnArray:
		n = &arrayNode{args: args}
	case fnHash:
		if a := e.args[1]; a.kind == exString && newHash(a.val.(string)) == nil {
			c.errAt(a.pos, "unknown hashing algorithm %s: use one of %s", a.text, strings.Join(hashAlgorithms, ", "))
		}
	case fnJSONMerge:
		if a := e.args[2]; a.kind == exBool && a.val.(bool) {
			c.errAt(a.pos, "States.JsonMerge supports only shallow merging: the third argument must be false")
		}
	}
	if len(c.errs) > before {
		return nil
	}
	if n == nil {
		switch len(args) {
		case 0:
			n = &call0{fn: fd}
		case 1:
			n = &call1{fn: fd, a: args[0]}
		case 2:
			n = &call2{fn: fd, a: args[0], b: args[1]}
		default:
			n = &call3{fn: fd, a: args[0], b: args[1], c: args[2]}
		}
	}
	return c.fold(e, fd, n, args)
}

// fold evaluates a call whose arguments are all literals. A failure is a
// compile error; a scalar result replaces the call.
func (c *checker) fold(e *expr, fd *funcDef, n node, args []node) node {
	if fd.impure || (fd == fnMathRandom && len(args) < 3) {
		return n
	}
	for _, a := range args {
		if _, ok := a.(*litNode); !ok {
			return n
		}
	}
	tmp := &Func{src: e.text, root: n}
	v, err := tmp.Eval(nil, nil)
	if err != nil {
		msg := err.Error()
		if i := strings.Index(msg, "had the following error: "); i >= 0 {
			msg = msg[i+len("had the following error: "):]
		}
		c.errAt(e.pos, "%s", msg)
		return nil
	}
	if kindOf(v)&(kString|kNumber|kBool|kNull) != 0 {
		return &litNode{v: v}
	}
	return n
}

func (c *checker) format(e *expr, args []node) node {
	n := &formatNode{args: args[1:]}
	t := e.args[0]
	if t.kind != exString {
		n.tmpl = args[0]
		return n
	}
	parts, msg := splitTemplate(t.raw)
	if msg != "" {
		c.errAt(t.pos, "invalid States.Format template %s: %s Write a literal brace as \\{ or \\}", t.text, strings.TrimSuffix(msg, "."))
		return nil
	}
	if got := len(e.args) - 1; got != len(parts)-1 {
		c.errAt(e.pos, "the States.Format template has %d placeholder%s ({}) but %d argument%s follow%s it", len(parts)-1, plural(len(parts)-1), got, plural(got), map[bool]string{true: "s", false: ""}[got == 1])
		return nil
	}
	n.parts = parts
	n.setFields()
	return n
}

func wasWere(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

// suggest proposes the known function closest to name.
func suggest(name string) string {
	best, bestD := "", 4
	for _, fd := range allFuncs {
		if strings.EqualFold(fd.name, name) {
			return fmt.Sprintf(" (did you mean %s? function names are case-sensitive)", fd.name)
		}
		if d := diag.Distance(strings.ToLower(name), strings.ToLower(fd.name)); d < bestD {
			best, bestD = fd.name, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return ""
}
