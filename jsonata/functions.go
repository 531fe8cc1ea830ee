package jsonata

import (
	"encoding/base64"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

type nativeFn func(c *evalCtx, args []any, input any, env *frame) (any, error)

// builtin describes a library function. The table is built once at
// package initialisation and never modified.
type builtin struct {
	name   string
	sig    *signature
	arity  int      // JavaScript Function.length of the reference implementation
	params []string // declared parameters (for partial application)
	fn     nativeFn
}

var builtins = map[string]*Function{}

func define(name, sig string, params []string, fn nativeFn) *builtin {
	s, err := parseSignature(sig)
	if err != nil {
		panic("jsonata: bad built-in signature " + sig)
	}
	b := &builtin{name: name, sig: s, arity: len(params), params: params, fn: fn}
	builtins[name] = &Function{kind: fnNative, native: b, sig: s, name: name}
	return b
}

func arg(args []any, i int) any {
	if i < len(args) {
		return args[i]
	}
	return undef
}

func init() {
	define("sum", "<a<n>:n>", []string{"args"}, fnSum)
	define("count", "<a:n>", []string{"args"}, fnCount)
	define("max", "<a<n>:n>", []string{"args"}, fnMax)
	define("min", "<a<n>:n>", []string{"args"}, fnMin)
	define("average", "<a<n>:n>", []string{"args"}, fnAverage)
	define("string", "<x-b?:s>", []string{"arg", "prettify"}, fnString).arity = 1
	define("substring", "<s-nn?:s>", []string{"str", "start", "length"}, fnSubstring)
	define("substringBefore", "<s-s:s>", []string{"str", "chars"}, fnSubstringBefore)
	define("substringAfter", "<s-s:s>", []string{"str", "chars"}, fnSubstringAfter)
	define("lowercase", "<s-:s>", []string{"str"}, fnLowercase)
	define("uppercase", "<s-:s>", []string{"str"}, fnUppercase)
	define("length", "<s-:n>", []string{"str"}, fnLength)
	define("trim", "<s-:s>", []string{"str"}, fnTrim)
	define("pad", "<s-ns?:s>", []string{"str", "width", "char"}, fnPad)
	define("match", "<s-f<s:o>n?:a<o>>", []string{"str", "regex", "limit"}, fnMatch)
	define("contains", "<s-(sf):b>", []string{"str", "token"}, fnContains)
	define("replace", "<s-(sf)(sf)n?:s>", []string{"str", "pattern", "replacement", "limit"}, fnReplace)
	define("split", "<s-(sf)n?:a<s>>", []string{"str", "separator", "limit"}, fnSplit)
	define("join", "<a<s>s?:s>", []string{"strs", "separator"}, fnJoin)
	define("formatNumber", "<n-so?:s>", []string{"value", "picture", "options"}, fnFormatNumber)
	define("formatBase", "<n-n?:s>", []string{"value", "radix"}, fnFormatBase)
	define("formatInteger", "<n-s:s>", []string{"value", "picture"}, fnFormatInteger)
	define("parseInteger", "<s-s:n>", []string{"value", "picture"}, fnParseInteger)
	define("number", "<(nsb)-:n>", []string{"arg"}, fnNumber)
	define("floor", "<n-:n>", []string{"arg"}, mathFn(math.Floor))
	define("ceil", "<n-:n>", []string{"arg"}, mathFn(math.Ceil))
	define("round", "<n-n?:n>", []string{"arg", "precision"}, fnRound)
	define("abs", "<n-:n>", []string{"arg"}, mathFn(math.Abs))
	define("sqrt", "<n-:n>", []string{"arg"}, fnSqrt)
	define("power", "<n-n:n>", []string{"arg", "exp"}, fnPower)
	define("random", "<:n>", nil, fnRandom)
	define("boolean", "<x-:b>", []string{"arg"}, fnBoolean)
	define("not", "<x-:b>", []string{"arg"}, fnNot)
	define("map", "<af>", []string{"arr", "func"}, fnMap)
	define("zip", "<a+>", nil, fnZip)
	define("filter", "<af>", []string{"arr", "func"}, fnFilter)
	define("single", "<af?>", []string{"arr", "func"}, fnSingle)
	define("reduce", "<afj?:j>", []string{"sequence", "func", "init"}, fnReduce)
	define("sift", "<o-f?:o>", []string{"arg", "func"}, fnSift)
	define("keys", "<x-:a<s>>", []string{"arg"}, fnKeys)
	define("lookup", "<x-s:x>", []string{"input", "key"}, fnLookup)
	define("append", "<xx:a>", []string{"arg1", "arg2"}, fnAppend)
	define("exists", "<x:b>", []string{"arg"}, fnExists)
	define("spread", "<x-:a<o>>", []string{"arg"}, fnSpread)
	define("merge", "<a<o>:o>", []string{"arg"}, fnMerge)
	define("reverse", "<a:a>", []string{"arr"}, fnReverse)
	define("each", "<o-f:a>", []string{"obj", "func"}, fnEach)
	define("error", "<s?:x>", []string{"message"}, fnError)
	define("assert", "<bs?:x>", []string{"condition", "message"}, fnAssert)
	define("type", "<x:s>", []string{"value"}, fnType)
	define("sort", "<af?:a>", []string{"arr", "comparator"}, fnSort)
	define("shuffle", "<a:a>", []string{"arr"}, fnShuffle)
	define("distinct", "<x:x>", []string{"arr"}, fnDistinct)
	define("base64encode", "<s-:s>", []string{"str"}, fnBase64Encode)
	define("base64decode", "<s-:s>", []string{"str"}, fnBase64Decode)
	define("encodeUrlComponent", "<s-:s>", []string{"str"}, urlFn("encodeUrlComponent", encodeURIComponentSafe))
	define("encodeUrl", "<s-:s>", []string{"str"}, urlFn("encodeUrl", encodeURISafe))
	define("decodeUrlComponent", "<s-:s>", []string{"str"}, urlFn("decodeUrlComponent", func(s string) (string, bool) { return decodeURI(s, "") }))
	define("decodeUrl", "<s-:s>", []string{"str"}, urlFn("decodeUrl", func(s string) (string, bool) { return decodeURI(s, ";/?:@&=+$,#") }))
	define("eval", "<sx?:x>", []string{"expr", "focus"}, fnEval)
	define("toMillis", "<s-s?:n>", []string{"timestamp", "picture"}, fnToMillis)
	define("fromMillis", "<n-s?s?:s>", []string{"millis", "picture", "timezone"}, fnFromMillis)
	define("clone", "<(oa)-:o>", []string{"arg"}, fnClone)
	define("now", "<s?s?:s>", []string{"picture", "timezone"}, fnNow)
	define("millis", "<:n>", nil, fnMillis)
}

func num(v any) float64 {
	f, _ := toNumber(v)
	return f
}

func fnSum(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	a := arg(args, 0)
	if isUndef(a) {
		return undef, nil
	}
	items, _ := asArray(a)
	total := 0.0
	for _, v := range items {
		total += num(v)
	}
	return total, nil
}

func fnCount(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	items, ok := asArray(arg(args, 0))
	if !ok {
		return 0.0, nil
	}
	return float64(len(items)), nil
}

func fnMax(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	items, _ := asArray(arg(args, 0))
	if len(items) == 0 {
		return undef, nil
	}
	m := math.Inf(-1)
	for _, v := range items {
		m = math.Max(m, num(v))
	}
	return m, nil
}

func fnMin(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	items, _ := asArray(arg(args, 0))
	if len(items) == 0 {
		return undef, nil
	}
	m := math.Inf(1)
	for _, v := range items {
		m = math.Min(m, num(v))
	}
	return m, nil
}

func fnAverage(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	items, _ := asArray(arg(args, 0))
	if len(items) == 0 {
		return undef, nil
	}
	total := 0.0
	for _, v := range items {
		total += num(v)
	}
	return total / float64(len(items)), nil
}

// toStr is the reference fn.string without prettify.
func toStr(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case *Function:
		return "", nil
	case float64:
		if math.IsInf(x, 0) || x != x {
			return "", errVal("D3001", x)
		}
		if !isInteger(x) {
			x = toPrecision15(x)
		}
		return formatJSNumber(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	}
	if s, ok := v.(*seq); ok && s.outerWrapper && len(s.items) > 0 {
		v = s.items[0]
	}
	return stringify(v, false, true)
}

func fnString(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	a := arg(args, 0)
	if isUndef(a) {
		return undef, nil
	}
	pretty, _ := arg(args, 1).(bool)
	if !pretty {
		if s, ok := a.(string); ok {
			return s, nil
		}
		r, err := toStr(a)
		if err != nil {
			return nil, err
		}
		return r, c.chargeBytes(len(r))
	}
	if s, ok := a.(string); ok {
		return s, nil
	}
	if isFunc(a) {
		return "", nil
	}
	if f, ok := a.(float64); ok && (math.IsInf(f, 0) || f != f) {
		return nil, errVal("D3001", f)
	}
	if s, ok := a.(*seq); ok && s.outerWrapper && len(s.items) > 0 {
		a = s.items[0]
	}
	r, err := stringify(a, true, true)
	if err != nil {
		return nil, err
	}
	return r, c.chargeBytes(len(r))
}

// jsSliceIndex converts a JavaScript slice index (possibly negative,
// possibly fractional) to a position in [0, n].
func jsSliceIndex(f float64, n int) int {
	if f != f {
		return 0
	}
	f = math.Trunc(f)
	if f < 0 {
		f += float64(n)
		if f < 0 {
			return 0
		}
		return int(f)
	}
	if f > float64(n) {
		return n
	}
	return int(f)
}

func fnSubstring(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	a := arg(args, 0)
	if isUndef(a) {
		return undef, nil
	}
	str, _ := a.(string)
	runes := []rune(str)
	n := len(runes)
	start := num(arg(args, 1))
	if float64(n)+start < 0 {
		start = 0
	}
	if l := arg(args, 2); !isUndef(l) {
		length := num(l)
		if length <= 0 {
			return "", nil
		}
		var end float64
		if start >= 0 {
			end = start + length
		} else {
			end = float64(n) + start + length
		}
		s, e := jsSliceIndex(start, n), jsSliceIndex(end, n)
		if e <= s {
			return "", nil
		}
		return string(runes[s:e]), nil
	}
	s := jsSliceIndex(start, n)
	return string(runes[s:]), nil
}

func fnSubstringBefore(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	str, ok := arg(args, 0).(string)
	if !ok {
		return undef, nil
	}
	chars, _ := arg(args, 1).(string)
	if i := strings.Index(str, chars); i >= 0 {
		return str[:i], nil
	}
	return str, nil
}

func fnSubstringAfter(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	str, ok := arg(args, 0).(string)
	if !ok {
		return undef, nil
	}
	chars, _ := arg(args, 1).(string)
	if i := strings.Index(str, chars); i >= 0 {
		return str[i+len(chars):], nil
	}
	return str, nil
}

func fnLowercase(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	str, ok := arg(args, 0).(string)
	if !ok {
		return undef, nil
	}
	if err := c.chargeBytes(len(str)); err != nil {
		return nil, err
	}
	return strings.ToLower(str), nil
}

func fnUppercase(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	str, ok := arg(args, 0).(string)
	if !ok {
		return undef, nil
	}
	if err := c.chargeBytes(len(str)); err != nil {
		return nil, err
	}
	return strings.ToUpper(str), nil
}

func fnLength(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	str, ok := arg(args, 0).(string)
	if !ok {
		return undef, nil
	}
	return float64(utf8.RuneCountInString(str)), nil
}

func fnTrim(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	str, ok := arg(args, 0).(string)
	if !ok {
		return undef, nil
	}
	if err := c.chargeBytes(len(str)); err != nil {
		return nil, err
	}
	var b strings.Builder
	inWS := false
	for i := 0; i < len(str); i++ {
		ch := str[i]
		if ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' {
			if !inWS {
				b.WriteByte(' ')
			}
			inWS = true
			continue
		}
		inWS = false
		b.WriteByte(ch)
	}
	r := b.String()
	r = strings.TrimPrefix(r, " ")
	r = strings.TrimSuffix(r, " ")
	return r, nil
}

