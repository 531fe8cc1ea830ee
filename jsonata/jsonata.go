// Package jsonata implements the JSONata 2.x query and transformation
// language (https://jsonata.org), following the reference JavaScript
// implementation (npm jsonata 2.x): the same operators, path semantics,
// standard library and error codes.
//
// An expression is parsed and checked once by Compile; the resulting *Expr
// is immutable and may be evaluated by many goroutines at once. Values are
// JSON as decoded by github.com/ohler55/ojg: nil, bool, int64, float64,
// string, []any and map[string]any (any Go integer or float type is
// accepted as a number). Numbers computed by expressions are float64.
//
// JSONata distinguishes "undefined" (no value) from null: Eval returns the
// Undefined sentinel for the former and nil for the latter. Results never
// contain engine-internal types, except that a function-valued result is
// returned as a *Function, which callers expecting JSON should reject.
//
// Evaluation is bounded: a depth limit (D1011), a step budget (D1014) and
// an optional deadline (D1012) stop runaway expressions, and strings and
// ranges have size limits, so hostile expressions or input cannot hang or
// exhaust a worker. Env.Funcs adds Go functions; StepFunctionsFuncs returns
// the functions AWS Step Functions adds to JSONata.
//
// Objects read from map[string]any have no key order; where JSONata
// exposes key order ($keys, $each, $spread, $string, wildcards) such
// objects are iterated in sorted key order. Objects built by the
// expression keep insertion order, as in the reference.
package jsonata

import (
	"fmt"
	"time"
)

// Default limits applied when the corresponding Env field is zero.
const (
	// DefaultMaxDepth bounds the nesting of evaluation (roughly the
	// reference's evaluate() recursion), i.e. non-tail recursion.
	DefaultMaxDepth = 1000
	// DefaultMaxSteps bounds the number of evaluation steps (node
	// evaluations plus charged work such as range elements).
	DefaultMaxSteps = 10_000_000
)

// Vars supplies variable bindings ($name) to an evaluation. Lookup
// receives the name without the '$'. It may be called many times per
// evaluation and from several goroutines when an Env is shared, so it
// should be cheap and safe for concurrent use.
type Vars interface {
	Lookup(name string) (any, bool)
}

// MapVars is a Vars backed by a map.
type MapVars map[string]any

// Lookup implements Vars.
func (m MapVars) Lookup(name string) (any, bool) {
	v, ok := m[name]
	return v, ok
}

// GoFunc implements a function registered through Env.Funcs. It receives
// plain JSON values; a missing optional argument is Undefined. Returning
// Undefined means "no value". A returned *Error is passed through as is;
// any other error becomes a D3137 error carrying its text.
type GoFunc func(args []any) (any, error)

// Func is a Go function callable from expressions. Build it with NewFunc,
// which parses the signature once. The zero Func, registered under the
// name of a built-in, hides that built-in (the function becomes
// undefined, so calling it fails with T1006).
type Func struct {
	f *Function
}

// NewFunc makes a Func. signature is a JSONata function signature such as
// "<s-n?:s>" (see the JSONata documentation); arguments are checked and
// coerced against it before fn is called. An empty signature accepts any
// arguments unchecked.
func NewFunc(name, signature string, fn GoFunc) (Func, error) {
	f := &Function{kind: fnGo, gofn: fn, name: name}
	if signature != "" {
		s, err := parseSignature(signature)
		if err != nil {
			return Func{}, err
		}
		f.sig = s
	}
	return Func{f: f}, nil
}

