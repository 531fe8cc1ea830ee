package intrinsic

import (
	"errors"
	"testing"

	"github.com/stepstream/express/express"
)

var fuzzSeeds = []string{
	`States.Format('Hello, my name is {}.', $.name)`,
	`States.Format($.template, $.name)`,
	`States.Format('{}/{}/{}', $.deviceId, $.type, $.ts)`,
	`States.Format('\{\} {} \\ \'', States.ArrayLength($.items))`,
	`States.Format('{}', $.nested)`,
	`States.Format($.json, 1)`,
	`States.StringToJson($.json)`,
	`States.StringToJson('{"a": [1, 2.5e3, null]}')`,
	`States.JsonToString($.obj)`,
	`States.Array('Foo', 2020, $.obj2, null, true, -1.5e-3)`,
	`States.Array()`,
	`States.ArrayPartition($.arr, 2)`,
	`States.ArrayPartition($.arr, $.neg)`,
	`States.ArrayContains($.items, $.obj2)`,
	`States.ArrayRange(1, 9, 2)`,
	`States.ArrayRange($.n, -5, -1)`,
	`States.ArrayGetItem($.arr, $.n)`,
	`States.ArrayLength($.items)`,
	`States.ArrayUnique($.items)`,
	`States.Base64Encode($.name)`,
	`States.Base64Decode($.b64)`,
	`States.Hash($.name, 'SHA-512')`,
	`States.JsonMerge($.obj, $.obj2, false)`,
	`States.MathRandom($.n, 100)`,
	`States.MathRandom(1, 10, $.big)`,
	`States.MathAdd($.f, $.neg)`,
	`States.StringSplit($.s, ',;')`,
	`States.UUID()`,
	`States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.arn, '/'), 2), '.'), 1))`,
	`States.Format('{}', $$.Execution.Id)`,
	`States.Format('{}', $var.x)`,
	`States.ArrayLength($.items[*])`,
	`States.ArrayLength($..k)`,
	`States.Format('{}', $['name'])`,
	`States.Array($.items[?(@.k == 1)])`,
	`States.Format('He said \"hi\"')`,
	`States.Format('abc`,
	`States.Array(1,)`,
	`States.Array(01, 1., -, 1e999)`,
	`States.Array($.a[)`,
	`States.Foo(1)`,
	`States.MathAdd(1)`,
	`States.`,
	`States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array())))))))))))`,
	"States.StringSplit('Hello\nWorld', '\n')",
	`States.Format('{}', 'é\u2028😀')`,
	`States.Array($.a['x)`,
	`States.Array($.a["x\"])`,
}

// FuzzCompile compiles arbitrary text and evaluates what compiles against a
// fixed input. Nothing may panic; Compile may only fail with Errors and Eval
// only with a States.Runtime *express.Error.
func FuzzCompile(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	in := mustInput(f)
	in.(map[string]any)["arn"] = "arn:aws:imagebuilder:us-east-1:123:image-recipe/name.with.dots/1.0.0"
	f.Fuzz(func(t *testing.T, src string) {
		fn, err := Compile(src)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("Compile(%q) failed with %T %v, not Errors", src, err, err)
			}
			for _, e := range es {
				if e.Pos < 0 || e.Pos > len(src) {
					t.Fatalf("Compile(%q): position %d out of range", src, e.Pos)
				}
				_ = e.Snippet()
			}
			return
		}
		if fn.String() != src {
			t.Fatalf("String() = %q, want %q", fn.String(), src)
		}
		_, err = fn.Eval(nil, in)
		if err != nil {
			var e *express.Error
			if !errors.As(err, &e) || e.Name != express.ErrRuntime || e.Cause == "" {
				t.Fatalf("Eval(%q) failed with %T %v", src, err, err)
			}
		}
	})
}
