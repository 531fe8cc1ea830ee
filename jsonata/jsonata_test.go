package jsonata

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustJSON(t testing.TB, s string) any {
	t.Helper()
	v, err := decodeJSON([]byte(s))
	if err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	return v
}

// evalCase is one row of the table tests: input and expected output are
// JSON text; want "undefined" means Undefined; code means an error.
type evalCase struct {
	name  string
	expr  string
	input string
	want  string
	code  string
}

func runTable(t *testing.T, cases []evalCase, env *Env) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var input any = Undefined
			if tc.input != "" {
				input = mustJSON(t, tc.input)
			}
			e, err := Compile(tc.expr)
			var got any
			if err == nil {
				got, err = e.Eval(input, env)
			}
			if tc.code != "" {
				var je *Error
				if !errors.As(err, &je) || je.Code != tc.code {
					t.Fatalf("%s: want error %s, got %v (result %s)", tc.expr, tc.code, err, show(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: unexpected error %v", tc.expr, err)
			}
			if tc.want == "undefined" {
				if got != Undefined {
					t.Fatalf("%s: want undefined, got %s", tc.expr, show(got))
				}
				return
			}
			if !jsonEqual(got, mustJSON(t, tc.want), false) {
				t.Fatalf("%s: want %s, got %s", tc.expr, tc.want, show(got))
			}
		})
	}
}

const reading = `{"deviceId":"dev-42","ts":"2026-11-22T10:00:00Z","type":"temperature","value":21.7,"unit":"C","battery":0.83,"tags":["roof","north"]}`

func TestSequenceSemantics(t *testing.T) {
	doc := `{"a":[{"b":1},{"b":[2,3]},{"c":4}],"one":[{"b":7}],"s":"x","n":null}`
	runTable(t, []evalCase{
		{"singleton collapses", "one.b", doc, "7", ""},
		{"keep singleton array", "one.b[]", doc, "[7]", ""},
		{"mapping flattens", "a.b", doc, "[1,2,3]", ""},
		{"missing is undefined", "a.zz", doc, "undefined", ""},
		{"null is a value", "n", doc, "null", ""},
		{"index predicate", "a[1].b", doc, "[2,3]", ""},
		{"negative index", "a[-1].c", doc, "4", ""},
		{"filter predicate", "a[b=1]", doc, `{"b":1}`, ""},
		{"array constructor keeps nesting", "[a.b, [5]]", doc, "[1,2,3,[5]]", ""},
		{"array input is one value", "$", "[1,2]", "[1,2]", ""},
		{"wildcard", "one.*", doc, "7", ""},
		{"descendants", "$sum(**.b)", doc, "13", ""},
		{"count of undefined", "$count(nothing)", doc, "0", ""},
		{"positional binding", "a#$i[$i>0].b", doc, "[2,3]", ""},
		{"context binding", "a@$x.$x.c", doc, "4", ""},
		{"parent", "a.b.%.c", `{"a":[{"b":1,"c":2}]}`, "2", ""},
		{"group by", `a{"k": $count(b)}`, `{"a":[{"b":1}]}`, `{"k":1}`, ""},
		{"order by desc", "[3,1,2]^(>$)", "", "[3,2,1]", ""},
		{"range", "[1..3]", "", "[1,2,3]", ""},
		{"int64 input", "x + 1", `{"x": 41}`, "42", ""},
		{"int and float equal", "x = 1.0", `{"x": 1}`, "true", ""},
		{"object keeps insertion order", `$keys({"b":1,"a":2})`, "", `["b","a"]`, ""},
		{"string of object", `$string({"b":1,"a":[true,null]})`, "", `"{\"b\":1,\"a\":[true,null]}"`, ""},
		{"number formatting", `$string(1e21) & " " & $string(0.1+0.2) & " " & $string(1e-7)`, "", `"1e+21 0.3 1e-7"`, ""},
		{"transform", `$ ~> |a|{"z":1},["b"]|`, `{"a":{"b":1,"c":2}}`, `{"a":{"c":2,"z":1}}`, ""},
		{"closures", `($add := function($x){function($y){$x+$y}}; $add(2)(3))`, "", "5", ""},
		{"partial application", `$substring(?, 0, 2)("hello")`, "", `"he"`, ""},
		{"chain", `"a b" ~> $uppercase ~> $split(" ")`, "", `["A","B"]`, ""},
		{"function composition", `($f := $uppercase ~> $trim; $f(" x "))`, "", `"X"`, ""},
		{"regex", `$match("ab12cd34", /[0-9]+/).match`, "", `["12","34"]`, ""},
		{"replace with groups", `$replace("John Smith", /(\w+)\s(\w+)/, "$2, $1")`, "", `"Smith, John"`, ""},
		{"elvis", `x ?: "d"`, `{"x": 0}`, `"d"`, ""},
		{"coalesce", `x ?? "d"`, `{"x": 0}`, `0`, ""},
		{"tail recursion", `($f := function($n, $a){$n = 0 ? $a : $f($n-1, $a+1)}; $f(100000, 0))`, "", "100000", ""},
		{"banker's rounding", `[$round(2.5), $round(3.5), $round(-0.5), $round(1.005, 2)]`, "", "[2,4,0,1]", ""},
		{"signature context", `s.$uppercase()`, `{"s":"abc"}`, `"ABC"`, ""},
		{"date round trip", `$fromMillis($toMillis("2026-11-22T10:00:00Z"))`, "", `"2026-11-22T10:00:00.000Z"`, ""},
		{"format number", `$formatNumber(1234.5678, "#,##0.00")`, "", `"1,234.57"`, ""},
	}, nil)
}

