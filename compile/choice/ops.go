package choice

import (
	"cmp"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stepstream/express/aslpath"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

type opKind uint8

const (
	kString opKind = iota
	kNumeric
	kBoolean
	kTimestamp
	kMatches
	kIsNull
	kIsPresent
	kIsNumeric
	kIsString
	kIsBoolean
	kIsTimestamp
)

// relation is what a comparison tests of compare(variable, operand).
type relation uint8

const (
	relEq relation = iota
	relLt
	relGt
	relLe
	relGe
)

// unordered is the result of comparing values that have no order (NaN).
const unordered = 2

func (r relation) holds(c int) bool {
	switch r {
	case relEq:
		return c == 0
	case relLt:
		return c == -1
	case relGt:
		return c == 1
	case relLe:
		return c == -1 || c == 0
	case relGe:
		return c == 1 || c == 0
	}
	return false
}

type operator struct {
	kind opKind
	rel  relation
	path bool // the operand is a path to the value to compare with
}

// operators is every comparison operator of JSONPath Choice rules, by name.
// It is built once and only read.
var operators = func() map[string]operator {
	m := map[string]operator{
		"StringMatches": {kind: kMatches},
		"IsNull":        {kind: kIsNull},
		"IsPresent":     {kind: kIsPresent},
		"IsNumeric":     {kind: kIsNumeric},
		"IsString":      {kind: kIsString},
		"IsBoolean":     {kind: kIsBoolean},
		"IsTimestamp":   {kind: kIsTimestamp},
		"BooleanEquals": {kind: kBoolean},
	}
	rels := map[string]relation{"Equals": relEq, "LessThan": relLt, "GreaterThan": relGt, "LessThanEquals": relLe, "GreaterThanEquals": relGe}
	for prefix, k := range map[string]opKind{"String": kString, "Numeric": kNumeric, "Timestamp": kTimestamp} {
		for suffix, r := range rels {
			m[prefix+suffix] = operator{kind: k, rel: r}
		}
	}
	paths := map[string]operator{}
	for name, op := range m {
		if op.kind <= kTimestamp {
			op.path = true
			paths[name+"Path"] = op
		}
	}
	for name, op := range paths {
		m[name] = op
	}
	return m
}()

// fieldNames is every field a rule may have, for spelling suggestions.
var fieldNames = func() []string {
	names := []string{"Variable", "And", "Or", "Not", "Next", "Comment", "Assign"}
	for k := range operators {
		names = append(names, k)
	}
	return names
}()

// comparison compiles one operator with its operand. vp may be nil when the
// Variable was bad; the operand is still checked so that its problems are
// reported too.
func (c *compiler) comparison(name string, op operator, operand any, ptr string, vp *aslpath.Path) Cond {
	if op.path {
		rp := c.refPath(operand, ptr, name)
		if rp == nil || vp == nil {
			return nil
		}
		return pathComparison(op, vp, rp)
	}
	switch op.kind {
	case kString:
		lit, ok := operand.(string)
		if !ok {
			c.problem(ptr, "%s needs a string to compare with, not %s (to compare with a value from the input, use %sPath)", name, describe(operand), name)
			return nil
		}
		if vp == nil {
			return nil
		}
		return stringComparison(op.rel, vp, lit)
	case kNumeric:
		lit, ok := toNumber(operand)
		if !ok {
			c.problem(ptr, "%s needs a number to compare with, not %s (to compare with a value from the input, use %sPath)", name, describe(operand), name)
			return nil
		}
		if vp == nil {
			return nil
		}
		return numericComparison(op.rel, vp, lit)
	case kBoolean:
		lit, ok := operand.(bool)
		if !ok {
			c.problem(ptr, "%s needs true or false, not %s (to compare with a value from the input, use %sPath)", name, describe(operand), name)
			return nil
		}
		if vp == nil {
			return nil
		}
		return func(s *express.Scope, in any) (bool, error) {
			v, found := vp.Get(s, in)
			if !found {
				return false, invalidPath(s, vp)
			}
			b, ok := v.(bool)
			return ok && b == lit, nil
		}
	case kTimestamp:
		str, ok := operand.(string)
		if !ok {
			c.problem(ptr, "%s needs a timestamp string such as \"2016-03-14T01:59:00Z\", not %s", name, describe(operand))
			return nil
		}
		lit, ok := parseTimestamp(str)
		if !ok {
			c.problem(ptr, "%s: %q is not an RFC 3339 timestamp: write it like \"2016-03-14T01:59:00Z\" or \"2016-03-14T01:59:00.123+02:00\" (uppercase T, and Z or a ±hh:mm offset)", name, str)
			return nil
		}
		if vp == nil {
			return nil
		}
		return func(s *express.Scope, in any) (bool, error) {
			v, found := vp.Get(s, in)
			if !found {
				return false, invalidPath(s, vp)
			}
			str, ok := v.(string)
			if !ok {
				return false, nil
			}
			t, ok := parseTimestamp(str)
			return ok && op.rel.holds(t.compare(lit)), nil
		}
	case kMatches:
		str, ok := operand.(string)
		if !ok {
			c.problem(ptr, "StringMatches needs a pattern string, not %s: * matches any run of characters, \\* a literal * and \\\\ a literal backslash (in JSON text, \"\\\\*\" and \"\\\\\\\\\")", describe(operand))
			return nil
		}
		if vp == nil {
			return nil
		}
		pat := compilePattern(str)
		return func(s *express.Scope, in any) (bool, error) {
			v, found := vp.Get(s, in)
			if !found {
				return false, invalidPath(s, vp)
			}
			str, ok := v.(string)
			return ok && pat.match(str), nil
		}
	}
	// The Is... operators.
	want, ok := operand.(bool)
	if !ok {
		c.problem(ptr, "%s needs true or false, not %s", name, describe(operand))
		return nil
	}
	if vp == nil {
		return nil
	}
	if op.kind == kIsPresent {
		return func(s *express.Scope, in any) (bool, error) {
			_, found := vp.Get(s, in)
			return found == want, nil
		}
	}
	var is func(any) bool
	switch op.kind {
	case kIsNull:
		is = func(v any) bool { return v == nil }
	case kIsNumeric:
		is = func(v any) bool { _, ok := toNumber(v); return ok }
	case kIsString:
		is = func(v any) bool { _, ok := v.(string); return ok }
	case kIsBoolean:
		is = func(v any) bool { _, ok := v.(bool); return ok }
	case kIsTimestamp:
		is = func(v any) bool {
			s, ok := v.(string)
			if !ok {
				return false
			}
			_, ok = parseTimestamp(s)
			return ok
		}
	}
	return func(s *express.Scope, in any) (bool, error) {
		v, found := vp.Get(s, in)
		if !found {
			return false, invalidPath(s, vp)
		}
		return is(v) == want, nil
	}
}

func stringComparison(rel relation, vp *aslpath.Path, lit string) Cond {
	if rel == relEq {
		key, hash, hint, isField := vp.Field()
		return func(s *express.Scope, in any) (bool, error) {
			var v any
			var found bool
			if o, ok := in.(*jsonv.Object); ok && isField {
				v, found = o.GetHint(key, hash, hint)
			} else {
				v, found = vp.Get(s, in)
			}
			if !found {
				return false, invalidPath(s, vp)
			}
			str, ok := v.(string)
			return ok && str == lit, nil
		}
	}
	return func(s *express.Scope, in any) (bool, error) {
		v, found := vp.Get(s, in)
		if !found {
			return false, invalidPath(s, vp)
		}
		str, ok := v.(string)
		return ok && rel.holds(compareStrings(str, lit)), nil
	}
}

// numericComparison compiles a Numeric operator with a literal. A float64
// input (the common case) is compared with a float64 literal directly when
// the literal is exactly representable as one, with no detour through
// compareNumbers.
func numericComparison(rel relation, vp *aslpath.Path, lit number) Cond {
	f, exact := lit.f, !lit.isInt
	if lit.isInt && lit.i >= -1<<53 && lit.i <= 1<<53 {
		f, exact = float64(lit.i), true
	}
	slow := func(v any) bool {
		n, ok := toNumber(v)
		return ok && rel.holds(compareNumbers(n, lit))
	}
	if !exact {
		return func(s *express.Scope, in any) (bool, error) {
			v, found := vp.Get(s, in)
			if !found {
				return false, invalidPath(s, vp)
			}
			return slow(v), nil
		}
	}
	// "$.name" on an *jsonv.Object (the usual input) is looked up here,
	// and the relation is a switch: no calls but the rule's own (the
	// lookup is written out, as in stringComparison: a helper would cost
	// 180 against the inliner's budget of 80, and be a call)
	key, hash, hint, isField := vp.Field()
	return func(s *express.Scope, in any) (bool, error) {
		var v any
		var found bool
		if o, ok := in.(*jsonv.Object); ok && isField {
			v, found = o.GetHint(key, hash, hint)
		} else {
			v, found = vp.Get(s, in)
		}
		if !found {
			return false, invalidPath(s, vp)
		}
		if x, ok := v.(float64); ok {
			switch rel {
			case relEq:
				return x == f, nil
			case relLt:
				return x < f, nil
			case relGt:
				return x > f, nil
			case relLe:
				return x <= f, nil
			}
			return x >= f, nil
		}
		return slow(v), nil
	}
}

// pathComparison compiles a ...Path operator: both sides come from paths,
// and a value of the wrong type on either side makes the rule false.
func pathComparison(op operator, vp, rp *aslpath.Path) Cond {
	var test func(a, b any) bool
	switch op.kind {
	case kString:
		test = func(a, b any) bool {
			x, ok1 := a.(string)
			y, ok2 := b.(string)
			return ok1 && ok2 && op.rel.holds(compareStrings(x, y))
		}
	case kNumeric:
		test = func(a, b any) bool {
			// a float against a float or an integer a float64 holds
			// exactly (the usual reading against a threshold): one compare
			if x, ok := a.(float64); ok && x == x {
				switch y := b.(type) {
				case float64:
					if y == y {
						return op.rel.holds(cmp.Compare(x, y))
					}
				case int64:
					if y >= -1<<53 && y <= 1<<53 {
						return op.rel.holds(cmp.Compare(x, float64(y)))
					}
				}
			}
			x, ok1 := toNumber(a)
			y, ok2 := toNumber(b)
			return ok1 && ok2 && op.rel.holds(compareNumbers(x, y))
		}
	case kBoolean:
		test = func(a, b any) bool {
			x, ok1 := a.(bool)
			y, ok2 := b.(bool)
			return ok1 && ok2 && x == y
		}
	case kTimestamp:
		test = func(a, b any) bool {
			x, ok1 := a.(string)
			y, ok2 := b.(string)
			if !ok1 || !ok2 {
				return false
			}
			tx, ok1 := parseTimestamp(x)
			ty, ok2 := parseTimestamp(y)
			return ok1 && ok2 && op.rel.holds(tx.compare(ty))
		}
	}
	return func(s *express.Scope, in any) (bool, error) {
		a, found := vp.Get(s, in)
		if !found {
			return false, invalidPath(s, vp)
		}
		b, found := rp.Get(s, in)
		if !found {
			return false, invalidPath(s, rp)
		}
		return test(a, b), nil
	}
}

// number is a JSON number as decoded: an integer or a float.
type number struct {
	i     int64
	f     float64
	isInt bool
}

func toNumber(v any) (number, bool) {
	switch n := v.(type) {
	case int64:
		return number{i: n, isInt: true}, true
	case float64:
		return number{f: n}, true
	case int:
		return number{i: int64(n), isInt: true}, true
	case int32:
		return number{i: int64(n), isInt: true}, true
	case float32:
		return number{f: float64(n)}, true
	case json.Number:
		// ojg decodes integers of 19 digits or more, and very long
		// fractions, as json.Number.
		str := string(n)
		if !strings.ContainsAny(str, ".eE") {
			if i, err := strconv.ParseInt(str, 10, 64); err == nil {
				return number{i: i, isInt: true}, true
			}
		}
		if f, err := strconv.ParseFloat(str, 64); err == nil || errors.Is(err, strconv.ErrRange) {
			return number{f: f}, true
		}
	}
	return number{}, false
}

// compareNumbers compares exactly: an int64 is never rounded to a float64.
// It returns -1, 0, 1, or unordered when a side is NaN.
func compareNumbers(a, b number) int {
	switch {
	case a.isInt && b.isInt:
		return cmp.Compare(a.i, b.i)
	case a.isInt:
		r := compareFloatInt(b.f, a.i)
		if r == unordered {
			return r
		}
		return -r
	case b.isInt:
		return compareFloatInt(a.f, b.i)
	}
	if math.IsNaN(a.f) || math.IsNaN(b.f) {
		return unordered
	}
	return cmp.Compare(a.f, b.f)
}

func compareFloatInt(f float64, i int64) int {
	switch {
	case math.IsNaN(f):
		return unordered
	case f >= 0x1p63:
		return 1
	case f < -0x1p63:
		return -1
	}
	t := math.Trunc(f)
	if ti := int64(t); ti != i {
		return cmp.Compare(ti, i)
	}
	return cmp.Compare(f-t, 0)
}

// compareStrings orders strings as Java's String.compareTo does (by UTF-16
// code unit, which AWS uses), given UTF-8 input. It only differs from byte
// order when a character beyond U+FFFF meets one in U+E000..U+FFFF.
func compareStrings(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i == n {
		return cmp.Compare(len(a), len(b))
	}
	if a[i] < utf8.RuneSelf || b[i] < utf8.RuneSelf {
		return cmp.Compare(a[i], b[i])
	}
	for i > 0 && (!utf8.RuneStart(a[i]) || !utf8.RuneStart(b[i])) {
		i--
	}
	ra, _ := utf8.DecodeRuneInString(a[i:])
	rb, _ := utf8.DecodeRuneInString(b[i:])
	if ra == rb {
		return strings.Compare(a[i:], b[i:])
	}
	if c := cmp.Compare(utf16Lead(ra), utf16Lead(rb)); c != 0 {
		return c
	}
	return cmp.Compare(ra, rb)
}

// utf16Lead is the first UTF-16 code unit of r.
func utf16Lead(r rune) rune {
	if r >= 0x10000 {
		return 0xD800 + (r-0x10000)>>10
	}
	return r
}
