package intrinsic

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

const testInput = `{
	"name": "Arnav", "template": "Hello, my name is {}.", "items": [1, 2, 3, 2, "a", "a", {"k": 1}, {"k": 1}],
	"n": 5, "f": 2.5, "neg": -1.5, "big": 3000000000, "s": "a,b;;c", "obj": {"a": {"x": 1}, "b": 2},
	"obj2": {"a": 3, "c": [1]}, "nul": null, "t": true, "json": "{\"foo\": [1, 2.5, \"x\"]}",
	"b64": "RGF0YSB0byBlbmNvZGU=", "long": "", "deviceId": "dev-42", "ts": "2026-11-22T10:00:00Z",
	"type": "temperature", "arr": [1, 2, 3, 4, 5], "empty": [], "nested": [[1, 2], {"b": null, "a": "s"}]
}`

func mustInput(t testing.TB) any {
	v, err := jsonv.ParsePlain([]byte(testInput))
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	m["long"] = strings.Repeat("x", 10001)
	return m
}

// testInputs are the test input as a plain map and as the *jsonv.Object
// the engine builds (the fast paths of Format read those).
func testInputs(t testing.TB) map[string]any {
	m := mustInput(t).(map[string]any)
	obj := jsonv.NewObject(len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		obj.Put(k, m[k])
	}
	return map[string]any{"map": m, "object": obj}
}

func TestEval(t *testing.T) {
	for kind, in := range testInputs(t) {
		t.Run(kind, func(t *testing.T) { testEval(t, in) })
	}
}