func TestUndefinedPropagation(t *testing.T) {
	runTable(t, []evalCase{
		{"arith", "nothing + 1", `{}`, "undefined", ""},
		{"compare", "nothing > 1", `{}`, "undefined", ""},
		{"equality is false", "nothing = 1", `{}`, "false", ""},
		{"concat treats as empty", `nothing & "x"`, `{}`, `"x"`, ""},
		{"function", "$uppercase(nothing)", `{}`, "undefined", ""},
		{"object drops key", `{"a": nothing, "b": 1}`, `{}`, `{"b":1}`, ""},
		{"array drops item", `[nothing, 1]`, `{}`, `[1]`, ""},
		{"no input", "a", "", "undefined", ""},
		{"empty block", "()", "", "undefined", ""},
		{"condition without else", "false ? 1", "", "undefined", ""},
		{"and with undefined", "nothing and true", `{}`, "false", ""},
		{"exists", "$exists(nothing)", `{}`, "false", ""},
	}, nil)
}

func TestErrorCodes(t *testing.T) {
	runTable(t, []evalCase{
		{"syntax", "1 +", "", "", "S0207"},
		{"unclosed string", `"abc`, "", "", "S0101"},
		{"bad token", "a ! b", "", "", "S0204"},
		{"unary misuse", ")", "", "", "S0211"},
		{"expected", "(1", "", "", "S0203"},
		{"assign to non-variable", "a := 1", "", "", "S0212"},
		{"number step", "a.1", "", "", "S0213"},
		{"parent at top", "%", "", "", "S0217"},
		{"empty regex", "//", "", "", "S0301"},
		{"lookahead unsupported", `$match("a", /(?=a)/)`, "", "", "S0303"},
		{"bad signature", "function($x)<n<n>>{1}", "", "", "S0401"},
		{"left not number", `"a" + 1`, "", "", "T2001"},
		{"right not number", `1 + "a"`, "", "", "T2002"},
		{"compare types", `1 < "a"`, "", "", "T2009"},
		{"compare objects", `{} < 1`, "", "", "T2010"},
		{"non-function", "$x()", "", "", "T1006"},
		{"forgot dollar", "uppercase('a')", "", "", "T1005"},
		{"signature mismatch", `$uppercase(1)`, "", "", "T0410"},
		{"array type", `$sum(["a"])`, "", "", "T0412"},
		{"cast", `$number("x")`, "", "", "D3030"},
		{"error fn", `$error("boom")`, "", "", "D3137"},
		{"assert", `$assert(false)`, "", "", "D3141"},
		{"key not string", `{1: 2}`, "", "", "T1003"},
		{"duplicate key", `{"a":1, "a":2}`, "", "", "D1009"},
		{"range too big", "[1..20000000]", "", "", "D2014"},
		{"negate string", `-"a"`, "", "", "D1002"},
		{"infinity", `1/0 + 1`, "", "", "D1001"},
		{"single", `$single([1,2], function($v){true})`, "", "", "D3138"},
	}, nil)
	e, err := Compile("1 +")
	if e != nil || err == nil || !strings.HasPrefix(err.Error(), "S0207: ") {
		t.Fatalf("Error() rendering: %v", err)
	}
	_, err = MustCompile("$x()").Eval(nil, nil)
	if err.Error() != "T1006: Attempted to invoke a non-function" {
		t.Fatalf("Error() rendering: %q", err.Error())
	}
}