func fnPad(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	str, ok := arg(args, 0).(string)
	if !ok {
		return undef, nil
	}
	width := math.Trunc(num(arg(args, 1)))
	char, _ := arg(args, 2).(string)
	if char == "" {
		char = " "
	}
	padLength := math.Abs(width) - float64(utf8.RuneCountInString(str))
	if padLength <= 0 {
		return str, nil
	}
	if padLength*float64(len(char)) > maxStringLen {
		return nil, tooLarge("$pad result")
	}
	if err := c.chargeBytes(len(str) + int(padLength)*len(char)); err != nil {
		return nil, err
	}
	n := int(padLength)
	padding := strings.Repeat(char, n)
	if utf8.RuneCountInString(char) > 1 {
		padding = string([]rune(padding)[:n])
	}
	if width > 0 {
		return str + padding, nil
	}
	return padding + str, nil
}

func matcherOf(v any) (*Function, bool) {
	f, ok := v.(*Function)
	return f, ok
}

func fnContains(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	str, ok := arg(args, 0).(string)
	token := arg(args, 1)
	if !ok || isUndef(token) {
		return undef, nil
	}
	if t, ok := token.(string); ok {
		return strings.Contains(str, t), nil
	}
	m, ok := matcherOf(token)
	if !ok {
		return undef, nil
	}
	ms, err := c.matchAll(m, str, 1)
	if err != nil {
		return nil, err
	}
	return len(ms) > 0, nil
}

