package intrinsic

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
	"github.com/stepstream/express/internal/uuid"
)

// AWS limits.
const (
	maxStringChars = 10000 // Base64Encode, Base64Decode and Hash input
	maxRangeItems  = 1000  // ArrayRange result
)

// funcDef describes one intrinsic function: its arity, the JSON types each
// argument accepts, what it returns and its implementation for its arity.
// Implementations receive arguments already checked against params and
// return a non-empty message on failure.
type funcDef struct {
	name     string
	min, max int    // max < 0: any number
	params   []kind // per argument; the last one repeats for variadic functions
	result   kind
	impure   bool // depends on more than its arguments (UUID, unseeded MathRandom)
	impl0    func(s *express.Scope) (any, string)
	impl1    func(a any) (any, string)
	impl2    func(s *express.Scope, a, b any) (any, string)
	impl3    func(s *express.Scope, a, b, c any) (any, string)
	// cost estimates the bytes of a result the function built, charged to
	// the execution's limit; nil when it builds nothing large.
	cost func(any) int
}

func (fd *funcDef) param(i int) kind {
	if len(fd.params) == 0 {
		return kAny
	}
	if i >= len(fd.params) {
		return fd.params[len(fd.params)-1]
	}
	return fd.params[i]
}

func (fd *funcDef) checkArg(i int, v any) string {
	k := fd.param(i)
	if k == kAny || kindOf(v)&k != 0 {
		return ""
	}
	return fd.invalid("argument %d must be %s, but was %s", i+1, k, describe(v))
}

// invalid words an argument failure as AWS does ("Invalid arguments in
// States.X"), followed by what exactly is wrong.
func (fd *funcDef) invalid(format string, args ...any) string {
	return "Invalid arguments in " + fd.name + ": " + fmt.Sprintf(format, args...)
}