func testEval(t *testing.T, in any) {
	cases := []struct {
		src  string
		want string // JSON
	}{
		// Format
		{`States.Format('Hello, my name is {}.', $.name)`, `"Hello, my name is Arnav."`},
		{`States.Format($.template, $.name)`, `"Hello, my name is Arnav."`},
		{`States.Format('{}/{}/{}', $.deviceId, $.type, $.ts)`, `"dev-42/temperature/2026-11-22T10:00:00Z"`},
		{`States.Format('{}{}', $.name, $.name)`, `"ArnavArnav"`},
		{`States.Format('{} and {}: {}', $.name, $.name, $.name)`, `"Arnav and Arnav: Arnav"`},
		{`States.Format('{}', $.empty)`, `"[]"`},
		{`States.Format('a{}b{}c', $.name, $.n)`, `"aArnavb5c"`},
		{`States.Format('{}', $.long)`, `"` + strings.Repeat("x", 10001) + `"`},
		{`States.Format('é{}{}{}{}{}{}{}{}', $.name, $.name, $.name, $.name, $.name, $.name, $.name, $.name)`, `"éArnavArnavArnavArnavArnavArnavArnavArnav"`},
		{`States.Format('{}', $.s)`, `"a,b;;c"`},
		{`States.Format('no placeholders')`, `"no placeholders"`},
		{`States.Format('{} {} {} {} {}', $.n, $.f, $.nul, $.t, $.obj)`, `"5 2.5 null true {a={x=1}, b=2}"`},
		{`States.Format('{}', $.nested)`, `"[[1, 2], {a=s, b=null}]"`},
		{`States.Format('\{\} is {} \\ it\'s', 'x')`, `"{} is x \\ it's"`},
		{`States.Format('{}', 1.0E10)`, `"1.0E10"`},
		{`States.Format('{}-{}', States.ArrayLength($.items), States.MathAdd($.n, 1))`, `"8-6"`},
		{`States.Format( '{}' , $.name )`, `"Arnav"`},
		{`States.Format('{}', 'a{}b')`, `"a{}b"`},
		// StringToJson / JsonToString
		{`States.StringToJson($.json)`, `{"foo":[1,2.5,"x"]}`},
		{`States.StringToJson('')`, `null`},
		{`States.StringToJson('{"a": 1}')`, `{"a":1}`},
		{`States.JsonToString($.obj)`, `"{\"a\":{\"x\":1},\"b\":2}"`},
		{`States.JsonToString($.f)`, `"2.5"`},
		{`States.JsonToString($.name)`, `"\"Arnav\""`},
		{`States.JsonToString(States.StringToJson($.json))`, `"{\"foo\":[1,2.5,\"x\"]}"`},
		// Array
		{`States.Array()`, `[]`},
		{`States.Array('Foo', 2020, $.obj2, null, true, 1.5)`, `["Foo",2020,{"a":3,"c":[1]},null,true,1.5]`},
		{`States.ArrayPartition($.arr, 2)`, `[[1,2],[3,4],[5]]`},
		{`States.ArrayPartition($.arr, 2.6)`, `[[1,2],[3,4],[5]]`},
		{`States.ArrayPartition($.empty, 3)`, `[]`},
		{`States.ArrayPartition($.arr, 3000000000)`, `[[1,2,3,4,5]]`},
		{`States.ArrayContains($.items, 'a')`, `true`},
		{`States.ArrayContains($.items, $.obj2)`, `false`},
		{`States.ArrayContains($.items, States.StringToJson('{"k":1}'))`, `true`},
		{`States.ArrayRange(1, 9, 2)`, `[1,3,5,7,9]`},
		{`States.ArrayRange(5, 1, -2)`, `[5,3,1]`},
		{`States.ArrayRange(5, 1, 1)`, `[]`},
		{`States.ArrayRange(3, 3, -1)`, `[3]`},
		{`States.ArrayRange(1.6, 1.4, 1)`, `[1]`},
		{`States.ArrayGetItem($.arr, 4)`, `5`},
		{`States.ArrayGetItem(States.StringSplit('a.b.c', '.'), 1)`, `"b"`},
		{`States.ArrayLength($.items)`, `8`},
		{`States.ArrayLength($.empty)`, `0`},
		{`States.ArrayUnique($.items)`, `[1,2,3,"a",{"k":1}]`},
		// Encoding
		{`States.Base64Encode('Data to encode')`, `"RGF0YSB0byBlbmNvZGU="`},
		{`States.Base64Decode($.b64)`, `"Data to encode"`},
		{`States.Base64Decode('RGF0YQ')`, `"Data"`},
		{`States.Hash('input data', 'SHA-1')`, `"aaff4a450a104cd177d28d18d74485e8cae074b7"`},
		{`States.Hash($.name, 'MD5')`, `"a3b6e2a9c4f0b3e2b06d8e1b1b0fe0b0"`},
		// JSON merge
		{`States.JsonMerge($.obj, $.obj2, false)`, `{"a":3,"b":2,"c":[1]}`},
		// Math
		{`States.MathAdd(111, -1)`, `110`},
		{`States.MathAdd($.f, $.neg)`, `2`},
		{`States.MathAdd(-0.5, 0)`, `0`},
		{`States.MathRandom(1, 2)`, `1`},
		{`States.MathRandom(7, 8, 42)`, `7`},
		// Strings
		{`States.StringSplit($.s, ',;')`, `["a","b","c"]`},
		{`States.StringSplit('1,2,3', ',')`, `["1","2","3"]`},
		{`States.StringSplit('abc', '')`, `["abc"]`},
		{`States.StringSplit('', ',')`, `[]`},
	}
	for _, c := range cases {
		t.Run(c.src, func(t *testing.T) {
			f, err := Compile(c.src)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			got, err := f.Eval(nil, in)
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			want, err := jsonv.ParsePlain([]byte(c.want))
			if err != nil {
				t.Fatal(err)
			}
			if c.src == `States.Hash($.name, 'MD5')` {
				if s, _ := got.(string); len(s) != 32 {
					t.Fatalf("got %v", got)
				}
				return
			}
			if !jsonv.Equal(got, want) {
				t.Fatalf("got %s, want %s", jsonv.Marshal(got), c.want)
			}
		})
	}
}