func optLimit(v any, code string) (int, error) {
	if isUndef(v) {
		return -1, nil
	}
	f := num(v)
	if f < 0 {
		return 0, errVal(code, f)
	}
	if f > 1e9 {
		return -1, nil
	}
	return int(math.Ceil(f)), nil
}

func fnMatch(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	str, ok := arg(args, 0).(string)
	if !ok {
		return undef, nil
	}
	limit, err := optLimit(arg(args, 2), "D3040")
	if err != nil {
		return nil, err
	}
	result := newSeq(0)
	m, ok := matcherOf(arg(args, 1))
	if !ok {
		return result, nil
	}
	ms, err := c.matchAll(m, str, limit)
	if err != nil {
		return nil, err
	}
	uc := unitCursor{s: str}
	for _, mm := range ms {
		if err := c.build(slotBytes + objectBytes + 3*keyBytes); err != nil {
			return nil, err
		}
		o := newObject(3)
		o.set("match", mm.match)
		o.set("index", float64(uc.units(mm.start)))
		groups := mm.groups
		if groups == nil {
			groups = []any{}
		}
		o.set("groups", groups)
		result.push(o)
	}
	return result, nil
}

func fnReplace(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	str, ok := arg(args, 0).(string)
	if !ok {
		return undef, nil
	}
	pattern := arg(args, 1)
	if p, ok := pattern.(string); ok && p == "" {
		return nil, errVal("D3010", p)
	}
	limit, err := optLimit(arg(args, 3), "D3011")
	if err != nil {
		return nil, err
	}
	replacement := arg(args, 2)
	if limit == 0 {
		return str, nil
	}
	if p, ok := pattern.(string); ok {
		rep, _ := replacement.(string)
		if _, isStr := replacement.(string); !isStr {
			rep, _ = toStr(replacement)
		}
		if n := strings.Count(str, p); n > 0 && float64(len(str))+float64(n)*float64(len(rep)) > maxStringLen {
			return nil, tooLarge("$replace result")
		}
		out := strings.Replace(str, p, rep, limit)
		if err := c.chargeBytes(len(out)); err != nil {
			return nil, err
		}
		return out, nil
	}
	m, ok := matcherOf(pattern)
	if !ok {
		return str, nil
	}
	ms, err := c.matchAll(m, str, limit)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return str, nil
	}
	var b strings.Builder
	pos := 0
	uc := unitCursor{s: str}
	for _, mm := range ms {
		if mm.start < pos || mm.start > len(str) {
			continue
		}
		b.WriteString(str[pos:mm.start])
		var rep any
		if rs, ok := replacement.(string); ok {
			rep = substituteGroups(rs, mm)
		} else if rf, ok := replacement.(*Function); ok {
			if err := c.build(objectBytes + 4*keyBytes); err != nil {
				return nil, err
			}
			mo := newObject(4)
			mo.set("match", mm.match)
			mo.set("start", float64(uc.units(mm.start)))
			mo.set("end", float64(uc.units(mm.end)))
			groups := mm.groups
			if groups == nil {
				groups = []any{}
			}
			mo.set("groups", groups)
			rep, err = c.apply(rf, []any{mo}, nil, nil)
			if err != nil {
				return nil, err
			}
		}
		rs, ok := rep.(string)
		if !ok {
			return nil, errVal("D3012", rep)
		}
		b.WriteString(rs)
		if b.Len() > maxStringLen {
			return nil, tooLarge("$replace result")
		}
		pos = mm.start + len(mm.match)
	}
	if pos < len(str) {
		b.WriteString(str[pos:])
	}
	if err := c.chargeBytes(b.Len()); err != nil {
		return nil, err
	}
	return b.String(), nil
}

