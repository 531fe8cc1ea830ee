package jsonata

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unicode/utf16"
)

// TestUnitCursor checks the incremental UTF-16 offset conversion against
// the direct definition, in increasing and decreasing order.
func TestUnitCursor(t *testing.T) {
	units := func(s string, b int) int {
		n := 0
		for _, r := range s[:min(b, len(s))] {
			n += utf16.RuneLen(r)
		}
		return n
	}
	bytesAt := func(s string, u int) int {
		if u <= 0 {
			return 0
		}
		n := 0
		for i, r := range s {
			if n >= u {
				return i
			}
			n += utf16.RuneLen(r)
		}
		return len(s)
	}
	for _, s := range []string{"", "abc", "aé😀b", "😀😀x", "a\xffb\xfe", "日本語テキスト"} {
		var order []int
		for i := 0; i <= len(s)+1; i++ {
			order = append(order, i)
		}
		for i := len(s) + 1; i >= 0; i-- {
			order = append(order, i)
		}
		uc := unitCursor{s: s}
		for _, b := range order {
			if got, want := uc.units(b), units(s, b); got != want {
				t.Errorf("%q: units(%d) = %d, want %d", s, b, got, want)
			}
		}
		uc = unitCursor{s: s}
		for _, u := range order {
			if got, want := uc.bytes(u), bytesAt(s, u); got != want {
				t.Errorf("%q: bytes(%d) = %d, want %d", s, u, got, want)
			}
		}
	}
}

// testBudget is a Budget with a limit, as an execution's.
type testBudget struct {
	used, limit int
}

func (b *testBudget) Charge(n int) error {
	b.used += n
	if b.used > b.limit {
		return fmt.Errorf("limit of %d bytes exceeded", b.limit)
	}
	return nil
}

// Allocated is allocated for the external tests.
var Allocated = allocated

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestBudget: expressions that build far more than the budget fail with
// D1016 having allocated not much more than the budget; without a budget
// they would build hundreds of megabytes (or fail only at the 64 MiB string
// limit, or the step limit, after allocating gigabytes).
func TestBudget(t *testing.T) {
	// 32 MiB: a regex search over 250 KB that finds a match per character
	// allocates 35 MB (Go's FindAll) before its matches can be counted.
	const limit = 32 << 20
	big := strings.Repeat("abcdefghij", 25_000) // 250 KB
	input := map[string]any{"s": big, "n": int64(3)}
	for _, tc := range []struct{ name, expr string }{
		{"doubling", `$reduce([1..40], function($acc, $v) { $acc & $acc }, s)`},
		{"concat loop", `$reduce([1..1000], function($acc, $v) { $acc & s }, "")`},
		{"pad", `$pad("", 60000000)`},
		{"range", `[1..9000000]`},
		{"aws range", `$count($map([1..100], function() { $range(0, 999999) }))`},
		{"arrays", `$map([1..1000000], function($v) { [$v, $v, $v, $v, $v, $v, $v, $v] })`},
		{"objects", `$map([1..1000000], function($v) { {"a": $v, "b": $v} })`},
		{"match", `$match(s, /./)`},
		{"split", `$map([1..100], function() { $split(s, "") })`},
		{"split loop", `$map([1..100], function() { $split(s, "a") })`},
		{"string", `$map([1..1000], function() { $string([s, s]) })`},
		{"join", `$reduce([1..12], function($acc, $v) { $join([$acc, $acc], "") }, s)`},
		{"uppercase", `$map([1..1000], function() { $uppercase(s) })`},
		{"replace", `$map([1..1000], function() { $replace(s, "a", "AA") })`},
		{"replace regex", `$map([1..1000], function() { $replace(s, /a/, "AA") })`},
		{"sort", `$map([1..10000], function() { $sort([1..2000]) })`},
		{"filter", `$map([1..10000], function() { [1..2000][$ > 0] })`},
		{"path", `$map([1..1000], function() { $split(s, "j").$ })`},
		{"group", `$map([1..1000], function() { $split(s, "j"){$: $} })`},
		{"spread", `$spread($map([1..1000000], function($v) { {"k": $v} }))`},
		{"base64", `$map([1..1000], function() { $base64encode(s) })`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Compile(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			b := &testBudget{limit: limit}
			var res any
			n := allocated(func() {
				res, err = e.Eval(input, &Env{Budget: b, Funcs: StepFunctionsFuncs()})
			})
			je, ok := err.(*Error)
			if !ok || je.Code != "D1016" {
				t.Fatalf("got %v (%T), error %v; want a D1016 error", show(res), res, err)
			}
			if !strings.Contains(je.Error(), "limit of 33554432 bytes exceeded") {
				t.Errorf("error %q does not carry the budget's message", je.Error())
			}
			if n > 2*limit && !raceEnabled {
				t.Errorf("allocated %d MiB, more than twice the budget of %d MiB", n>>20, limit>>20)
			}
		})
	}
}

// TestBudgetSmall: ordinary expressions are charged little and succeed;
// the charges reach the budget when the evaluation ends.
func TestBudgetSmall(t *testing.T) {
	b := &testBudget{limit: 1 << 20}
	e := MustCompile(`{"id": deviceId, "tags": tags, "key": deviceId & "/" & type, "n": $count(tags)}`)
	in := map[string]any{"deviceId": "dev-42", "type": "temperature", "tags": []any{"a", "b"}}
	for range 100 {
		if _, err := e.Eval(in, &Env{Budget: b}); err != nil {
			t.Fatal(err)
		}
	}
	if b.used == 0 || b.used > 100*1024 {
		t.Errorf("100 evaluations charged %d bytes", b.used)
	}
}