func TestHashAlgorithms(t *testing.T) {
	want := map[string]string{
		"MD5":     "812f45842bc6d66ee14572ce20db8e86",
		"SHA-1":   "aaff4a450a104cd177d28d18d74485e8cae074b7",
		"SHA-256": "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
		"SHA-384": "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562",
		"SHA-512": "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4",
	}
	for alg, sum := range want {
		f := MustCompile(`States.Hash($.d, $.a)`)
		got, err := f.Eval(nil, map[string]any{"d": "input data", "a": alg})
		if err != nil || got != sum {
			t.Errorf("%s: got %v, %v", alg, got, err)
		}
	}
}

func TestMathRandom(t *testing.T) {
	f := MustCompile(`States.MathRandom($.a, $.b)`)
	seen := map[int64]bool{}
	for i := 0; i < 2000; i++ {
		v, err := f.Eval(nil, map[string]any{"a": 12.5, "b": 44.51})
		if err != nil {
			t.Fatal(err)
		}
		n := v.(int64)
		if n < 12 || n >= 44 {
			t.Fatalf("%d out of [12, 44)", n)
		}
		seen[n] = true
	}
	if len(seen) != 32 {
		t.Errorf("saw %d distinct values, want all 32", len(seen))
	}
	seeded := MustCompile(`States.MathRandom($.a, $.b, $.seed)`)
	in := map[string]any{"a": int64(0), "b": int64(999), "seed": int64(3)}
	first, _ := seeded.Eval(nil, in)
	for i := 0; i < 10; i++ {
		if v, _ := seeded.Eval(nil, in); v != first {
			t.Fatalf("seeded MathRandom gave %v then %v", first, v)
		}
	}
	// java.util.Random(42).nextInt(10) is 0.
	if v, _ := MustCompile(`States.MathRandom(0, 10, 42)`).Eval(nil, nil); v != int64(0) {
		t.Errorf("seed 42: got %v, want Java's 0", v)
	}
}

func TestUUID(t *testing.T) {
	f := MustCompile(`States.UUID()`)
	a, _ := f.Eval(nil, nil)
	b, _ := f.Eval(nil, nil)
	if !uuidRE.MatchString(a.(string)) || a == b {
		t.Fatalf("got %v and %v", a, b)
	}
}

func TestRuntimeErrors(t *testing.T) {
	for kind, in := range testInputs(t) {
		t.Run(kind, func(t *testing.T) { testRuntimeErrors(t, in) })
	}
}