// arity describes the number of arguments the function takes.
func (fd *funcDef) arity() string {
	switch {
	case fd.max < 0:
		return fmt.Sprintf("at least %d argument%s", fd.min, plural(fd.min))
	case fd.min == fd.max && fd.min == 0:
		return "no arguments"
	case fd.min == fd.max:
		return fmt.Sprintf("exactly %d argument%s", fd.min, plural(fd.min))
	}
	return fmt.Sprintf("%d or %d arguments", fd.min, fd.max)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

var (
	fnFormat         = &funcDef{name: "States.Format", min: 1, max: -1, params: []kind{kString, kAny}, result: kString}
	fnStringToJSON   = &funcDef{name: "States.StringToJson", min: 1, max: 1, params: []kind{kString}, result: kAny}
	fnJSONToString   = &funcDef{name: "States.JsonToString", min: 1, max: 1, params: []kind{kAny}, result: kString}
	fnArray          = &funcDef{name: "States.Array", min: 0, max: -1, params: []kind{kAny}, result: kArray}
	fnArrayPartition = &funcDef{name: "States.ArrayPartition", min: 2, max: 2, params: []kind{kArray, kNumber}, result: kArray}
	fnArrayContains  = &funcDef{name: "States.ArrayContains", min: 2, max: 2, params: []kind{kArray, kAny}, result: kBool}
	fnArrayRange     = &funcDef{name: "States.ArrayRange", min: 3, max: 3, params: []kind{kNumber, kNumber, kNumber}, result: kArray}
	fnArrayGetItem   = &funcDef{name: "States.ArrayGetItem", min: 2, max: 2, params: []kind{kArray, kNumber}, result: kAny}
	fnArrayLength    = &funcDef{name: "States.ArrayLength", min: 1, max: 1, params: []kind{kArray}, result: kNumber}
	fnArrayUnique    = &funcDef{name: "States.ArrayUnique", min: 1, max: 1, params: []kind{kArray}, result: kArray}
	fnBase64Encode   = &funcDef{name: "States.Base64Encode", min: 1, max: 1, params: []kind{kString}, result: kString}
	fnBase64Decode   = &funcDef{name: "States.Base64Decode", min: 1, max: 1, params: []kind{kString}, result: kString}
	fnHash           = &funcDef{name: "States.Hash", min: 2, max: 2, params: []kind{kString, kString}, result: kString}
	fnJSONMerge      = &funcDef{name: "States.JsonMerge", min: 3, max: 3, params: []kind{kObject, kObject, kBool}, result: kObject}
	fnMathRandom     = &funcDef{name: "States.MathRandom", min: 2, max: 3, params: []kind{kNumber, kNumber, kNumber}, result: kNumber}
	fnMathAdd        = &funcDef{name: "States.MathAdd", min: 2, max: 2, params: []kind{kNumber, kNumber}, result: kNumber}
	fnStringSplit    = &funcDef{name: "States.StringSplit", min: 2, max: 2, params: []kind{kString, kString}, result: kArray}
	fnUUID           = &funcDef{name: "States.UUID", min: 0, max: 0, result: kString, impure: true}
)

// lookup finds a function by its exact (case-sensitive) name.
func lookup(name string) *funcDef {
	for _, fd := range allFuncs {
		if fd.name == name {
			return fd
		}
	}
	return nil
}

var allFuncs = []*funcDef{fnFormat, fnStringToJSON, fnJSONToString, fnArray, fnArrayPartition,
	fnArrayContains, fnArrayRange, fnArrayGetItem, fnArrayLength, fnArrayUnique, fnBase64Encode,
	fnBase64Decode, fnHash, fnJSONMerge, fnMathRandom, fnMathAdd, fnStringSplit, fnUUID}

func init() {
	fnStringToJSON.impl1 = stringToJSON
	fnJSONToString.impl1 = func(a any) (any, string) { return string(appendJSON(nil, a)), "" }
	fnArrayPartition.impl2 = arrayPartition
	fnArrayContains.impl2 = arrayContains
	fnArrayRange.impl3 = arrayRange
	fnArrayGetItem.impl2 = arrayGetItem
	fnArrayLength.impl1 = func(a any) (any, string) { return int64(len(a.([]any))), "" }
	fnArrayUnique.impl1 = arrayUnique
	fnBase64Encode.impl1 = base64Encode
	fnBase64Decode.impl1 = base64Decode
	fnHash.impl2 = hashString
	fnJSONMerge.impl3 = jsonMerge
	fnMathRandom.impl2 = func(s *express.Scope, a, b any) (any, string) { return mathRandom(s, a, b, nil) }
	fnMathRandom.impl3 = mathRandom
	fnMathAdd.impl2 = mathAdd
	fnStringSplit.impl2 = stringSplit
	fnUUID.impl0 = func(*express.Scope) (any, string) { return uuid.New(), "" }

	fnBase64Encode.cost = stringCost
	fnBase64Decode.cost = stringCost
	fnJSONToString.cost = jsonCost
	fnStringToJSON.cost = valueCost
	fnArrayRange.cost = splitCost // boxed numbers
	fnArrayUnique.cost = uniqueCost
	fnArrayPartition.cost = partitionCost
	fnStringSplit.cost = splitCost
	fnJSONMerge.cost = objectCost
}

// javaLength is the length of s as Java counts it (UTF-16 code units), which
// is how AWS counts "characters".
func javaLength(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

func stringToJSON(a any) (any, string) {
	str := a.(string)
	if strings.TrimSpace(str) == "" {
		// AWS returns null for an empty or blank string (recorded cases).
		return nil, ""
	}
	v, err := jsonv.ParsePlain([]byte(str)) // the functions work on plain values
	if err != nil {
		return nil, fnStringToJSON.invalid("the string is not valid JSON: %v", err)
	}
	v, msg := normalizeJSON(v)
	if msg != "" {
		return nil, fnStringToJSON.invalid("%s", msg)
	}
	return v, ""
}

// normalizeJSON turns the numbers the parser cannot represent natively
// (json.Number for integers beyond int64) into float64 and rejects numbers
// beyond float64, so that results hold only ordinary JSON values.
func normalizeJSON(v any) (any, string) {
	switch t := v.(type) {
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return nil, "a number in the string is out of range"
		}
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, "the number " + string(t) + " in the string is out of range"
		}
		return f, ""
	case []any:
		for i, e := range t {
			n, msg := normalizeJSON(e)
			if msg != "" {
				return nil, msg
			}
			t[i] = n
		}
	case map[string]any:
		for k, e := range t {
			n, msg := normalizeJSON(e)
			if msg != "" {
				return nil, msg
			}
			t[k] = n
		}
	}
	return v, ""
}

// truncInt converts a number to an integer the way AWS does for most
// intrinsics (Java's intValue: the fraction is dropped), within int32.
func truncInt(v any) (int64, bool) {
	f, ok := jsonv.Number(v)
	if !ok || math.IsNaN(f) {
		return 0, false
	}
	if i, ok := v.(int64); ok {
		return i, i >= math.MinInt32 && i <= math.MaxInt32
	}
	f = math.Trunc(f)
	if f < math.MinInt32 || f > math.MaxInt32 {
		return 0, false
	}
	return int64(f), true
}

