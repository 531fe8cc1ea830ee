// Package intrinsic compiles the intrinsic functions of the Amazon States
// Language (States.Format, States.Array, States.MathAdd, ...) that appear as
// the values of ".$" fields in JSONPath states.
//
// An expression is parsed and checked once by Compile: function names,
// argument counts, the types of literal arguments and of nested calls'
// results, string escapes, Format templates and every path argument. Calls
// whose arguments are all literals are evaluated at compile time. The result
// is an immutable tree of small nodes; Eval walks it per record without
// reflection, and States.Format writes into a buffer sized ahead, so that a
// typical call allocates only its result.
//
// Run-time failures (a path argument that selects nothing, a value of the
// wrong type, bounds AWS rejects) are *express.Error values named
// States.Runtime, worded as AWS words them:
//
//	The function 'States.Format('{}', $.nope)' had the following error:
//	The JsonPath argument for the field '$.nope' could not be found in the input '{"other":1}'
//
// preceded, when a scope is given, by AWS's "An error occurred while
// executing the state 'X' (entered at the event id #N). ".
package intrinsic

import (
	"fmt"
	"strings"

	"github.com/stepstream/express/express"
)

// IsIntrinsic reports whether a ".$" field value is an intrinsic call (starts
// with "States." and has a '('). Anything else is a path.
func IsIntrinsic(s string) bool {
	return strings.HasPrefix(s, "States.") && strings.IndexByte(s, '(') >= 0
}

// Func is a compiled intrinsic function call. It is immutable and safe for
// concurrent use.
type Func struct {
	src      string
	root     node
	usesRoot bool
}

// UsesRoot reports whether an argument, at any depth, is "$" itself: the
// whole input, which the result may then contain.
func (f *Func) UsesRoot() bool { return f.usesRoot }

// usesRoot reports whether e or an argument of it is the path "$".
func usesRoot(e *expr) bool {
	if e.path != nil && e.path.IsRoot() {
		return true
	}
	for _, a := range e.args {
		if usesRoot(a) {
			return true
		}
	}
	return false
}

// String returns the expression as written.
func (f *Func) String() string { return f.src }

// Compile parses an intrinsic call expression such as
//
//	States.Format('{} is {}', $.name, States.ArrayLength($.items))
//
// and checks it. The error, when not nil, is an Errors value listing every
// problem found, each with its column in src.
func Compile(src string) (*Func, error) {
	p := &parser{src: src}
	root, err := p.parseTop()
	if err != nil {
		return nil, Errors{err}
	}
	c := &checker{src: src}
	n := c.check(root)
	if len(c.errs) > 0 || n == nil {
		return nil, c.errs
	}
	return &Func{src: src, root: n, usesRoot: usesRoot(root)}, nil
}

// MustCompile is Compile for expressions known to be valid; it panics
// otherwise.
func MustCompile(src string) *Func {
	f, err := Compile(src)
	if err != nil {
		panic(err)
	}
	return f
}

// Eval evaluates the call. in is the JSON value "$" refers to; s gives "$$"
// (the context object) and "$name" variables, and the state name for error
// causes. s may be nil, in which case context and variable paths find
// nothing. The result is a fresh value or a part of in, which the caller must
// not modify. A non-nil error is an *express.Error named States.Runtime.
func (f *Func) Eval(s *express.Scope, in any) (v any, err error) {
	if fn, ok := f.root.(*formatNode); ok && fn.fields != nil {
		// no deferred recover: evalFields only looks up fields and copies
		// strings
		if v, e, ok := fn.evalFields(f, s, in); ok {
			if e != nil {
				return nil, e
			}
			return v, nil
		}
	}
	return f.eval(s, in)
}

// eval is Eval with panics turned into States.Runtime errors.
func (f *Func) eval(s *express.Scope, in any) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, f.fail(s, fmt.Sprintf("internal error: %v", p))
		}
	}()
	v, e := f.root.eval(f, s, in)
	if e != nil {
		return nil, e
	}
	return v, nil
}

// fail builds the run-time error for this function, with AWS's envelope.
func (f *Func) fail(s *express.Scope, msg string) *express.Error {
	cause := "The function '" + f.src + "' had the following error: " + msg
	if s == nil {
		return express.NewError(express.ErrRuntime, cause)
	}
	return s.Runtime("%s", cause)
}

// SyntaxError is one problem of an intrinsic expression found by Compile.
type SyntaxError struct {
	Src string
	Pos int // byte offset in Src
	Msg string
}

// Column is the 1-based column of the problem, counting runes.
func (e *SyntaxError) Column() int {
	if e.Pos > len(e.Src) {
		return len([]rune(e.Src)) + 1
	}
	return len([]rune(e.Src[:e.Pos])) + 1
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("column %d: %s", e.Column(), e.Msg)
}

// Snippet renders the expression with a caret under the problem.
func (e *SyntaxError) Snippet() string {
	return e.Src + "\n" + strings.Repeat(" ", e.Column()-1) + "^"
}

// Errors is every problem Compile found in an expression. It is an error.
type Errors []*SyntaxError

func (es Errors) Error() string {
	if len(es) == 0 {
		return "no errors"
	}
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}