func testRuntimeErrors(t *testing.T, in any) {
	cases := []struct{ src, cause string }{
		{`States.Format('{}/{}', $.name, $.nope)`, `The JsonPath argument for the field '$.nope' could not be found in the input '{`},
		{`States.Format('{}', $.nope)`, `The function 'States.Format('{}', $.nope)' had the following error: The JsonPath argument for the field '$.nope' could not be found in the input '{`},
		{`States.Format('{}', $$.Execution.Id)`, `The JsonPath argument for the field '$.Execution.Id' could not be found`},
		{`States.Format('{}', $undefinedVar)`, `The JsonPath argument for the field '$undefinedVar' could not be found`},
		{`States.Format('{}', $.arr[10])`, `could not be found`},
		{`States.Format($.n, 1)`, `Invalid arguments in States.Format: the template (argument 1) must be a string, but was number 5`},
		{`States.Format($.template)`, `Invalid arguments in States.Format: number of arguments do not match the occurrences of {}.`},
		{`States.Format($.s, $.nope)`, `could not be found`},
		{`States.Format($.json, 1)`, `Invalid template in States.Format: matching '}' not found for '{'.`},
		{`States.StringToJson($.n)`, `Invalid arguments in States.StringToJson: argument 1 must be a string, but was number 5`},
		{`States.StringToJson($.name)`, `Invalid arguments in States.StringToJson: the string is not valid JSON`},
		{`States.StringToJson('[1, 1e999]')`, ``}, // compile-time: see TestCompileErrors
		{`States.ArrayLength($.name)`, `Invalid arguments in States.ArrayLength: argument 1 must be an array, but was string "Arnav"`},
		{`States.ArrayLength($.nul)`, `argument 1 must be an array, but was null`},
		{`States.ArrayPartition($.arr, $.neg)`, `Invalid arguments in States.ArrayPartition: the chunk size (argument 2) must be a positive integer`},
		{`States.ArrayPartition($.arr, $.nul)`, `Invalid arguments in States.ArrayPartition: argument 2 must be a number, but was null`},
		{`States.ArrayRange($.n, 1, $.nul)`, `Invalid arguments in States.ArrayRange: argument 3 must be a number`},
		{`States.ArrayRange(1, $.n, States.MathAdd($.n, -5))`, `the step (argument 3) must not be 0`},
		{`States.ArrayRange(1, $.big, 1)`, `argument 2 must be an integer between -2147483648 and 2147483647`},
		{`States.ArrayRange(0, States.MathAdd(1000, $.n), 1)`, `the range would have 1006 items; an array can hold at most 1000`},
		{`States.ArrayGetItem($.arr, $.n)`, `Invalid arguments in States.ArrayGetItem: the index 5 is out of bounds for an array of length 5`},
		{`States.ArrayGetItem($.arr, $.f)`, `the index (argument 2) must be an integer, but was number 2.5`},
		{`States.ArrayUnique($.obj)`, `Invalid arguments in States.ArrayUnique: argument 1 must be an array, but was object {"a":{"x":1},"b":2}`},
		{`States.Base64Encode($.long)`, `Invalid arguments in States.Base64Encode: the string is 10001 characters long; at most 10000 are allowed`},
		{`States.Base64Decode($.long)`, `the string is 10001 characters long`},
		{`States.Base64Decode($.name)`, `Invalid arguments in States.Base64Decode: the string is not valid Base64`},
		{`States.Hash($.long, 'MD5')`, `Invalid arguments in States.Hash: the string is 10001 characters long`},
		{`States.Hash($.name, $.name)`, `Invalid arguments in States.Hash: unknown hashing algorithm "Arnav": use one of MD5, SHA-1, SHA-256, SHA-384, SHA-512`},
		{`States.JsonMerge($.obj, $.arr, false)`, `Invalid arguments in States.JsonMerge: argument 2 must be an object, but was array [1,2,3,4,5]`},
		{`States.JsonMerge($.obj, $.obj2, $.t)`, `Invalid arguments in States.JsonMerge: deep merging is not supported`},
		{`States.MathAdd($.name, 1)`, `Invalid arguments in States.MathAdd: argument 1 must be a number, but was string "Arnav"`},
		{`States.MathAdd($.big, 1)`, `Invalid arguments in States.MathAdd: argument 1 must be an integer between -2147483648 and 2147483647, but was number 3000000000`},
		{`States.MathRandom($.n, $.n)`, `Invalid arguments in States.MathRandom: the start (5) must be less than the end (5)`},
		{`States.MathRandom(1.4, $.f)`, `the start (1) must be less than the end (2)`[:0] + `States.MathRandom`},
		{`States.MathRandom($.n, 10, $.nul)`, `Invalid arguments in States.MathRandom: argument 3 must be a number, but was null`},
		{`States.StringSplit($.name, $.n)`, `Invalid arguments in States.StringSplit: argument 2 must be a string, but was number 5`},
		{`States.Array(1, States.ArrayGetItem($.arr, 9))`, `The function 'States.Array(1, States.ArrayGetItem($.arr, 9))' had the following error: Invalid arguments in States.ArrayGetItem`},
	}
	for _, c := range cases {
		if c.cause == "" {
			continue
		}
		t.Run(c.src, func(t *testing.T) {
			f, err := Compile(c.src)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			v, err := f.Eval(nil, in)
			if c.src == `States.MathRandom(1.4, $.f)` { // truncated bounds 1 and 2: always 1
				if err != nil || v != int64(1) {
					t.Fatalf("got %v, %v", v, err)
				}
				return
			}
			var e *express.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, %v; want an *express.Error", v, err)
			}
			if e.Name != express.ErrRuntime || !strings.Contains(e.Cause, c.cause) {
				t.Fatalf("got %s: %s\nwant cause containing %s", e.Name, e.Cause, c.cause)
			}
			if !strings.HasPrefix(e.Cause, "The function '"+c.src+"' had the following error: ") {
				t.Fatalf("cause %q does not name the function", e.Cause)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct{ src, msg string }{
		{`States.Foo($.a)`, `column 1: unknown function States.Foo`},
		{`States.Fromat('x')`, `unknown function States.Fromat (did you mean States.Format?)`},
		{`States.format('{}', $.a)`, `did you mean States.Format? function names are case-sensitive`},
		{`States.Format()`, `States.Format takes at least 1 argument, but 0 were given`},
		{`States.MathAdd(1)`, `States.MathAdd takes exactly 2 arguments, but 1 was given`},
		{`States.MathRandom(1, 2, 3, 4)`, `States.MathRandom takes 2 or 3 arguments, but 4 were given`},
		{`States.UUID(1)`, `States.UUID takes no arguments, but 1 was given`},
		{`States.ArrayLength('abc')`, `column 20: argument 1 of States.ArrayLength must be an array, but it is the string literal 'abc'`},
		{`States.ArrayLength(States.Format('x'))`, `argument 1 of States.ArrayLength must be an array, but it is a call to States.Format, which returns a string`},
		{`States.MathAdd('1', 2)`, `argument 1 of States.MathAdd must be a number`},
		{`States.JsonMerge($.a, $.b, 'false')`, `argument 3 of States.JsonMerge must be a boolean`},
		{`States.JsonMerge($.a, $.b, true)`, `States.JsonMerge supports only shallow merging`},
		{`States.Hash($.a, 'SHA256')`, `unknown hashing algorithm 'SHA256'`},
		{`States.Format('{} {}', $.a)`, `the States.Format template has 2 placeholders ({}) but 1 argument follows it`},
		{`States.Format('{}')`, `has 1 placeholder ({}) but 0 arguments follow it`},
		{`States.Format('{ x', $.a)`, `invalid States.Format template '{ x': matching '}' not found for '{'`},
		{`States.Format(1, $.a)`, `argument 1 of States.Format must be a string, but it is the number 1`},
		{`States.Format('He said \"hi\"')`, `column 24: invalid escape \" in a string literal`},
		{`States.Format('abc`, `unterminated string literal`},
		{`States.Format('abc'`, `missing ')' to close States.Format(`},
		{`States.Format('abc') x`, `unexpected 'x' after the end of the call`},
		{`States.Format('a' 'b')`, `expected ',' or ')' in the arguments of States.Format`},
		{`States.Array(1,)`, `expected an argument, found ')'`},
		{`States.Array(,1)`, `expected an argument, found ','`},
		{`States.Array(foo)`, `unexpected "foo"`},
		{`States.Array("x")`, `string arguments are written in single quotes`},
		{`States.Array(01)`, `leading zeros`},
		{`States.Array(1.)`, `expected digits after '.'`},
		{`States.Array(-)`, `expected a digit after '-'`},
		{`States.Array(1e999)`, `out of range`},
		{`States.Array($.a[)`, `is not a valid JSONPath`},
		{`States.Array($.a[0`, `unbalanced brackets`},
		{`States.Array($.a b)`, `expected ',' or ')'`},
		{`States.Array($1bad)`, `not a valid variable name`},
		{`States.Array(Format(1))`, `unknown function "Format"`},
		{`States.(1)`, `expected a function name`},
		{`States.Array`, `expected '(' after States.Array`},
		{`Foo.Array()`, `must start with "States."`},
		{`States.ArrayRange(1, 10, 0)`, `Invalid arguments in States.ArrayRange: the step (argument 3) must not be 0`},
		{`States.ArrayRange(1, 2000, 1)`, `the range would have 2000 items`},
		{`States.MathRandom(1.4, 1.6, 1)`, `the start (1) must be less than the end (1)`},
		{`States.StringToJson('{')`, `the string is not valid JSON`},
		{`States.StringToJson('[1, 1e999]')`, `out of range`},
		{`States.Base64Decode('!!')`, `not valid Base64`},
		{`States.Array(` + strings.Repeat(`States.Array(`, 10) + strings.Repeat(`)`, 11), `nested more than 10 deep`},
	}
	for _, c := range cases {
		t.Run(c.src, func(t *testing.T) {
			f, err := Compile(c.src)
			if err == nil {
				t.Fatalf("compiled to %v; want an error containing %q", f, c.msg)
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T %v is not Errors", err, err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("error %q\nwant it to contain %q", err, c.msg)
			}
		})
	}
}

func TestCompileCollectsErrors(t *testing.T) {
	_, err := Compile(`States.Array(States.Foo(1), States.MathAdd('a', 1), States.UUID(2))`)
	var es Errors
	if !errors.As(err, &es) || len(es) != 3 {
		t.Fatalf("got %v, want 3 problems", err)
	}
	if got := es[1].Snippet(); !strings.HasSuffix(got, "\n"+strings.Repeat(" ", 43)+"^") {
		t.Errorf("snippet:\n%s", got)
	}
}

func TestDepthTen(t *testing.T) {
	src := strings.Repeat(`States.Array(`, 10) + strings.Repeat(`)`, 10)
	if _, err := Compile(src); err != nil {
		t.Fatal(err)
	}
}

func TestFolding(t *testing.T) {
	f := MustCompile(`States.Format('{}-{}', States.MathAdd(1, 2), States.Hash('a', 'MD5'))`)
	if _, ok := f.root.(*litNode); !ok {
		t.Fatalf("constant call not folded: %T", f.root)
	}
	// Array results are not shared between evaluations.
	g := MustCompile(`States.Array(1, 2)`)
	a, _ := g.Eval(nil, nil)
	b, _ := g.Eval(nil, nil)
	a.([]any)[0] = "changed"
	if b.([]any)[0] != int64(1) {
		t.Fatal("States.Array result shared between evaluations")
	}
	// Impure calls are not folded.
	if _, ok := MustCompile(`States.UUID()`).root.(*litNode); ok {
		t.Fatal("States.UUID folded")
	}
	if _, ok := MustCompile(`States.MathRandom(1, 100)`).root.(*litNode); ok {
		t.Fatal("unseeded States.MathRandom folded")
	}
}

func TestIsIntrinsic(t *testing.T) {
	for s, want := range map[string]bool{
		"States.Format('x')": true, "States.UUID()": true, "$.a": false, "States.Format": false, "states.Format()": false, "$$.Execution.Id": false,
	} {
		if IsIntrinsic(s) != want {
			t.Errorf("IsIntrinsic(%q) = %v", s, !want)
		}
	}
}

func TestAppendDouble(t *testing.T) {
	for f, want := range map[float64]string{
		1.1: "1.1", 100: "100.0", 1e7: "1.0E7", 1234567.5: "1234567.5", 123456789.5: "1.234567895E8",
		0.001: "0.001", 0.0001: "1.0E-4", -2.5e-10: "-2.5E-10", 1e21: "1.0E21", 0: "0.0",
	} {
		if got := string(appendDouble(nil, f)); got != want {
			t.Errorf("appendDouble(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestJSONEscaping(t *testing.T) {
	got, err := MustCompile(`States.JsonToString($.s)`).Eval(nil, map[string]any{"s": "a\"b\\c\n\x01</>é"})
	if err != nil || got != `"a\"b\\c\n\u0001</>é"` {
		t.Fatalf("got %v, %v", got, err)
	}
}

// TestJavaRandom pins the generator to java.util.Random's sequence.
func TestJavaRandom(t *testing.T) {
	for seed, want := range map[int64]int32{42: -1170105035, 0: -1155484576} {
		r := newJavaRandom(seed)
		if got := r.next(32); got != want {
			t.Errorf("new Random(%d).nextInt() = %d, want %d", seed, got, want)
		}
	}
}