// roundInt rounds a number to the nearest integer as Java's Math.round does
// (halves go up: -0.5 becomes 0, 2.5 becomes 3), within int32. MathAdd
// rounds this way.
func roundInt(v any) (int64, bool) {
	if i, ok := v.(int64); ok {
		return i, i >= math.MinInt32 && i <= math.MaxInt32
	}
	f, ok := jsonv.Number(v)
	if !ok || math.IsNaN(f) {
		return 0, false
	}
	r := math.Floor(f)
	if f-r >= 0.5 {
		r++
	}
	if r < math.MinInt32 || r > math.MaxInt32 {
		return 0, false
	}
	return int64(r), true
}

func arrayPartition(_ *express.Scope, a, b any) (any, string) {
	arr := a.([]any)
	size, ok := truncInt(b)
	if !ok {
		if f, _ := jsonv.Number(b); f > 0 {
			size, ok = math.MaxInt32, true
		}
	}
	if !ok || size < 1 {
		return nil, fnArrayPartition.invalid("the chunk size (argument 2) must be a positive integer, but was %s", describe(b))
	}
	n := int64(len(arr))
	out := make([]any, 0, (n+size-1)/size)
	for i := int64(0); i < n; i += size {
		j := min(i+size, n)
		out = append(out, arr[i:j:j])
	}
	return out, ""
}

func arrayContains(_ *express.Scope, a, b any) (any, string) {
	for _, e := range a.([]any) {
		if jsonv.Equal(e, b) {
			return true, ""
		}
	}
	return false, ""
}

func arrayRange(_ *express.Scope, a, b, c any) (any, string) {
	var v [3]int64
	for i, x := range [3]any{a, b, c} {
		n, ok := truncInt(x)
		if !ok {
			return nil, fnArrayRange.invalid("argument %d must be an integer between %d and %d, but was %s", i+1, math.MinInt32, math.MaxInt32, describe(x))
		}
		v[i] = n
	}
	start, end, step := v[0], v[1], v[2]
	if step == 0 {
		return nil, fnArrayRange.invalid("the step (argument 3) must not be 0")
	}
	var count int64
	switch {
	case step > 0 && end >= start:
		count = (end-start)/step + 1
	case step < 0 && start >= end:
		count = (start-end)/(-step) + 1
	}
	if count > maxRangeItems {
		return nil, fnArrayRange.invalid("the range would have %d items; an array can hold at most %d", count, maxRangeItems)
	}
	out := make([]any, count)
	for i := range out {
		out[i] = start + int64(i)*step
	}
	return out, ""
}

func arrayGetItem(_ *express.Scope, a, b any) (any, string) {
	arr := a.([]any)
	i, ok := jsonv.Integer(b)
	if !ok {
		return nil, fnArrayGetItem.invalid("the index (argument 2) must be an integer, but was %s", describe(b))
	}
	if i < 0 || i >= int64(len(arr)) {
		return nil, fnArrayGetItem.invalid("the index %d is out of bounds for an array of length %d", i, len(arr))
	}
	return arr[i], ""
}

func arrayUnique(a any) (any, string) {
	arr := a.([]any)
	out := make([]any, 0, len(arr))
	type scalar struct {
		k kind
		s string
		n float64
		i int64
		b bool
	}
	seen := make(map[scalar]struct{}, len(arr))
	var composites []any
outer:
	for _, e := range arr {
		var key scalar
		switch t := e.(type) {
		case string:
			key = scalar{k: kString, s: t}
		case bool:
			key = scalar{k: kBool, b: t}
		case nil:
			key = scalar{k: kNull}
		case []any, map[string]any:
			for _, c := range composites {
				if jsonv.Equal(c, e) {
					continue outer
				}
			}
			composites = append(composites, e)
			out = append(out, e)
			continue
		default:
			if i, ok := jsonv.Integer(e); ok {
				key = scalar{k: kNumber, i: i}
			} else {
				f, _ := jsonv.Number(e)
				key = scalar{k: kNumber, n: f, b: true}
			}
		}
		if _, dup := seen[key]; dup {
			continue
		}
		seen[key] = struct{}{}
		out = append(out, e)
	}
	return out, ""
}

func checkLength(fd *funcDef, s string) string {
	if n := javaLength(s); n > maxStringChars {
		return fd.invalid("the string is %d characters long; at most %d are allowed", n, maxStringChars)
	}
	return ""
}

func base64Encode(a any) (any, string) {
	s := a.(string)
	if msg := checkLength(fnBase64Encode, s); msg != "" {
		return nil, msg
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), ""
}

func base64Decode(a any) (any, string) {
	s := a.(string)
	if msg := checkLength(fnBase64Decode, s); msg != "" {
		return nil, msg
	}
	enc := base64.StdEncoding
	if len(s)%4 != 0 && !strings.HasSuffix(s, "=") {
		enc = base64.RawStdEncoding // padding is optional, as in Java's decoder
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, fnBase64Decode.invalid("the string is not valid Base64: %v", err)
	}
	out := string(b)
	if !utf8.ValidString(out) {
		out = strings.ToValidUTF8(out, "\uFFFD")
	}
	return out, ""
}