func TestLimits(t *testing.T) {
	infinite := `($f := function($n){$f($n+1)}; $f(0))`
	deep := `($f := function($n){$n + $f($n+1)}; $f(0))`
	runTable(t, []evalCase{
		{"step budget stops tail loop", infinite, "", "", "D1014"},
		{"depth stops recursion", deep, "", "", "D1011"},
		{"huge pad", `$pad("", 1e12)`, "", "", "D1015"},
	}, &Env{MaxSteps: 100000, MaxDepth: 200})

	e := MustCompile(infinite)
	start := time.Now()
	_, err := e.Eval(nil, &Env{MaxSteps: 1 << 50, Deadline: time.Now().Add(50 * time.Millisecond)})
	var je *Error
	if !errors.As(err, &je) || je.Code != "D1012" {
		t.Fatalf("deadline: got %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("deadline overshot: %v", time.Since(start))
	}
	// the default budget also ends an infinite loop
	if _, err := e.Eval(nil, nil); err == nil {
		t.Fatal("default limits let an infinite loop run")
	}
}

func TestEnv(t *testing.T) {
	up, err := NewFunc("shout", "<s:s>", func(args []any) (any, error) {
		return strings.ToUpper(args[0].(string)) + "!", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{
		Vars:  MapVars{"limit": int64(30), "name": "x"},
		Funcs: map[string]Func{"shout": up, "string": {}},
		Now:   time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
	}
	runTable(t, []evalCase{
		{"var", "value > $limit", `{"value": 31}`, "true", ""},
		{"go func", `$shout($name)`, "", `"X!"`, ""},
		{"go func signature", `$shout(1)`, "", "", "T0410"},
		{"hidden builtin", `$string(1)`, "", "", "T1006"},
		{"local shadows var", `($limit := 1; $limit)`, "", "1", ""},
		{"now", `$now()`, "", `"2026-11-22T10:00:00.000Z"`, ""},
		{"millis", `$millis()`, "", "1795341600000", ""},
	}, env)
}

func TestStepFunctionsFuncs(t *testing.T) {
	env := &Env{Funcs: StepFunctionsFuncs()}
	runTable(t, []evalCase{
		{"partition", "$partition([1,2,3,4,5,6,7,8,9], 4)", "", "[[1,2,3,4],[5,6,7,8],[9]]", ""},
		{"partition bad size", "$partition([1], 0)", "", "", "D3150"},
		{"range", "$range(0, 10, 2)", "", "[0,2,4,6,8,10]", ""},
		{"range reverse", "$range(3, 1, -1)", "", "[3,2,1]", ""},
		{"range zero step", "$range(0, 1, 0)", "", "", "D3150"},
		{"hash", `$hash("input data", "SHA-256")`, "", `"b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"`, ""},
		{"hash md5", `$hash("abc", "MD5")`, "", `"900150983cd24fb0d6963f7d28e17f72"`, ""},
		{"hash bad alg", `$hash("abc", "CRC")`, "", "", "D3150"},
		{"seeded random", `$random(7) = $random(7)`, "", "true", ""},
		{"random range", `($r := $random(); $r >= 0 and $r < 1)`, "", "true", ""},
		{"uuid", `$length($uuid()) = 36 and $substring($uuid(), 14, 1) = "4"`, "", "true", ""},
		{"parse", `$parse('{"a":[1,2.5,"x"]}').a`, "", `[1,2.5,"x"]`, ""},
		{"parse error", `$parse('{')`, "", "", "D3150"},
		{"eval disabled", `$eval("1")`, "", "", "T1006"},
	}, env)
	// $eval stays in the core library
	runTable(t, []evalCase{{"eval", `$eval("1+1")`, "", "2", ""}}, nil)
}

func TestConcurrentEval(t *testing.T) {
	e := MustCompile(`{"id": deviceId, "v": value, "status": value > 30 ? "ALERT" : "OK", "tags": tags[], "n": $count(tags)}`)
	input := mustJSON(t, reading)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				r, err := e.Eval(input, nil)
				if err != nil {
					t.Error(err)
					return
				}
				m := r.(map[string]any)
				if m["status"] != "OK" || m["n"] != 2.0 {
					t.Errorf("bad result %v", m)
					return
				}
			}
		}()
	}
	wg.Wait()
	// input untouched
	if !jsonEqual(input, mustJSON(t, reading), false) {
		t.Fatal("input was modified")
	}
}

func TestFunctionResult(t *testing.T) {
	r, err := MustCompile("function($x){$x}").Eval(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.(*Function); !ok {
		t.Fatalf("want *Function, got %T", r)
	}
	if !IsUndefined(Undefined) || IsUndefined(nil) {
		t.Fatal("IsUndefined")
	}
}

func TestTransformDoesNotMutateInput(t *testing.T) {
	input := mustJSON(t, `{"a":{"b":1},"list":[{"x":1},{"x":2}]}`)
	r, err := MustCompile(`$ ~> |list|{"y": x * 10}, ["x"]|`).Eval(input, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(r, mustJSON(t, `{"a":{"b":1},"list":[{"y":10},{"y":20}]}`), false) {
		t.Fatalf("got %s", show(r))
	}
	if !jsonEqual(input, mustJSON(t, `{"a":{"b":1},"list":[{"x":1},{"x":2}]}`), false) {
		t.Fatal("input modified")
	}
}