// substituteGroups expands $0, $1.. and $$ in a replacement string exactly
// as the reference does (including its rule for multi-digit group numbers).
func substituteGroups(replacement string, m regexMatch) string {
	var b strings.Builder
	position := 0
	index := strings.IndexByte(replacement, '$')
	for index != -1 && position < len(replacement) {
		b.WriteString(replacement[position:index])
		position = index + 1
		if position >= len(replacement) {
			b.WriteByte('$')
			index = -1
			break
		}
		dollarVal := replacement[position]
		if dollarVal == '$' {
			b.WriteByte('$')
			position++
		} else if dollarVal == '0' {
			b.WriteString(m.match)
			position++
		} else {
			maxDigits := 1
			if len(m.groups) > 0 {
				maxDigits = int(math.Floor(math.Log(float64(len(m.groups)))*math.Log10E)) + 1
			}
			idx, ok := parseLeadingInt(replacement[position:min(position+maxDigits, len(replacement))])
			if maxDigits > 1 && idx > len(m.groups) {
				idx, ok = parseLeadingInt(replacement[position:min(position+maxDigits-1, len(replacement))])
			}
			if ok {
				if len(m.groups) > 0 && idx >= 1 && idx <= len(m.groups) {
					if s, ok := m.groups[idx-1].(string); ok {
						b.WriteString(s)
					}
				}
				position += len(strconv.Itoa(idx))
			} else {
				b.WriteByte('$')
			}
		}
		index = strings.IndexByte(replacement[position:], '$')
		if index >= 0 {
			index += position
		}
	}
	if position < len(replacement) {
		b.WriteString(replacement[position:])
	}
	return b.String()
}

// parseLeadingInt mimics parseInt(s, 10): leading digits, NaN if none.
func parseLeadingInt(s string) (int, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, false
	}
	n, _ := strconv.Atoi(s[:i])
	return n, true
}

func fnSplit(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	str, ok := arg(args, 0).(string)
	if !ok {
		return undef, nil
	}
	limit, err := optLimit(arg(args, 2), "D3020")
	if err != nil {
		return nil, err
	}
	result := []any{}
	if limit == 0 {
		return result, nil
	}
	sep := arg(args, 1)
	if s, ok := sep.(string); ok {
		if limit > 0 {
			limit = int(math.Trunc(num(arg(args, 2)))) // JS String#split truncates
		}
		var parts []string
		if s == "" {
			parts = make([]string, 0, len(str))
			for _, r := range str {
				parts = append(parts, string(r))
			}
		} else {
			parts = strings.Split(str, s)
		}
		// the parts, the array and the parts boxed in it
		if err := c.build(3 * slotBytes * len(parts)); err != nil {
			return nil, err
		}
		result = make([]any, 0, len(parts))
		for _, p := range parts {
			if limit >= 0 && len(result) >= limit {
				break
			}
			result = append(result, p)
		}
		return result, nil
	}
	m, ok := matcherOf(sep)
	if !ok {
		return result, nil
	}
	ms, err := c.matchAll(m, str, limit)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return append(result, str), nil
	}
	if err := c.build(2 * slotBytes * len(ms)); err != nil {
		return nil, err
	}
	result = make([]any, 0, len(ms)+1)
	start := 0
	for _, mm := range ms {
		if mm.start < start {
			continue
		}
		result = append(result, str[start:mm.start])
		start = mm.end
	}
	if limit < 0 || len(ms) < limit {
		if start <= len(str) {
			result = append(result, str[start:])
		}
	}
	return result, nil
}

func fnJoin(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	a := arg(args, 0)
	if isUndef(a) {
		return undef, nil
	}
	items, _ := asArray(a)
	sep, _ := arg(args, 1).(string)
	parts := make([]string, len(items))
	total := 0
	for i, it := range items {
		parts[i], _ = it.(string)
		total += len(parts[i]) + len(sep)
	}
	if total > maxStringLen {
		return nil, tooLarge("$join result")
	}
	if err := c.chargeBytes(total); err != nil {
		return nil, err
	}
	return strings.Join(parts, sep), nil
}