// hashAlgorithms are the algorithms States.Hash accepts.
var hashAlgorithms = []string{"MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"}

func newHash(alg string) hash.Hash {
	switch alg {
	case "MD5":
		return md5.New()
	case "SHA-1":
		return sha1.New()
	case "SHA-256":
		return sha256.New()
	case "SHA-384":
		return sha512.New384()
	case "SHA-512":
		return sha512.New()
	}
	return nil
}

func hashString(_ *express.Scope, a, b any) (any, string) {
	s, alg := a.(string), b.(string)
	if msg := checkLength(fnHash, s); msg != "" {
		return nil, msg
	}
	h := newHash(alg)
	if h == nil {
		return nil, fnHash.invalid("unknown hashing algorithm %q: use one of %s", alg, strings.Join(hashAlgorithms, ", "))
	}
	h.Write([]byte(s))
	var sum [64]byte
	return hex.EncodeToString(h.Sum(sum[:0])), ""
}

func jsonMerge(_ *express.Scope, a, b, c any) (any, string) {
	if c.(bool) {
		return nil, fnJSONMerge.invalid("deep merging is not supported: the third argument must be false")
	}
	x, y := a.(map[string]any), b.(map[string]any)
	out := make(map[string]any, len(x)+len(y))
	for k, v := range x {
		out[k] = v
	}
	for k, v := range y {
		out[k] = v
	}
	return out, ""
}

func mathAdd(_ *express.Scope, a, b any) (any, string) {
	x, ok := roundInt(a)
	if !ok {
		return nil, fnMathAdd.invalid("argument 1 must be an integer between %d and %d, but was %s", math.MinInt32, math.MaxInt32, describe(a))
	}
	y, ok := roundInt(b)
	if !ok {
		return nil, fnMathAdd.invalid("argument 2 must be an integer between %d and %d, but was %s", math.MinInt32, math.MaxInt32, describe(b))
	}
	return x + y, ""
}

// mathRandom returns an integer in [start, end). Bounds lose their fraction
// (AWS truncates them). With a seed the result is deterministic.
func mathRandom(s *express.Scope, a, b, c any) (any, string) {
	start, ok := truncInt(a)
	if !ok {
		return nil, fnMathRandom.invalid("the start (argument 1) must be an integer between %d and %d, but was %s", math.MinInt32, math.MaxInt32, describe(a))
	}
	end, ok := truncInt(b)
	if !ok {
		return nil, fnMathRandom.invalid("the end (argument 2) must be an integer between %d and %d, but was %s", math.MinInt32, math.MaxInt32, describe(b))
	}
	if start >= end {
		return nil, fnMathRandom.invalid("the start (%d) must be less than the end (%d)", start, end)
	}
	n := end - start
	if c != nil {
		f, _ := jsonv.Number(c)
		if math.IsNaN(f) || f < math.MinInt64 || f >= math.MaxInt64 {
			return nil, fnMathRandom.invalid("the seed (argument 3) must be an integer, but was %s", describe(c))
		}
		seed, isInt := c.(int64)
		if !isInt {
			seed = int64(f)
		}
		r := newJavaRandom(seed)
		return start + r.randomBelow(n), ""
	}
	var u float64
	if s != nil && s.Execution() != nil {
		u = s.Execution().Rand()
	} else {
		u = rand.Float64()
	}
	v := start + int64(u*float64(n))
	if v >= end { // u just below 1 rounding up
		v = end - 1
	}
	return v, ""
}

func stringSplit(_ *express.Scope, a, b any) (any, string) {
	str, delims := a.(string), b.(string)
	if delims == "" {
		if str == "" {
			return []any{}, ""
		}
		return []any{str}, ""
	}
	isDelim := func(r rune) bool { return strings.ContainsRune(delims, r) }
	if len(delims) == 1 {
		d := rune(delims[0])
		isDelim = func(r rune) bool { return r == d }
	}
	// The non-empty fields between delimiters (strings.FieldsFunc), counted
	// first so that the result is allocated once.
	fields := func(yield func(string)) {
		start := -1
		for i, r := range str {
			switch {
			case !isDelim(r):
				if start < 0 {
					start = i
				}
			case start >= 0:
				yield(str[start:i])
				start = -1
			}
		}
		if start >= 0 {
			yield(str[start:])
		}
	}
	n := 0
	fields(func(string) { n++ })
	out := make([]any, 0, n)
	fields(func(f string) { out = append(out, f) })
	return out, ""
}
