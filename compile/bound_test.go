package compile

import (
	"testing"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// TestTemplateInputBound: given a small bound of its input, a template
// counts that bound for each "$.x" field (evalIn) instead of working out
// the value's own: its bound is then larger than the one worked out value
// by value, never smaller than the payload's size; given a large bound or
// none, it works the values' bounds out as before.
func TestTemplateInputBound(t *testing.T) {
	c := &compiler{}
	tmpl := c.compileTemplate(map[string]any{
		"a.$": "$.a", "b.$": "$.b", "n.$": "$.n", "lit": "fixed",
		"sub": map[string]any{"s.$": "$.s", "deep.$": "$.o.p"},
	}, "/Parameters")
	if len(c.problems) > 0 || tmpl == nil {
		t.Fatalf("compile: %v", c.problems)
	}
	in, err := jsonv.Parse([]byte(`{"a": "xyz", "b": [1, 2, 3], "n": 1.5, "s": "é\"q", "o": {"p": "deep value"}}`))
	if err != nil {
		t.Fatal(err)
	}
	inSize := len(jsonv.AppendJSON(nil, in))
	_, precise, err := tmpl.evalIn(nil, in, -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, bound := range []int{-1, inSize, 2 * inSize, express.MaxPayloadBytes} {
		out, n, err := tmpl.evalIn(nil, in, bound)
		if err != nil {
			t.Fatal(err)
		}
		if size := len(jsonv.AppendJSON(nil, out)); n < size {
			t.Errorf("input bound %d: payload bound %d under its size %d", bound, n, size)
		}
		loose := bound >= 0 && bound <= express.MaxPayloadBytes/16
		switch {
		case loose && n <= precise:
			t.Errorf("input bound %d: payload bound %d, want the input's counted per field (above %d)", bound, n, precise)
		case !loose && n != precise:
			t.Errorf("input bound %d: payload bound %d, want %d worked out value by value", bound, n, precise)
		}
	}
}