var numberRE = func(s string) bool {
	// ^-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?$
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	d := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == d {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		d = i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d = i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(s)
}

func fnNumber(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	a := arg(args, 0)
	switch x := a.(type) {
	case *undefinedType:
		return undef, nil
	case bool:
		if x {
			return 1.0, nil
		}
		return 0.0, nil
	case string:
		if numberRE(x) {
			f, err := strconv.ParseFloat(x, 64)
			if err == nil && !math.IsInf(f, 0) {
				return f, nil
			}
		}
		if len(x) > 2 && x[0] == '0' {
			base := 0
			switch x[1] {
			case 'x', 'X':
				base = 16
			case 'o', 'O':
				base = 8
			case 'b', 'B':
				base = 2
			}
			if base != 0 {
				if v, err := strconv.ParseUint(x[2:], base, 64); err == nil {
					return float64(v), nil
				}
			}
		}
	}
	if f, ok := toNumber(a); ok {
		return f, nil
	}
	e := errVal("D3030", a)
	e.index = 1
	return nil, e
}

func mathFn(f func(float64) float64) nativeFn {
	return func(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
		a := arg(args, 0)
		if isUndef(a) {
			return undef, nil
		}
		return f(num(a)), nil
	}
}

// shiftDecimal reproduces the reference's string-based decimal shift
// (+(mantissa + 'e' + (exp + precision))), which avoids binary noise.
func shiftDecimal(v float64, precision int) float64 {
	s := formatJSNumber(v)
	mant, exp := s, 0
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		mant = s[:i]
		exp, _ = strconv.Atoi(s[i+1:])
	}
	r, err := strconv.ParseFloat(mant+"e"+strconv.Itoa(exp+precision), 64)
	if err != nil {
		return v
	}
	return r
}

func jsRound(x float64) float64 { return math.Floor(x + 0.5) }

func roundHalfEven(v float64, precision int) float64 {
	if precision != 0 {
		v = shiftDecimal(v, precision)
	}
	result := jsRound(v)
	diff := result - v
	if math.Abs(diff) == 0.5 && math.Abs(math.Mod(result, 2)) == 1 {
		result--
	}
	if precision != 0 {
		result = shiftDecimal(result, -precision)
	}
	if result == 0 {
		result = 0 // no negative zero in JSON
	}
	return result
}

func fnRound(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	a := arg(args, 0)
	if isUndef(a) {
		return undef, nil
	}
	p := 0
	if pv := arg(args, 1); !isUndef(pv) {
		p = int(num(pv))
	}
	return roundHalfEven(num(a), p), nil
}

func fnSqrt(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	a := arg(args, 0)
	if isUndef(a) {
		return undef, nil
	}
	f := num(a)
	if f < 0 {
		e := errVal("D3060", f)
		e.index = 1
		return nil, e
	}
	return math.Sqrt(f), nil
}

func fnPower(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	a := arg(args, 0)
	if isUndef(a) {
		return undef, nil
	}
	b, e := num(a), num(arg(args, 1))
	r := math.Pow(b, e)
	if math.IsInf(r, 0) || r != r {
		er := errVal("D3061", b)
		er.value2 = e
		return nil, er
	}
	return r, nil
}

func fnRandom(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	return rand.Float64(), nil
}

func fnBoolean(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	b, ok := toBoolean(arg(args, 0))
	if !ok {
		return undef, nil
	}
	return b, nil
}

func fnNot(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	b, ok := toBoolean(arg(args, 0))
	if !ok {
		return undef, nil
	}
	return !b, nil
}

// hofArgs builds the argument list for a function passed to a HOF: the
// value, then index and whole collection only if the function takes them.
func hofArgs(f any, a1, a2, a3 any) []any {
	n := 1
	if fn, ok := f.(*Function); ok {
		n = fn.arity()
	}
	switch {
	case n >= 3:
		return []any{a1, a2, a3}
	case n == 2:
		return []any{a1, a2}
	}
	return []any{a1}
}

func fnMap(c *evalCtx, args []any, _ any, env *frame) (any, error) {
	a := arg(args, 0)
	if isUndef(a) {
		return undef, nil
	}
	items, _ := asArray(a)
	f := arg(args, 1)
	result := newSeq(len(items))
	for i, it := range items {
		res, err := c.apply(f, hofArgs(f, it, float64(i), a), nil, env)
		if err != nil {
			return nil, err
		}
		if !isUndef(res) {
			result.push(res)
		}
	}
	return result, c.build(slotBytes * len(result.items))
}

func fnFilter(c *evalCtx, args []any, _ any, env *frame) (any, error) {
	a := arg(args, 0)
	if isUndef(a) {
		return undef, nil
	}
	items, _ := asArray(a)
	f := arg(args, 1)
	result := newSeq(0)
	for i, it := range items {
		res, err := c.apply(f, hofArgs(f, it, float64(i), a), nil, env)
		if err != nil {
			return nil, err
		}
		if truthy(res) {
			result.push(it)
		}
	}
	return result, c.build(slotBytes * len(result.items))
}

func fnSingle(c *evalCtx, args []any, _ any, env *frame) (any, error) {
	a := arg(args, 0)
	if isUndef(a) {
		return undef, nil
	}
	items, _ := asArray(a)
	f := arg(args, 1)
	found := false
	var result any = undef
	for i, it := range items {
		ok := true
		if !isUndef(f) {
			res, err := c.apply(f, hofArgs(f, it, float64(i), a), nil, env)
			if err != nil {
				return nil, err
			}
			ok = truthy(res)
		}
		if ok {
			if found {
				e := newErr("D3138")
				e.index = i
				return nil, e
			}
			result = it
			found = true
		}
	}
	if !found {
		return nil, newErr("D3139")
	}
	return result, nil
}

