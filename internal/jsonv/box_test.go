package jsonv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestParseSlabs parses documents with more strings and numbers than one
// slab holds, drops the parser's other references, collects garbage and
// overwrites the input, and checks every value against encoding/json: the
// values in the slabs must stay valid on their own.
func TestParseSlabs(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"list":[`)
	for i := range 500 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"s":"str-%d","i":%d,"f":%d.5,"neg":-%d,"small":%d,"e":""}`, i, i*1000, i, i, i%200)
	}
	sb.WriteString(`],"arrays":[`)
	for n := range 11 { // every small-array size class and beyond
		if n > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('[')
		for i := range n {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `"e%d",[%d]`, i, i*7777)
		}
		sb.WriteByte(']')
	}
	sb.WriteString(`],"big":12345678901234567890,"esc":"a\nb"}`)
	in := []byte(sb.String())
	want := stdValue(t, in)

	var p Parser
	got, err := p.Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 'x'
	}
	for range 3 {
		p.Parse([]byte(`{"other":"document","n":[1.5,2.5,"x"]}`)) // reuses the parser's scratch
		runtime.GC()
	}
	if !Equal(Plain(got), want) {
		t.Fatalf("values changed after GC:\n%s", AppendJSON(nil, got))
	}
	// the dynamic types are the usual ones
	get := func(v any, k string) any { x, _ := v.(*Object).Get(k); return x }
	list := get(got, "list").([]any)
	if s, ok := get(list[0], "s").(string); !ok || s != "str-0" {
		t.Errorf("s is %T %v", s, s)
	}
	if f, ok := get(list[0], "f").(float64); !ok || f != 0.5 {
		t.Errorf("f is %T %v", f, f)
	}
	if n, ok := get(list[7], "neg").(int64); !ok || n != -7 {
		t.Errorf("neg is %T %v", n, n)
	}
}

// stdValue is what encoding/json reads from in, as the parser's values.
func stdValue(t *testing.T, in []byte) any {
	t.Helper()
	var v any
	d := json.NewDecoder(bytes.NewReader(in))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return fromStd(v)
}

// TestParseSmallDocs: small documents keep their first strings, an object
// and an array in one allocation (docChunk); the values must stay what
// encoding/json reads after the input is overwritten and garbage
// collected, whatever takes the chunk's object and array first (nested
// ones, a second object or array, a large one, duplicate keys), and an
// object from the chunk grows without touching its neighbours.
func TestParseSmallDocs(t *testing.T) {
	docs := []string{
		`{"deviceId":"dev-42","ts":"2026-11-22T10:00:00Z","type":"temperature","value":21.7,"tags":["roof","north"]}`,
		`{"a":{"b":"x","c":["y"]},"d":{"e":"z"},"f":["p","q"],"g":[1,2,3,4,5]}`,
		`[{"a":"1"},{"b":"2"},["x","y","z","w","v"],["s"]]`,
		`{"k1":"a","k2":"b","k3":"c","k4":"d","k5":"e","k6":"f","k7":"g","k8":"h","k9":"i"}`,
		`{"a":"x","a":"y","b":["z"]}`,
		`["only","strings","in","an","array","of","more","than","eight","of","them"]`,
		`{"n":1.5,"m":[2.5],"s":"t"}`,
		// the outermost object's fields go straight into the chunk's
		// object: exactly its room, more with nested objects, duplicates
		`{"k1":"a","k2":"b","k3":"c","k4":"d","k5":"e","k6":"f","k7":"g","k8":"h"}`,
		`{"o":{"p":{"q":"r"}},"k2":"b","k3":"c","k4":"d","k5":"e","k6":"f","k7":"g","k8":"h","k9":{"x":"y"},"k10":1}`,
		`{"a":{"b":"x"},"c":"d","a":"e"}`,
	}
	var p Parser
	for _, doc := range docs {
		in := []byte(doc)
		want := stdValue(t, in)
		got, err := p.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		for i := range in {
			in[i] = 'x'
		}
		if o, ok := got.(*Object); ok {
			if len(o.Fields) != len(want.(map[string]any)) {
				t.Errorf("%s: %d fields, want %d (duplicate keys resolved)", doc, len(o.Fields), len(want.(map[string]any)))
			}
			o.Put("added", "after") // past the chunk's room or not: never over a neighbour
			want.(map[string]any)["added"] = "after"
		}
		p.Parse([]byte(`{"other":"document","n":["x"]}`))
		runtime.GC()
		if !Equal(Plain(got), want) {
			t.Errorf("%s: got %s", doc, AppendJSON(nil, got))
		}
	}
}

// TestParseAllocs pins the allocations of parsing a reading: the text
// copy with the number slab, and the string slab with the object and the
// array (docChunk).
func TestParseAllocs(t *testing.T) {
	in := []byte(`{"deviceId":"dev-42","ts":"2026-11-22T10:00:00Z","type":"temperature","value":21.7,"unit":"C","battery":0.83,"tags":["roof","north"],"seq":123456}`)
	var p Parser
	n := testing.AllocsPerRun(100, func() {
		if _, err := p.Parse(in); err != nil {
			t.Fatal(err)
		}
	})
	if n > 2 {
		t.Errorf("%v allocations per parse, want at most 2", n)
	}
}

// TestParseDecimals: the parser's fast path for short decimals gives
// exactly strconv.ParseFloat's value, bit for bit.
func TestParseDecimals(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	cases := []string{"0.1", "0.3", "-0.0", "21.7", "0.83", "123456789012.345", "9007199254740.993", "0.000000000000001",
		"999999999999999.9", "1.7976931348623157", "-45.5", "100.00"}
	for range 100000 {
		digits := 1 + rnd.IntN(17)
		b := []byte{}
		if rnd.IntN(2) == 0 {
			b = append(b, '-')
		}
		for d := range digits {
			if d == 0 && digits > 1 {
				b = append(b, byte('1'+rnd.IntN(9)))
			} else {
				b = append(b, byte('0'+rnd.IntN(10)))
			}
		}
		point := 1 + rnd.IntN(digits)
		n := len(b) - digits + point
		b = append(b[:n], append([]byte{'.'}, b[n:]...)...)
		if b[len(b)-1] == '.' {
			b = append(b, '0')
		}
		cases = append(cases, string(b))
	}
	var p Parser
	for _, c := range cases {
		v, err := p.Parse([]byte(c))
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		want, _ := strconv.ParseFloat(c, 64)
		if got, ok := v.(float64); !ok || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%s: parsed %v (%T), strconv %v", c, v, v, want)
		}
	}
}

// TestNewString: the value holds exactly the bytes written, at every size
// class boundary, and a string up to 112 bytes costs one allocation.
func TestNewString(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 17, 47, 48, 49, 79, 80, 81, 111, 112, 113, 300} {
		want := strings.Repeat("x", n/2) + strings.Repeat("é", n-n/2)[:n-n/2]
		buf, v := NewString(n)
		if len(buf) != n {

			t.Fatalf("n=%d: buffer of %d bytes", n, len(buf))
		}
		copy(buf, want)
		buf = nil
		runtime.GC() // v alone keeps its bytes
		if s, ok := v.(string); !ok || s != want {
			t.Errorf("n=%d: got %#v, want %q", n, v, want)
		}
	}
	var sink any
	for _, n := range []int{1, 39, 112} {
		if a := testing.AllocsPerRun(100, func() { _, sink = NewString(n) }); a != 1 {
			t.Errorf("n=%d: %.0f allocations, want 1", n, a)
		}
	}
	_ = sink
}
