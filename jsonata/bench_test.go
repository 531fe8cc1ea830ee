package jsonata

import (
	"fmt"
	"strings"
	"testing"
)

// Typical IoT record transforms; bench/jsonata/bench.js runs the same
// expressions on the same inputs with the reference implementation.
var benchCases = []struct {
	name  string
	expr  string
	input string
	want  string
}{
	{"Reshape", `{"id": deviceId, "t": ts, "v": value, "status": value > 30 ? "ALERT" : "OK", "tags": tags}`, reading,
		`{"id":"dev-42","t":"2026-11-22T10:00:00Z","v":21.7,"status":"OK","tags":["roof","north"]}`},
	{"FilterAverage", `$average(readings[value > 20].value)`, readingsDoc(), `30`},
	{"StringBuild", `deviceId & "/" & type & "/" & $string(value)`, reading, `"dev-42/temperature/21.7"`},
}

// readingsDoc builds an object with 20 readings (values 10.5, 12, ... 39).
func readingsDoc() string {
	var b strings.Builder
	b.WriteString(`{"deviceId":"dev-42","readings":[`)
	for i := 0; i < 20; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"ts":"2026-11-22T10:%02d:00Z","value":%g}`, i, 10.5+float64(i)*1.5)
	}
	b.WriteString(`]}`)
	return b.String()
}

func BenchmarkEval(b *testing.B) {
	for _, bc := range benchCases {
		e := MustCompile(bc.expr)
		input := mustJSON(b, bc.input)
		got, err := e.Eval(input, nil)
		if err != nil {
			b.Fatal(err)
		}
		if !jsonEqual(got, mustJSON(b, bc.want), false) {
			b.Fatalf("%s: got %s, want %s", bc.name, show(got), bc.want)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Eval(input, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEvalParallel checks that concurrent evaluations of one shared
// Expr scale (no shared mutable state, no locks).
func BenchmarkEvalParallel(b *testing.B) {
	for _, bc := range benchCases {
		e := MustCompile(bc.expr)
		input := mustJSON(b, bc.input)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.Eval(input, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile(bc.expr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// bigText is a 250 KB string of short words: the size of a large record,
// where every regex function finds tens of thousands of matches.
var bigText = func() string {
	var b strings.Builder
	for i := 0; b.Len() < 250_000; i++ {
		fmt.Fprintf(&b, "w%d ", i%1000)
	}
	return b.String()
}()

// BenchmarkRegexLarge runs the regex functions over bigText. Each must be
// linear in the string's length and its matches.
func BenchmarkRegexLarge(b *testing.B) {
	for _, bc := range []struct{ name, expr string }{
		{"match", `$count($match(s, /w[0-9]+/))`},
		{"matchGroups", `$count($match(s, /(w)([0-9]+)/))`},
		{"replace", `$length($replace(s, /w([0-9]+)/, "x$1"))`},
		{"replaceFunc", `$length($replace(s, /w[0-9]+/, function($m) { $m.match }))`},
		{"split", `$count($split(s, / /))`},
		{"contains", `$contains(s, /w999 /)`},
		{"containsLast", `$contains(s, /\s$/)`},
	} {
		e := MustCompile(bc.expr)
		input := map[string]any{"s": bigText}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Eval(input, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