func fnZip(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	minLen := math.MaxInt
	arrays := make([][]any, len(args))
	for i, a := range args {
		items, ok := asArray(a)
		if !ok {
			minLen = 0
		}
		arrays[i] = items
		if len(items) < minLen {
			minLen = len(items)
		}
	}
	if len(args) == 0 {
		minLen = 0
	}
	if minLen > 0 {
		if err := c.build(minLen * slotBytes * (len(arrays) + 2)); err != nil {
			return nil, err
		}
	}
	result := make([]any, 0, minLen)
	for i := 0; i < minLen; i++ {
		t := make([]any, len(arrays))
		for j := range arrays {
			t[j] = arrays[j][i]
		}
		result = append(result, t)
	}
	return result, nil
}

func fnReduce(c *evalCtx, args []any, _ any, env *frame) (any, error) {
	a := arg(args, 0)
	if isUndef(a) {
		return undef, nil
	}
	items, _ := asArray(a)
	f := arg(args, 1)
	arity := 0
	if fn, ok := f.(*Function); ok {
		arity = fn.arity()
	}
	if arity < 2 {
		e := newErr("D3050")
		e.index = 1
		return nil, e
	}
	var result any
	index := 0
	init := arg(args, 2)
	if isUndef(init) && len(items) > 0 {
		result = items[0]
		index = 1
	} else {
		result = init
	}
	for ; index < len(items); index++ {
		fargs := []any{result, items[index]}
		if arity >= 3 {
			fargs = append(fargs, float64(index))
		}
		if arity >= 4 {
			fargs = append(fargs, a)
		}
		var err error
		result, err = c.apply(f, fargs, nil, env)
		if err != nil {
			return nil, err
		}
	}
	return result, nil
}

func fnSift(c *evalCtx, args []any, _ any, env *frame) (any, error) {
	obj := arg(args, 0)
	f := arg(args, 1)
	result := newObject(0)
	for _, k := range objKeys(obj) {
		v, _ := objGet(obj, k)
		res, err := c.apply(f, hofArgs(f, v, k, obj), nil, env)
		if err != nil {
			return nil, err
		}
		if truthy(res) {
			result.set(k, v)
		}
	}
	if err := c.build(objectBytes + keyBytes*len(result.keys)); err != nil {
		return nil, err
	}
	if len(result.keys) == 0 {
		return undef, nil
	}
	return result, nil
}

func fnKeys(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	a := arg(args, 0)
	result := newSeq(0)
	if items, ok := asArray(a); ok {
		seen := map[string]bool{}
		for _, it := range items {
			for _, k := range objKeys(it) {
				if !seen[k] {
					seen[k] = true
					result.push(k)
				}
			}
		}
		return result, c.build((slotBytes + keyBytes) * len(result.items))
	}
	for _, k := range objKeys(a) {
		result.push(k)
	}
	return result, c.build(slotBytes * len(result.items))
}

func fnLookup(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	k, _ := arg(args, 1).(string)
	return lookupField(arg(args, 0), k), nil
}

func fnAppend(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	a, b := arg(args, 0), arg(args, 1)
	if isUndef(a) {
		return b, nil
	}
	if isUndef(b) {
		return a, nil
	}
	aa, _ := asArray(a)
	ba, _ := asArray(b)
	if err := c.charge((len(aa) + len(ba)) / 16); err != nil {
		return nil, err
	}
	if err := c.build(slotBytes * (len(aa) + len(ba) + 2)); err != nil {
		return nil, err
	}
	return appendValues(a, b), nil
}

func fnExists(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	return !isUndef(arg(args, 0)), nil
}

func fnSpread(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	a := arg(args, 0)
	if !isArray(a) && !isObject(a) {
		return a, nil
	}
	var out []any
	if err := c.spread(a, &out); err != nil {
		return nil, err
	}
	if items, isArr := asArray(a); isArr {
		// The reference appends each item's spread to an empty sequence
		// with fn.append, which makes a plain array of it unless every
		// item is undefined.
		for _, it := range items {
			if !isUndef(it) {
				if out == nil {
					out = []any{}
				}
				return out, nil
			}
		}
		return newSeq(0), nil
	}
	return &seq{isSeq: true, items: out}, nil
}

// spread appends to out the one-key objects of a (mapped over arrays; other
// values as they are), in one pass rather than an append per item.
func (c *evalCtx) spread(a any, out *[]any) error {
	if items, ok := asArray(a); ok {
		for _, it := range items {
			if err := c.spread(it, out); err != nil {
				return err
			}
		}
		return nil
	}
	if isObject(a) {
		keys := objKeys(a)
		if err := c.build((slotBytes + objectBytes + keyBytes) * len(keys)); err != nil {
			return err
		}
		for _, k := range keys {
			v, _ := objGet(a, k)
			o := newObject(1)
			o.set(k, v)
			*out = append(*out, o)
		}
		return nil
	}
	if !isUndef(a) {
		*out = append(*out, a)
	}
	return nil
}

func fnMerge(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	a := arg(args, 0)
	if isUndef(a) {
		return undef, nil
	}
	items, _ := asArray(a)
	result := newObject(0)
	for _, it := range items {
		for _, k := range objKeys(it) {
			v, _ := objGet(it, k)
			result.set(k, v)
		}
	}
	return result, c.build(objectBytes + keyBytes*len(result.keys))
}