// Env configures one evaluation. The zero value (or a nil *Env) is valid.
// An Env is only read by Eval, so one Env may be shared by concurrent
// evaluations as long as nobody modifies it meanwhile.
type Env struct {
	// Vars binds extra variables; may be nil. Bindings made by the
	// expression itself shadow them.
	Vars Vars
	// Funcs adds (or hides, see Func) functions by name, without the '$'.
	// They shadow the built-ins; variables shadow them.
	Funcs map[string]Func
	// MaxDepth limits evaluation depth; 0 means DefaultMaxDepth.
	MaxDepth int
	// MaxSteps limits evaluation steps; 0 means DefaultMaxSteps.
	MaxSteps int
	// Deadline, if not zero, aborts evaluation after this time (D1012).
	Deadline time.Time
	// Now is the value of $now() and $millis() for this evaluation; zero
	// means the time Eval is called.
	Now time.Time
	// Budget, if not nil, is charged with the bytes of the strings, arrays
	// and objects the evaluation builds; when it refuses a charge the
	// evaluation stops with a D1016 error. One Budget may bound many
	// evaluations (all those of a workflow execution).
	Budget Budget
}

// Budget bounds the bytes of values that evaluations build: an estimate
// counted where strings, arrays and objects are created (concatenation,
// $string, $join, $pad, $replace, $match, $split, array and object
// constructors, path results, $map, $filter, $sort, ...). Evaluations add
// small charges up and hand them over in chunks of a few KiB, and charge a
// large value before building it.
type Budget interface {
	// Charge records n more bytes. A non-nil error ends the evaluation
	// with a D1016 error whose message is the error's text. A negative n
	// gives back bytes reserved before a search whose allocations cannot
	// be counted as they happen.
	Charge(n int) error
}

// Expr is a compiled expression. It is immutable and safe for concurrent
// use by any number of goroutines.
type Expr struct {
	src  string
	root *node
}

// Compile parses and checks an expression. The error, if any, is an
// *Error with an S0xxx code (or T/D codes the reference also raises at
// parse time, e.g. for bad signatures).
func Compile(expr string) (e *Expr, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, internalError(r)
		}
	}()
	root, err := parse(expr)
	if err != nil {
		if je, ok := err.(*Error); ok {
			return nil, je.finish()
		}
		return nil, err
	}
	return &Expr{src: expr, root: root}, nil
}

// MustCompile is Compile that panics on error, for expressions known at
// build time.
func MustCompile(expr string) *Expr {
	e, err := Compile(expr)
	if err != nil {
		panic(err)
	}
	return e
}

// String returns the source text of the expression.
func (e *Expr) String() string { return e.src }

func internalError(r any) *Error {
	e := errVal("U1000", fmt.Sprint(r))
	return e.finish()
}

// Eval evaluates the expression against input (JSON values; Undefined
// for no input). env may be nil. It returns Undefined when the result is
// undefined; otherwise plain JSON values (arrays and objects the
// expression built are freshly allocated and owned by the caller; parts
// of input may be returned as they are, so treat results as read-only if
// input is shared). Input is never modified. Errors are *Error.
func (e *Expr) Eval(input any, env *Env) (result any, err error) {
	c := &evalCtx{maxDepth: DefaultMaxDepth, maxSteps: DefaultMaxSteps}
	if env != nil {
		if env.MaxDepth > 0 {
			c.maxDepth = env.MaxDepth
		}
		if env.MaxSteps > 0 {
			c.maxSteps = env.MaxSteps
		}
		if !env.Deadline.IsZero() {
			c.deadline, c.hasDeadline = env.Deadline, true
		}
		c.now = env.Now
		c.vars = env.Vars
		c.funcs = env.Funcs
		c.budget = env.Budget
	}
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, internalError(r)
		}
	}()
	if arr, ok := input.([]any); ok {
		// a JSON array input is treated as a single value, not a sequence
		input = &seq{isSeq: true, outerWrapper: true, items: []any{arr}}
	}
	c.rootNames[0] = "$"
	c.rootVals[0] = input
	c.root.names = c.rootNames[:]
	c.root.vals = c.rootVals[:]
	c.root.shared = true
	res, err := c.eval(e.root, input, &c.root)
	if ferr := c.flushBuilt(); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		if je, ok := err.(*Error); ok {
			return nil, je.finish()
		}
		return nil, err
	}
	return toJSON(res), nil
}

func (c *evalCtx) timestamp() time.Time {
	if c.now.IsZero() {
		c.now = time.Now()
	}
	return c.now
}
