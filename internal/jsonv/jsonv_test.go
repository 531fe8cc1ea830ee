package jsonv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestEqual(t *testing.T) {
	cases := []struct {
		a, b string
		eq   bool
	}{
		{`10`, `10.0`, true},
		{`{"a":1,"b":[1,2]}`, `{"b":[1,2.0],"a":1}`, true},
		{`[1,2]`, `[2,1]`, false},
		{`{"a":null}`, `{}`, false},
		{`"1"`, `1`, false},
		{`true`, `true`, true},
		{`9007199254740993`, `9007199254740992`, false},
	}
	for _, tc := range cases {
		a, err := Parse([]byte(tc.a))
		if err != nil {
			t.Fatal(err)
		}
		b, err := Parse([]byte(tc.b))
		if err != nil {
			t.Fatal(err)
		}
		if got := Equal(a, b); got != tc.eq {
			t.Errorf("Equal(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

func TestParseNeverPanics(t *testing.T) {
	// Inputs that make ojg's parser panic (found by fuzzing) are errors.
	for _, bad := range []string{`{"0000000":"0","000000":{"0":},"":"0"`, `{"":t,"":0`, `[`, ``, `{"a":}`} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	var p Parser
	if _, err := p.Parse([]byte(`{"a":{"b":}}`)); err == nil {
		t.Error("no error")
	}
	// The parser is usable after a failure.
	v, err := p.Parse([]byte(`{"a":1}`))
	if err != nil || !Equal(v, map[string]any{"a": int64(1)}) {
		t.Errorf("after a failure: %v %v", v, err)
	}
}

func TestMarshal(t *testing.T) {
	v, _ := Parse([]byte(`{"b":"<é>","a":[1,2.5,null,true]}`))
	if got := Marshal(v); got != `{"a":[1,2.5,null,true],"b":"<é>"}` {
		t.Errorf("got %s", got)
	}
	if TypeName(v) != "object" || TypeName(int64(1)) != "number" || TypeName(nil) != "null" {
		t.Error("TypeName")
	}
}

// TestPlainKey checks which keys the writer may copy as they are.
func TestPlainKey(t *testing.T) {
	for key, want := range map[string]bool{
		"": true, "deviceId": true, "a b/c-d.e": true, "0123456789abcdefXYZ": true,
		`a"b`: false, `a\b`: false, "a\nb": false, "\x7f": true, "é": false, "abcdefgh\x00": false,
	} {
		if got := PlainKey(key); got != want {
			t.Errorf("PlainKey(%q) = %v, want %v", key, got, want)
		}
	}
}

// TestArena: objects from one arena never share fields, even when one
// grows past the room it asked for, and survive a collection while in use.
func TestArena(t *testing.T) {
	var a Arena
	var objs []*Object
	for i := 0; i < 40; i++ {
		n := i%5 + 1
		o := a.NewObject(n, 22)
		if len(o.Fields) != 0 || cap(o.Fields) != n {
			t.Fatalf("object %d: len %d cap %d, want 0 and %d", i, len(o.Fields), cap(o.Fields), n)
		}
		for j := 0; j < n; j++ {
			o.Put(fmt.Sprintf("k%d", j), int64(i))
		}
		objs = append(objs, o)
	}
	objs[3].Put("extra", "grown") // past its room: moves out
	runtime.GC()
	for i, o := range objs {
		want := i%5 + 1
		if i == 3 {
			want++
		}
		if len(o.Fields) != want {
			t.Fatalf("object %d has %d fields, want %d", i, len(o.Fields), want)
		}
		for _, f := range o.Fields {
			if f.Key != "extra" && f.Val != int64(i) {
				t.Fatalf("object %d: %s = %v, written by another", i, f.Key, f.Val)
			}
		}
	}
	// strings: two of up to 48 bytes in all come from the allocation, the
	// rest on their own; each holds exactly what was written
	var vals []any
	var want []string
	for i, n := range []int{30, 26, 10, 70, 0} {
		buf, v := a.NewString(n)
		w := strings.Repeat(string(rune('a'+i)), n)
		copy(buf, w)
		vals, want = append(vals, v), append(want, w)
	}
	runtime.GC()
	for i, v := range vals {
		if v != want[i] {
			t.Errorf("string %d: %q, want %q", i, v, want[i])
		}
	}
	var nilArena *Arena
	if _, v := nilArena.NewString(3); len(v.(string)) != 3 {
		t.Errorf("nil arena: %q", v)
	}
	if o := nilArena.NewObject(3, 10); cap(o.Fields) < 3 {
		t.Fatalf("nil arena: cap %d", cap(o.Fields))
	}
	if o := a.NewObject(40, 40); cap(o.Fields) < 40 {
		t.Fatalf("large object: cap %d", cap(o.Fields))
	}
	if n := testing.AllocsPerRun(100, func() {
		var b Arena
		for i := 0; i < arenaObjects; i++ {
			b.NewObject(5, 20)
		}
		b.NewString(20)
		b.NewString(28)
	}); n != 1 {
		t.Errorf("%d objects of 5 fields and two strings: %.0f allocations, want 1", arenaObjects, n)
	}
}

// TestAppendShortFloat: the short path writes exactly what strconv writes,
// on every decimal of up to four places below 100 in steps of 0.0001, on
// the edges of its range, and on random numbers of all sizes.
func TestAppendShortFloat(t *testing.T) {
	check := func(f float64) {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return // written as null
		}
		want := strconv.AppendFloat(nil, f, 'g', -1, 64)
		if got := AppendJSON(nil, f); string(got) != string(want) {
			t.Fatalf("%v: got %s, want %s", f, got, want)
		}
	}
	for i := 0; i <= 1_000_000; i++ {
		check(float64(i) / 10000)
		check(-float64(i) / 1000)
		check(float64(i) / 100)
	}
	for _, f := range []float64{1e-4, 0.99999e-4, 1.00001e-4, 1e6, 999999.9999, 999999.99999, 999999.5, 0.30000000000000004,
		0.1 + 0.2, 1.0 / 3, 2.0 / 3, 123456.7891, 5e-324, math.MaxFloat64, -0.0, 0, 1e21, 123456789} {
		check(f)
		check(-f)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300_000; i++ {
		check(math.Float64frombits(rng.Uint64()))
		check(rng.Float64() * 1e6)
		check(math.Round(rng.Float64()*1e9) / 1e4)
	}
}