func fnReverse(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	a := arg(args, 0)
	if isUndef(a) {
		return undef, nil
	}
	items, _ := asArray(a)
	if len(items) <= 1 {
		return a, nil
	}
	if err := c.build(slotBytes * len(items)); err != nil {
		return nil, err
	}
	out := make([]any, len(items))
	for i, v := range items {
		out[len(items)-1-i] = v
	}
	return out, nil
}

func fnEach(c *evalCtx, args []any, _ any, env *frame) (any, error) {
	obj := arg(args, 0)
	f := arg(args, 1)
	result := newSeq(objLen(obj))
	for _, k := range objKeys(obj) {
		v, _ := objGet(obj, k)
		res, err := c.apply(f, hofArgs(f, v, k, obj), nil, env)
		if err != nil {
			return nil, err
		}
		if !isUndef(res) {
			result.push(res)
		}
	}
	return result, c.build(slotBytes * len(result.items))
}

func fnError(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	msg, _ := arg(args, 0).(string)
	if msg == "" {
		msg = "$error() function evaluated"
	}
	return nil, &Error{Code: "D3137", Message: msg}
}

func fnAssert(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	cond, _ := arg(args, 0).(bool)
	if !cond {
		msg, _ := arg(args, 1).(string)
		if msg == "" {
			msg = "$assert() statement failed"
		}
		return nil, &Error{Code: "D3141", Message: msg}
	}
	return undef, nil
}

func typeName(v any) any {
	switch v.(type) {
	case *undefinedType:
		return undef
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case []any, *seq:
		return "array"
	case *Function:
		return "function"
	case map[string]any, *object:
		return "object"
	}
	if isNumber(v) {
		return "number"
	}
	return "object"
}

func fnType(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	return typeName(arg(args, 0)), nil
}

// jsTruthy is JavaScript truthiness (used for user sort comparators).
func jsTruthy(v any) bool {
	switch x := v.(type) {
	case *undefinedType, nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	}
	if f, ok := toNumber(v); ok {
		return f != 0 && f == f
	}
	return true
}

func fnSort(c *evalCtx, args []any, _ any, env *frame) (any, error) {
	a := arg(args, 0)
	if isUndef(a) {
		return undef, nil
	}
	items, _ := asArray(a)
	if len(items) <= 1 {
		return a, nil
	}
	comparator := arg(args, 1)
	var swap func(x, y any) (bool, error)
	if isUndef(comparator) {
		allNum, allStr := true, true
		for _, it := range items {
			if _, ok, err := numeric(it); err != nil {
				return nil, err
			} else if !ok {
				allNum = false
			}
			if _, ok := it.(string); !ok {
				allStr = false
			}
		}
		if !allNum && !allStr {
			e := newErr("D3070")
			e.index = 1
			return nil, e
		}
		if allNum {
			swap = func(x, y any) (bool, error) { return num(x) > num(y), nil }
		} else {
			swap = func(x, y any) (bool, error) { return x.(string) > y.(string), nil }
		}
	} else {
		swap = func(x, y any) (bool, error) {
			r, err := c.apply(comparator, []any{x, y}, nil, env)
			if err != nil {
				return false, err
			}
			return jsTruthy(r), nil
		}
	}
	if err := c.build(2 * slotBytes * len(items)); err != nil {
		return nil, err
	}
	sorted, err := mergeSort(items, swap)
	if err != nil {
		return nil, err
	}
	return sorted, nil
}

func fnShuffle(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	a := arg(args, 0)
	if isUndef(a) {
		return undef, nil
	}
	items, _ := asArray(a)
	if len(items) <= 1 {
		return a, nil
	}
	if err := c.build(slotBytes * len(items)); err != nil {
		return nil, err
	}
	out := make([]any, len(items))
	for i, v := range items {
		j := rand.IntN(i + 1)
		if i != j {
			out[i] = out[j]
		}
		out[j] = v
	}
	return out, nil
}

func fnDistinct(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	a := arg(args, 0)
	if isUndef(a) {
		return undef, nil
	}
	items, ok := asArray(a)
	if !ok || len(items) <= 1 {
		return a, nil
	}
	if err := c.build(2 * slotBytes * len(items)); err != nil {
		return nil, err
	}
	// Strings, numbers, booleans and null are looked up in a map; only
	// arrays and objects are compared one by one (deepEqual), so that a
	// long list of scalars is not quadratic.
	out := make([]any, 0, len(items))
	seen := make(map[any]struct{}, len(items))
	var composites []any
	for _, v := range items {
		var key any
		switch x := v.(type) {
		case string, bool, nil:
			key = x
		default:
			if f, ok := toNumber(v); ok {
				if f != f {
					out = append(out, v) // NaN equals nothing
					continue
				}
				key = f
			}
		}
		if key != nil || v == nil {
			if _, dup := seen[key]; dup {
				continue
			}
			seen[key] = struct{}{}
			out = append(out, v)
			continue
		}
		dup := false
		for _, r := range composites {
			if deepEqual(v, r) {
				dup = true
				break
			}
		}
		if !dup {
			composites = append(composites, v)
			out = append(out, v)
		}
	}
	if isSequence(a) {
		return &seq{isSeq: true, items: out}, nil
	}
	return out, nil
}

// latin1 mirrors Buffer.from(str, 'binary'): each UTF-16 code unit keeps
// its low byte.
func latin1(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r >= 0x10000 {
			hi, lo := utf16.EncodeRune(r)
			out = append(out, byte(hi), byte(lo))
			continue
		}
		out = append(out, byte(r))
	}
	return out
}

