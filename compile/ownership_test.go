package compile

import (
	"context"
	"testing"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// TestInPlaceResultPathIsInvisible checks that reusing objects in place
// (see express.Scope.OwnsInput) never changes what a workflow computes:
// no cycles, no change to the caller's input, to variables or to values a
// resource kept.
func TestInPlaceResultPathIsInvisible(t *testing.T) {
	var kept []any
	keep := express.InlineFunc(func(_ context.Context, r *express.TaskRequest) (any, error) {
		kept = append(kept, r.Input)
		return r.Input, nil // an echo: the result is the effective input
	})
	cases := []struct {
		name, def, input, output string
	}{
		{"pass without parameters copies itself",
			`{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":"$.a"},"Next":"B"},"B":{"Type":"Pass","ResultPath":"$.copy","Next":"C"},"C":{"Type":"Pass","ResultPath":"$.again","End":true}}}`,
			`{"a":1}`, `{"a":1,"copy":{"a":1},"again":{"a":1,"copy":{"a":1}}}`},
		{"echo task without parameters",
			`{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":"$.a"},"Next":"T"},"T":{"Type":"Task","Resource":"r","ResultPath":"$.r","Next":"U"},"U":{"Type":"Pass","Result":1,"ResultPath":"$.z","End":true}}}`,
			`{"a":1}`, `{"a":1,"r":{"a":1},"z":1}`},
		{"parallel branches see the input",
			`{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":"$.a"},"Next":"P"},"P":{"Type":"Parallel","ResultPath":"$.p","End":true,"Branches":[{"StartAt":"X","States":{"X":{"Type":"Pass","End":true}}}]}}}`,
			`{"a":1}`, `{"a":1,"p":[{"a":1}]}`},
		{"variable keeps the object",
			`{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":"$.a"},"Next":"B"},"B":{"Type":"Pass","Assign":{"v.$":"$"},"Next":"C"},"C":{"Type":"Pass","Result":2,"ResultPath":"$.b","Next":"D"},"D":{"Type":"Pass","Parameters":{"v.$":"$v","cur.$":"$"},"End":true}}}`,
			`{"a":1}`, `{"v":{"a":1},"cur":{"a":1,"b":2}}`},
		{"template with root reference",
			`{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":"$.a"},"Next":"B"},"B":{"Type":"Pass","Parameters":{"whole.$":"$"},"ResultPath":"$.w","Next":"C"},"C":{"Type":"Pass","Result":3,"ResultPath":"$.c","End":true}}}`,
			`{"a":1}`, `{"a":1,"w":{"whole":{"a":1}},"c":3}`},
		{"choice with assign keeps input",
			`{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":"$.a"},"Next":"C"},"C":{"Type":"Choice","Choices":[{"Variable":"$.a","NumericEquals":1,"Assign":{"v.$":"$"},"Next":"D"}]},"D":{"Type":"Pass","Result":5,"ResultPath":"$.d","Next":"E"},"E":{"Type":"Pass","Parameters":{"v.$":"$v","cur.$":"$"},"End":true}}}`,
			`{"a":1}`, `{"v":{"a":1},"cur":{"a":1,"d":5}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kept = nil
			wf, err := Compile([]byte(tc.def), Options{Invoker: keep})
			if err != nil {
				t.Fatal(err)
			}
			in := mustJSON(t, tc.input)
			before := jsonv.Marshal(in)
			for i := 0; i < 2; i++ {
				res := wf.Execute(context.Background(), in, express.ExecOptions{})
				if res.Status != express.Succeeded {
					t.Fatalf("%s: %s", res.Error, res.Cause)
				}
				if !jsonv.Equal(res.Output, mustJSON(t, tc.output)) {
					t.Fatalf("output %s, want %s", jsonv.Marshal(res.Output), tc.output)
				}
			}
			if after := jsonv.Marshal(in); after != before {
				t.Errorf("the caller's input changed: %s -> %s", before, after)
			}
			for _, k := range kept {
				if !jsonv.Equal(k, mustJSON(t, `{"a":1}`)) {
					t.Errorf("a value the resource kept changed: %s", jsonv.Marshal(k))
				}
			}
		})
	}
}
