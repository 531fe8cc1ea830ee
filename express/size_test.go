package express

import (
	"strings"
	"testing"

	"github.com/stepstream/express/internal/jsonv"
)

// walkBound is SizeBound without its shortcuts: the general walk.
func walkBound(v any) int {
	left := MaxPayloadBytes
	if !fitsBound(v, &left) {
		return MaxPayloadBytes + 1
	}
	return MaxPayloadBytes - left
}

// TestSizeBound checks that SizeBound's shortcut for flat arrays gives
// what the general walk gives, and that every bound holds the value's
// compact JSON.
func TestSizeBound(t *testing.T) {
	big := strings.Repeat("x", MaxPayloadBytes/6)
	obj := jsonv.NewObject(1)
	obj.Put("k", []any{"a"})
	cases := []any{
		[]any{},
		[]any{"roof", "north"},
		[]any{int64(1), 2.5, nil, true, "é\n"},
		[]any{"a", []any{"b"}},
		[]any{map[string]any{"a": "b"}},
		[]any{obj},
		[]any{big},      // just under the limit: 6*len+2+2+1
		[]any{big, big}, // over it
		[]any{big, "x", big},
		"plain", int64(7), nil,
	}
	for _, v := range cases {
		got, want := SizeBound(v), walkBound(v)
		if got != want {
			t.Errorf("SizeBound(%.40s) = %d, the walk gives %d", jsonv.AppendJSON(nil, v), got, want)
		}
		if n := len(jsonv.AppendJSON(nil, v)); got <= MaxPayloadBytes && got < n {
			t.Errorf("SizeBound(%.40s) = %d, below its size %d", jsonv.AppendJSON(nil, v), got, n)
		}
	}
}