func fnBase64Encode(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	s, ok := arg(args, 0).(string)
	if !ok {
		return undef, nil
	}
	if err := c.chargeBytes(3 * len(s)); err != nil { // latin1 copy and the code
		return nil, err
	}
	return base64.StdEncoding.EncodeToString(latin1(s)), nil
}

func fnBase64Decode(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	s, ok := arg(args, 0).(string)
	if !ok {
		return undef, nil
	}
	if err := c.chargeBytes(3 * len(s)); err != nil { // cleaned copy, bytes, runes
		return nil, err
	}
	// Node's decoder skips characters outside the alphabet and ignores
	// missing padding.
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= 'A' && ch <= 'Z', ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9', ch == '+', ch == '/':
			clean = append(clean, ch)
		case ch == '-':
			clean = append(clean, '+')
		case ch == '_':
			clean = append(clean, '/')
		case ch == '=':
			i = len(s)
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
	}
	b, err := base64.RawStdEncoding.DecodeString(string(clean))
	if err != nil {
		return "", nil
	}
	r := make([]rune, len(b))
	for i, x := range b {
		r[i] = rune(x)
	}
	return string(r), nil
}

func urlFn(name string, f func(string) (string, bool)) nativeFn {
	return func(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
		s, ok := arg(args, 0).(string)
		if !ok {
			return undef, nil
		}
		r, ok := f(s)
		if !ok {
			e := errVal("D3140", s)
			e.fnName = name
			return nil, e
		}
		return r, c.chargeBytes(len(r))
	}
}

const upperHex = "0123456789ABCDEF"

func encodeURIWith(s string, keep string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			for j := 0; j < size; j++ {
				b.WriteByte('%')
				b.WriteByte(upperHex[s[i+j]>>4])
				b.WriteByte(upperHex[s[i+j]&15])
			}
			i += size - 1
			continue
		}
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte(keep, ch) >= 0 {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[ch>>4])
		b.WriteByte(upperHex[ch&15])
	}
	return b.String(), true
}

func encodeURIComponentSafe(s string) (string, bool) { return encodeURIWith(s, "-_.!~*'()") }
func encodeURISafe(s string) (string, bool)          { return encodeURIWith(s, "-_.!~*'();/?:@&=+$,#") }

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decodeURI implements decodeURI/decodeURIComponent: %XX sequences must
// form valid UTF-8; escapes of characters in reserved are kept as is.
func decodeURI(s, reserved string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		start := i
		var buf []byte
		for i < len(s) && s[i] == '%' {
			if i+2 >= len(s) {
				return "", false
			}
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", false
			}
			buf = append(buf, h<<4|l)
			i += 3
			if buf[0] < 0x80 || utf8.FullRune(buf) {
				break
			}
		}
		i--
		if buf[0] < 0x80 {
			if strings.IndexByte(reserved, buf[0]) >= 0 {
				b.WriteString(s[start : start+3])
			} else {
				b.WriteByte(buf[0])
			}
			continue
		}
		r, size := utf8.DecodeRune(buf)
		if r == utf8.RuneError || size != len(buf) {
			return "", false
		}
		b.WriteRune(r)
	}
	return b.String(), true
}

func fnEval(c *evalCtx, args []any, input any, env *frame) (any, error) {
	expr, ok := arg(args, 0).(string)
	if !ok {
		return undef, nil
	}
	if focus := arg(args, 1); !isUndef(focus) {
		input = focus
		if arr, ok := focus.([]any); ok {
			input = &seq{isSeq: true, outerWrapper: true, items: []any{arr}}
		}
	}
	if err := c.build(32 * len(expr)); err != nil { // the syntax tree
		return nil, err
	}
	ast, err := parse(expr)
	if err != nil {
		msg := err.Error()
		if e, ok := err.(*Error); ok {
			msg = e.render()
		}
		return nil, errVal("D3120", msg)
	}
	res, err := c.eval(ast, input, env)
	if err != nil {
		if e, ok := err.(*Error); ok {
			switch e.Code {
			case "D1011", "D1012", "D1014", "D1016":
				return nil, err // limits are not the expression's fault
			}
			return nil, errVal("D3121", e.finish().Message)
		}
		return nil, err
	}
	return res, nil
}

func fnClone(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	a := arg(args, 0)
	if isUndef(a) {
		return undef, nil
	}
	if err := c.build(valueBytes(a, -1)); err != nil {
		return nil, err
	}
	return deepClone(a), nil
}

// valueBytes estimates the bytes a copy of v takes, looking depth levels
// into arrays and objects (all the way down when depth < 0): the charge
// for values built whole (clones, the results of Go functions).
func valueBytes(v any, depth int) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case []any:
		return itemsBytes(x, depth)
	case *seq:
		return itemsBytes(x.items, depth)
	case map[string]any:
		n := objectBytes + keyBytes*len(x)
		if depth != 0 {
			for k, e := range x {
				n += len(k) + valueBytes(e, depth-1)
			}
		}
		return n
	case *object:
		n := objectBytes + keyBytes*len(x.keys)
		if depth != 0 {
			for k, e := range x.m {
				n += len(k) + valueBytes(e, depth-1)
			}
		}
		return n
	}
	return 8
}

func itemsBytes(items []any, depth int) int {
	n := slotBytes * len(items)
	if depth != 0 {
		for _, e := range items {
			n += valueBytes(e, depth-1)
		}
	}
	return n
}
