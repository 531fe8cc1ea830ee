package intrinsic

import "testing"

// TestUsesRoot: whether a call may put the whole input ($) in its result
// is read from the parsed call, not from its text ('$' in a string is
// not the input).
func TestUsesRoot(t *testing.T) {
	for src, want := range map[string]bool{
		`States.Array($)`:                            true,
		`States.JsonMerge($.a, $, false)`:            true,
		`States.Array(States.Array($))`:              true,
		`States.Array($.a, $[0], $$.Execution.Name)`: false,
		`States.Format('costs $ {}', $.price)`:       false,
		`States.Format('{}', $var)`:                  false,
	} {
		f, err := Compile(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got := f.UsesRoot(); got != want {
			t.Errorf("%s: UsesRoot %v, want %v", src, got, want)
		}
	}
}
