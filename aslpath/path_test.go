package aslpath

import (
	"testing"
	"unsafe"

	"github.com/stepstream/express/internal/jsonv"
)

func doc(t testing.TB, s string) any {
	v, err := jsonv.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestGet(t *testing.T) {
	in := doc(t, `{"a":{"b":[10,20,{"c":"x"}]},"k y":1,"q'":2,"xs":[{"s":0,"v":1},{"s":1,"v":2}]}`)
	cases := []struct {
		path  string
		want  string
		found bool
	}{
		{"$", `{"a":{"b":[10,20,{"c":"x"}]},"k y":1,"q'":2,"xs":[{"s":0,"v":1},{"s":1,"v":2}]}`, true},
		{"$.a.b[1]", `20`, true},
		{"$.a.b[-1].c", `"x"`, true},
		{"$['k y']", `1`, true},
		{`$['q\'']`, `2`, true},
		{"$.a.b[5]", ``, false},
		{"$.nope", ``, false},
		{"$.a.b[*]", `[10,20,{"c":"x"}]`, true},
		{"$.xs[?(@.s == 1)].v", `[2]`, true},
		{"$.missing[*]", `[]`, true},
		{"$..c", `["x"]`, true},
		{"$.a.b[0:2]", `[10,20]`, true},
	}
	for _, tc := range cases {
		p, err := Parse(tc.path)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		got, found := p.Get(nil, in)
		if found != tc.found {
			t.Errorf("%s: found %v, want %v", tc.path, found, tc.found)
			continue
		}
		if found && !jsonv.Equal(got, doc(t, tc.want)) {
			t.Errorf("%s: got %s, want %s", tc.path, jsonv.Marshal(got), tc.want)
		}
	}
}

func TestMissingReason(t *testing.T) {
	in := doc(t, `{"a":{"b":1}}`)
	for path, want := range map[string]string{
		"$.x":     "No results for path: $['x']",
		"$.a.c":   "No results for path: $['a']['c']",
		"$.x.y.z": "Missing property in path $['x']",
	} {
		if got := MustParse(path).MissingReason(nil, in); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}

func TestSetCopies(t *testing.T) {
	in := doc(t, `{"a":{"b":1},"l":[1,2]}`)
	out, err := MustParse("$.a.c.d").Set(in, "v")
	if err != nil {
		t.Fatal(err)
	}
	if !jsonv.Equal(out, doc(t, `{"a":{"b":1,"c":{"d":"v"}},"l":[1,2]}`)) {
		t.Errorf("got %s", jsonv.Marshal(out))
	}
	if !jsonv.Equal(in, doc(t, `{"a":{"b":1},"l":[1,2]}`)) {
		t.Errorf("input was modified: %s", jsonv.Marshal(in))
	}
	out, err = MustParse("$.l[1]").Set(in, 9)
	if err != nil || !jsonv.Equal(out, doc(t, `{"a":{"b":1},"l":[1,9]}`)) {
		t.Errorf("got %v %v", jsonv.Marshal(out), err)
	}
	if _, err := MustParse("$.l[5]").Set(in, 9); err == nil {
		t.Error("setting past the end of an array should fail")
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{"", "a.b", "$.a[", "$1x", "$.a[?(@.b ==]"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzPath parses arbitrary paths and evaluates and sets them on a fixed
// document. Nothing may panic.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"$", "$.a.b[1]", "$$.Execution.Input", "$v.x[0]", "$.a[*]", "$..c", "$.xs[?(@.s == 1)]", "$['a b']", "$.a[-1]", "$.a[1:3]", "$.a[0,1]"} {
		f.Add(s)
	}
	in := map[string]any{"a": map[string]any{"b": []any{int64(1), "x"}}, "xs": []any{map[string]any{"s": int64(1)}}}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Parse(src)
		if err != nil {
			return
		}
		p.Get(nil, in)
		if p.Definite() && p.Root() == Input {
			_ = p.MissingReason(nil, in)
			_, _ = p.Set(in, "v")
		}
	})
}

// TestParseKeys checks that paths parsed with the same Keys share their
// key strings with each other and with the keys interned directly, and
// that they find what Parse's paths find.
func TestParseKeys(t *testing.T) {
	keys := Keys{}
	tmplKey := keys.Intern(string([]byte("deviceId"))) // a template's key
	a, err := ParseKeys("$.deviceId", keys)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseKeys("$['deviceId'].x", keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*Path{a, b} {
		if k := p.Key(0); k != tmplKey || unsafe.StringData(k) != unsafe.StringData(tmplKey) {
			t.Errorf("%s: key %q is not the interned string", p, k)
		}
	}
	in := map[string]any{"deviceId": map[string]any{"x": int64(1)}}
	for _, src := range []string{"$.deviceId", "$['deviceId'].x"} {
		p, _ := ParseKeys(src, keys)
		q := MustParse(src)
		pv, pok := p.Get(nil, in)
		qv, qok := q.Get(nil, in)
		if pok != qok || jsonv.Marshal(pv) != jsonv.Marshal(qv) {
			t.Errorf("%s: ParseKeys finds %v %v, Parse %v %v", src, pv, pok, qv, qok)
		}
	}
	if Keys(nil).Intern("a") != "a" {
		t.Error("a nil Keys must return its argument")
	}
}
