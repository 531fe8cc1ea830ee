package choice

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

func parse(t testing.TB, s string) any {
	t.Helper()
	v, err := jsonv.ParsePlain([]byte(s))
	if err != nil {
		t.Fatalf("bad JSON %s: %v", s, err)
	}
	return v
}

func mustCompile(t testing.TB, rule string) Cond {
	t.Helper()
	m, ok := parse(t, rule).(map[string]any)
	if !ok {
		t.Fatalf("rule %s is not an object", rule)
	}
	c, ps := Compile(m, "/r")
	if len(ps) > 0 {
		t.Fatalf("Compile(%s):\n%v", rule, ps)
	}
	return c
}

// inScope runs fn inside a real execution, in a state named "Route", with
// the given variables assigned, so that $$ and $var paths work.
func inScope(t testing.TB, vars map[string]any, fn func(s *express.Scope)) {
	t.Helper()
	m := &express.Machine{States: []*express.State{{Name: "Route", Type: "Choice",
		Exec: func(s *express.Scope, in any) (any, int, error) {
			s.Assign(vars)
			fn(s)
			return in, express.End, nil
		}}}}
	wf := express.NewWorkflow(m, express.Options{Name: "choice-test"})
	res := wf.Execute(context.Background(), map[string]any{"orig": "input"}, express.ExecOptions{
		Name: "exec-1", Clock: express.NewVirtualClock(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC))})
	if res.Status != express.Succeeded {
		t.Fatalf("execution %s: %s: %s", res.Status, res.Error, res.Cause)
	}
}

type evalCase struct {
	rule, input string
	want        bool
}

// runEval runs each case on the input as plain maps and as the parser's
// *jsonv.Object values (which some comparisons read themselves).
func runEval(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		c := mustCompile(t, tc.rule)
		obj, err := jsonv.Parse([]byte(tc.input))
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range []any{parse(t, tc.input), obj} {
			got, err := c(nil, in)
			if err != nil {
				t.Errorf("%s on %s (%T): error %v", tc.rule, tc.input, in, err)
				continue
			}
			if got != tc.want {
				t.Errorf("%s on %s (%T) = %v, want %v", tc.rule, tc.input, in, got, tc.want)
			}
		}
	}
}

func TestStringOperators(t *testing.T) {
	runEval(t, []evalCase{
		{`{"Variable":"$.v","StringEquals":"abc"}`, `{"v":"abc"}`, true},
		{`{"Variable":"$.v","StringEquals":"abc"}`, `{"v":"abd"}`, false},
		{`{"Variable":"$.v","StringEquals":"1"}`, `{"v":1}`, false},
		{`{"Variable":"$.v","StringEquals":"null"}`, `{"v":null}`, false},
		{`{"Variable":"$.v","StringEquals":"true"}`, `{"v":true}`, false},
		{`{"Variable":"$.v","StringLessThan":"b"}`, `{"v":"a"}`, true},
		{`{"Variable":"$.v","StringLessThan":"b"}`, `{"v":"b"}`, false},
		{`{"Variable":"$.v","StringLessThan":"b"}`, `{"v":"B"}`, true},
		{`{"Variable":"$.v","StringLessThan":"b"}`, `{"v":0}`, false},
		{`{"Variable":"$.v","StringGreaterThan":"b"}`, `{"v":"ba"}`, true},
		{`{"Variable":"$.v","StringGreaterThan":"b"}`, `{"v":"b"}`, false},
		{`{"Variable":"$.v","StringLessThanEquals":"b"}`, `{"v":"b"}`, true},
		{`{"Variable":"$.v","StringLessThanEquals":"b"}`, `{"v":"c"}`, false},
		{`{"Variable":"$.v","StringGreaterThanEquals":"b"}`, `{"v":"b"}`, true},
		{`{"Variable":"$.v","StringGreaterThanEquals":"b"}`, `{"v":"a"}`, false},
		{`{"Variable":"$.v","StringGreaterThanEquals":"b"}`, `{"v":["b"]}`, false},
		// Path forms.
		{`{"Variable":"$.v","StringEqualsPath":"$.w"}`, `{"v":"x","w":"x"}`, true},
		{`{"Variable":"$.v","StringEqualsPath":"$.w"}`, `{"v":"x","w":"y"}`, false},
		{`{"Variable":"$.v","StringEqualsPath":"$.w"}`, `{"v":"1","w":1}`, false},
		{`{"Variable":"$.v","StringEqualsPath":"$.w"}`, `{"v":null,"w":null}`, false},
		{`{"Variable":"$.v","StringLessThanPath":"$.w"}`, `{"v":"a","w":"b"}`, true},
		{`{"Variable":"$.v","StringLessThanPath":"$.w"}`, `{"v":"a","w":2}`, false},
		{`{"Variable":"$.v","StringGreaterThanPath":"$.w"}`, `{"v":"b","w":"a"}`, true},
		{`{"Variable":"$.v","StringLessThanEqualsPath":"$.w"}`, `{"v":"a","w":"a"}`, true},
		{`{"Variable":"$.v","StringGreaterThanEqualsPath":"$.w"}`, `{"v":"a","w":"b"}`, false},
		// Indexes and quoted keys.
		{`{"Variable":"$.a[1]['b c']","StringEquals":"x"}`, `{"a":[0,{"b c":"x"}]}`, true},
		{`{"Variable":"$","StringEquals":"x"}`, `"x"`, true},
	})
}

func TestStringOrderIsUTF16(t *testing.T) {
	// U+FF61 (one UTF-16 unit, 0xFF61) sorts after U+1F600 (surrogates
	// 0xD83D 0xDE00) in Java, before it in code-point order.
	cases := []struct {
		a, b string
		want int
	}{
		{"a", "b", -1}, {"b", "a", 1}, {"", "", 0}, {"", "a", -1}, {"ab", "a", 1},
		{"\uFF61", "\U0001F600", 1}, {"\U0001F600", "\uFF61", -1},
		{"x\uFF61", "x\U0001F600", 1},
		{"\U0001F600", "\U0001F601", -1},
		{"é", "z", 1}, {"é", "è", 1}, {"\u00e9", "\u0800", -1},
		{"\xff", "\xfe", 1},
	}
	for _, c := range cases {
		if got := compareStrings(c.a, c.b); got != c.want {
			t.Errorf("compareStrings(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestStringMatches(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{`log-*.txt`, "log-1.txt", true},
		{`log-*.txt`, "log-.txt", true},
		{`log-*.txt`, "log-1.txt.gz", false},
		{`log-*.txt`, "xlog-1.txt", false},
		{`*`, "", true},
		{`*`, "anything", true},
		{`**`, "x", true},
		{``, "", true},
		{``, "a", false},
		{`abc`, "abc", true},
		{`abc`, "abcd", false},
		{`*.txt`, "a.txt", true},
		{`a*`, "a", true},
		{`a*a`, "a", false},
		{`a*a`, "aa", true},
		{`*a*b*c*`, "xxaxxbxxcxx", true},
		{`*a*b*c*`, "xxcxxbxxaxx", false},
		{`a*b*a`, "abba", true},
		{`a*b*a`, "aba", true},
		{`a*b*a`, "ab", false},
		{`*ab`, "aab", true},
		{`*ab*ab`, "abab", true},
		{`*ab*ab`, "aab", false},
		// Escapes, as Go strings (JSON "\\*" is the two characters \*).
		{`\*`, "*", true},
		{`\*`, "x", false},
		{`a\*b`, "a*b", true},
		{`a\*b`, "axxb", false},
		{`\**`, "*abc", true},
		{`\**`, "abc", false},
		{`\\`, `\`, true},
		{`\\*`, `\abc`, true},
		{`\\*`, `abc`, false},
		{`\\\*`, `\*`, true},
		{`\\\*`, `\x`, false},
		{`a\b`, `a\b`, true}, // a backslash before another character stands for itself
		{`a\`, `a\`, true},
		{"\t*\n", "\tx\n", true},
		{`*é*`, "café!", true},
	}
	for _, c := range cases {
		p := compilePattern(c.pattern)
		if got := p.match(c.s); got != c.want {
			t.Errorf("StringMatches %q on %q = %v, want %v (parts %q)", c.pattern, c.s, got, c.want, p.parts)
		}
	}
	runEval(t, []evalCase{
		{`{"Variable":"$.v","StringMatches":"log-*.txt"}`, `{"v":"log-7.txt"}`, true},
		{`{"Variable":"$.v","StringMatches":"log-\\*.txt"}`, `{"v":"log-7.txt"}`, false},
		{`{"Variable":"$.v","StringMatches":"log-\\*.txt"}`, `{"v":"log-*.txt"}`, true},
		{`{"Variable":"$.v","StringMatches":"*"}`, `{"v":1}`, false},
		{`{"Variable":"$.v","StringMatches":"*"}`, `{"v":null}`, false},
	})
}

func TestNumericOperators(t *testing.T) {
	runEval(t, []evalCase{
		{`{"Variable":"$.v","NumericEquals":10}`, `{"v":10}`, true},
		{`{"Variable":"$.v","NumericEquals":10}`, `{"v":10.0}`, true},
		{`{"Variable":"$.v","NumericEquals":10.0}`, `{"v":10}`, true},
		{`{"Variable":"$.v","NumericEquals":10}`, `{"v":10.5}`, false},
		{`{"Variable":"$.v","NumericEquals":10}`, `{"v":"10"}`, false},
		{`{"Variable":"$.v","NumericEquals":0}`, `{"v":false}`, false},
		{`{"Variable":"$.v","NumericEquals":0}`, `{"v":null}`, false},
		{`{"Variable":"$.v","NumericEquals":1e2}`, `{"v":100}`, true},
		{`{"Variable":"$.v","NumericEquals":-0.0}`, `{"v":0}`, true},
		// int64 values are compared exactly, not through float64.
		{`{"Variable":"$.v","NumericEquals":9007199254740993}`, `{"v":9007199254740992}`, false},
		{`{"Variable":"$.v","NumericEquals":9007199254740992.0}`, `{"v":9007199254740993}`, false},
		{`{"Variable":"$.v","NumericGreaterThan":9007199254740992.0}`, `{"v":9007199254740993}`, true},
		{`{"Variable":"$.v","NumericLessThan":9223372036854775807}`, `{"v":9.3e18}`, false},
		{`{"Variable":"$.v","NumericGreaterThan":-9223372036854775808}`, `{"v":-9.3e18}`, false},
		// ojg hands numbers of 19+ digits over as json.Number.
		{`{"Variable":"$.v","NumericEquals":9223372036854775807}`, `{"v":9223372036854775807}`, true},
		{`{"Variable":"$.v","NumericGreaterThan":9223372036854775806}`, `{"v":9223372036854775807}`, true},
		{`{"Variable":"$.v","NumericGreaterThan":0.1}`, `{"v":0.1234567890123456789012}`, true},
		{`{"Variable":"$.v","NumericLessThan":1e400}`, `{"v":100000000000000000000000}`, true},
		{`{"Variable":"$.v","IsNumeric":true}`, `{"v":100000000000000000000000}`, true},
		{`{"Variable":"$.v","NumericLessThan":0}`, `{"v":-0.5}`, true},
		{`{"Variable":"$.v","NumericGreaterThan":-1}`, `{"v":-0.5}`, true},
		{`{"Variable":"$.v","NumericLessThan":1}`, `{"v":0}`, true},
		{`{"Variable":"$.v","NumericLessThan":1}`, `{"v":1}`, false},
		{`{"Variable":"$.v","NumericGreaterThan":1}`, `{"v":1.0001}`, true},
		{`{"Variable":"$.v","NumericGreaterThan":1}`, `{"v":1}`, false},
		{`{"Variable":"$.v","NumericLessThanEquals":1}`, `{"v":1.0}`, true},
		{`{"Variable":"$.v","NumericLessThanEquals":1}`, `{"v":1.5}`, false},
		{`{"Variable":"$.v","NumericGreaterThanEquals":1.5}`, `{"v":1.5}`, true},
		{`{"Variable":"$.v","NumericGreaterThanEquals":1.5}`, `{"v":1}`, false},
		{`{"Variable":"$.v","NumericGreaterThanEquals":1.5}`, `{"v":[2]}`, false},
		// Path forms.
		{`{"Variable":"$.v","NumericEqualsPath":"$.w"}`, `{"v":1,"w":1.0}`, true},
		{`{"Variable":"$.v","NumericEqualsPath":"$.w"}`, `{"v":1,"w":"1"}`, false},
		{`{"Variable":"$.v","NumericLessThanPath":"$.w"}`, `{"v":1,"w":2}`, true},
		{`{"Variable":"$.v","NumericGreaterThanPath":"$.w"}`, `{"v":2.5,"w":2}`, true},
		{`{"Variable":"$.v","NumericGreaterThanPath":"$.w"}`, `{"v":2.0,"w":2}`, false},
		{`{"Variable":"$.v","NumericEqualsPath":"$.w"}`, `{"v":2.0,"w":2}`, true},
		{`{"Variable":"$.v","NumericLessThanPath":"$.w"}`, `{"v":-0.5,"w":0}`, true},
		{`{"Variable":"$.v","NumericLessThanEqualsPath":"$.w"}`, `{"v":2.5,"w":2.5}`, true},
		{`{"Variable":"$.v","NumericGreaterThanEqualsPath":"$.w"}`, `{"v":2.5,"w":3.5}`, false},
		{`{"Variable":"$.v","NumericGreaterThanPath":"$.w"}`, `{"v":1e20,"w":9223372036854775807}`, true},
		{`{"Variable":"$.v","NumericLessThanPath":"$.w"}`, `{"v":9007199254740992.0,"w":9007199254740993}`, true},
		{`{"Variable":"$.v","NumericEqualsPath":"$.w"}`, `{"v":9007199254740992.0,"w":9007199254740992}`, true},
		{`{"Variable":"$.v","NumericLessThanEqualsPath":"$.w"}`, `{"v":2,"w":2}`, true},
		{`{"Variable":"$.v","NumericGreaterThanEqualsPath":"$.w"}`, `{"v":1,"w":2}`, false},
		{`{"Variable":"$.v","NumericGreaterThanEqualsPath":"$.w"}`, `{"v":3,"w":{"x":1}}`, false},
	})
	// Go callers may hand plain ints, and NaN never compares.
	c := mustCompile(t, `{"Variable":"$.v","NumericLessThan":3}`)
	for _, v := range []any{int(2), int32(2), float32(2.5)} {
		if ok, _ := c(nil, map[string]any{"v": v}); !ok {
			t.Errorf("NumericLessThan 3 on %T(%v) = false", v, v)
		}
	}
	nan := map[string]any{"v": nan()}
	for _, op := range []string{"NumericEquals", "NumericLessThan", "NumericGreaterThan", "NumericLessThanEquals", "NumericGreaterThanEquals"} {
		for _, lit := range []string{"3", "3.5"} {
			c := mustCompile(t, `{"Variable":"$.v","`+op+`":`+lit+`}`)
			if ok, _ := c(nil, nan); ok {
				t.Errorf("%s %s on NaN = true", op, lit)
			}
		}
	}
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}

func TestBooleanOperators(t *testing.T) {
	runEval(t, []evalCase{
		{`{"Variable":"$.v","BooleanEquals":true}`, `{"v":true}`, true},
		{`{"Variable":"$.v","BooleanEquals":true}`, `{"v":false}`, false},
		{`{"Variable":"$.v","BooleanEquals":false}`, `{"v":false}`, true},
		{`{"Variable":"$.v","BooleanEquals":false}`, `{"v":0}`, false},
		{`{"Variable":"$.v","BooleanEquals":false}`, `{"v":null}`, false},
		{`{"Variable":"$.v","BooleanEquals":false}`, `{"v":"false"}`, false},
		{`{"Variable":"$.v","BooleanEquals":true}`, `{"v":1}`, false},
		{`{"Variable":"$.v","BooleanEqualsPath":"$.w"}`, `{"v":true,"w":true}`, true},
		{`{"Variable":"$.v","BooleanEqualsPath":"$.w"}`, `{"v":true,"w":false}`, false},
		{`{"Variable":"$.v","BooleanEqualsPath":"$.w"}`, `{"v":false,"w":"false"}`, false},
		{`{"Variable":"$.v","BooleanEqualsPath":"$.w"}`, `{"v":null,"w":null}`, false},
	})
}

func TestTimestampOperators(t *testing.T) {
	runEval(t, []evalCase{
		{`{"Variable":"$.v","TimestampEquals":"2016-03-14T01:59:00Z"}`, `{"v":"2016-03-14T01:59:00Z"}`, true},
		{`{"Variable":"$.v","TimestampEquals":"2016-03-14T01:59:00Z"}`, `{"v":"2016-03-14T01:59:00.000Z"}`, true},
		{`{"Variable":"$.v","TimestampEquals":"2016-03-14T01:59:00Z"}`, `{"v":"2016-03-14T02:59:00+01:00"}`, true},
		{`{"Variable":"$.v","TimestampEquals":"2016-03-14T01:59:00Z"}`, `{"v":"2016-03-13T20:29:00-05:30"}`, true},
		{`{"Variable":"$.v","TimestampEquals":"2016-03-14T01:59:00Z"}`, `{"v":"2016-03-14T01:59:00.001Z"}`, false},
		{`{"Variable":"$.v","TimestampEquals":"2016-03-14T01:59:00Z"}`, `{"v":"2016-03-14T01:59:00"}`, false},
		{`{"Variable":"$.v","TimestampEquals":"2016-03-14T01:59:00Z"}`, `{"v":"2016-03-14 01:59:00Z"}`, false},
		{`{"Variable":"$.v","TimestampEquals":"2016-03-14T01:59:00Z"}`, `{"v":1457920740}`, false},
		{`{"Variable":"$.v","TimestampEquals":"2016-03-14T01:59:00Z"}`, `{"v":null}`, false},
		{`{"Variable":"$.v","TimestampLessThan":"2016-03-14T01:59:00Z"}`, `{"v":"2016-03-14T01:58:59.999999999Z"}`, true},
		{`{"Variable":"$.v","TimestampLessThan":"2016-03-14T01:59:00Z"}`, `{"v":"2016-03-14T01:59:00Z"}`, false},
		{`{"Variable":"$.v","TimestampLessThan":"2016-03-14T01:59:00Z"}`, `{"v":"not a time"}`, false},
		{`{"Variable":"$.v","TimestampGreaterThan":"2016-03-14T01:59:00Z"}`, `{"v":"2016-03-14T01:59:00.1Z"}`, true},
		{`{"Variable":"$.v","TimestampGreaterThan":"2016-03-14T01:59:00Z"}`, `{"v":"2016-03-14T02:00:00+01:00"}`, false},
		{`{"Variable":"$.v","TimestampLessThanEquals":"2016-03-14T01:59:00Z"}`, `{"v":"2016-03-14T01:59:00Z"}`, true},
		{`{"Variable":"$.v","TimestampGreaterThanEquals":"2016-03-14T01:59:00Z"}`, `{"v":"2016-03-14T01:59:00Z"}`, true},
		{`{"Variable":"$.v","TimestampGreaterThanEquals":"2016-03-14T01:59:00Z"}`, `{"v":"1999-12-31T23:59:59Z"}`, false},
		{`{"Variable":"$.v","TimestampEqualsPath":"$.w"}`, `{"v":"2016-03-14T01:59:00Z","w":"2016-03-14T01:59:00+00:00"}`, true},
		{`{"Variable":"$.v","TimestampEqualsPath":"$.w"}`, `{"v":"2016-03-14T01:59:00Z","w":"yesterday"}`, false},
		{`{"Variable":"$.v","TimestampLessThanPath":"$.w"}`, `{"v":"2016-03-14T01:59:00Z","w":"2016-03-14T01:59:01Z"}`, true},
		{`{"Variable":"$.v","TimestampGreaterThanPath":"$.w"}`, `{"v":"2016-03-14T01:59:02Z","w":"2016-03-14T01:59:01Z"}`, true},
		{`{"Variable":"$.v","TimestampLessThanEqualsPath":"$.w"}`, `{"v":"2016-03-14T01:59:01Z","w":"2016-03-14T01:59:01Z"}`, true},
		{`{"Variable":"$.v","TimestampGreaterThanEqualsPath":"$.w"}`, `{"v":"2016-03-14T01:59:00Z","w":"2016-03-14T01:59:01Z"}`, false},
		{`{"Variable":"$.v","TimestampGreaterThanEqualsPath":"$.w"}`, `{"v":"2016-03-14T01:59:00Z","w":5}`, false},
	})
}

func TestParseTimestamp(t *testing.T) {
	valid := []string{
		"2016-03-14T01:59:00Z",
		"2016-03-14T01:59:00.5Z",
		"2016-03-14T01:59:00.123456789Z",
		"2016-03-14T01:59:00+01:00",
		"2016-03-14T01:59:00-23:59",
		"2016-03-14T01:59:00.120+05:30",
		"2016-02-29T00:00:00Z", // leap year
		"2000-02-29T00:00:00Z", // divisible by 400
		"0001-01-01T00:00:00Z",
		"9999-12-31T23:59:59.999999999Z",
		"1969-12-31T23:59:59Z",
	}
	for _, s := range valid {
		got, ok := parseTimestamp(s)
		if !ok {
			t.Errorf("parseTimestamp(%q) refused", s)
			continue
		}
		ref, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("time.Parse(%q): %v", s, err)
		}
		if got.sec != ref.Unix() || int(got.nsec) != ref.Nanosecond() {
			t.Errorf("parseTimestamp(%q) = %d.%09d, want %d.%09d", s, got.sec, got.nsec, ref.Unix(), ref.Nanosecond())
		}
	}
	invalid := []string{
		"",
		"2016-03-14",
		"2016-03-14T01:59:00",             // no zone
		"2016-03-14T01:59Z",               // no seconds
		"2016-03-14t01:59:00Z",            // lowercase t
		"2016-03-14T01:59:00z",            // lowercase z
		"2016-03-14 01:59:00Z",            // space
		"2016-03-14T01:59:00.Z",           // empty fraction
		"2016-03-14T01:59:00.1234567890Z", // more than nanoseconds
		"2016-03-14T01:59:00+0100",        // offset without colon
		"2016-03-14T01:59:00+01",          // short offset
		"2016-03-14T01:59:00+24:00",       // offset hour
		"2016-03-14T01:59:00+01:60",       // offset minute
		"2016-03-14T01:59:00ZZ",
		"2016-03-14T01:59:00Z ",
		" 2016-03-14T01:59:00Z",
		"2015-02-29T00:00:00Z", // not a leap year
		"1900-02-29T00:00:00Z", // divisible by 100
		"2016-04-31T00:00:00Z",
		"2016-13-01T00:00:00Z",
		"2016-00-01T00:00:00Z",
		"2016-01-00T00:00:00Z",
		"2016-01-01T24:00:00Z",
		"2016-01-01T23:60:00Z",
		"2016-12-31T23:59:60Z", // leap second
		"+2016-01-01T00:00:00Z",
		"2016-1-01T00:00:00Z",
		"2016-01-01T00:00:0aZ",
		"2016-03-14T01:59:00.12a3Z",
		"2023-02-24 12:15:56.832957",
	}
	for _, s := range invalid {
		if _, ok := parseTimestamp(s); ok {
			t.Errorf("parseTimestamp(%q) accepted", s)
		}
	}
}

func TestIsOperators(t *testing.T) {
	runEval(t, []evalCase{
		{`{"Variable":"$.v","IsNull":true}`, `{"v":null}`, true},
		{`{"Variable":"$.v","IsNull":true}`, `{"v":0}`, false},
		{`{"Variable":"$.v","IsNull":false}`, `{"v":{}}`, true},
		{`{"Variable":"$.v","IsPresent":true}`, `{"v":null}`, true},
		{`{"Variable":"$.v","IsPresent":true}`, `{}`, false},
		{`{"Variable":"$.v","IsPresent":false}`, `{}`, true},
		{`{"Variable":"$.v.w","IsPresent":false}`, `{}`, true},
		{`{"Variable":"$.v[3]","IsPresent":true}`, `{"v":[1]}`, false},
		{`{"Variable":"$.v","IsPresent":false}`, `{"v":[]}`, false},
		{`{"Variable":"$.v","IsNumeric":true}`, `{"v":1.5}`, true},
		{`{"Variable":"$.v","IsNumeric":true}`, `{"v":-3}`, true},
		{`{"Variable":"$.v","IsNumeric":true}`, `{"v":"1"}`, false},
		{`{"Variable":"$.v","IsNumeric":false}`, `{"v":true}`, true},
		{`{"Variable":"$.v","IsString":true}`, `{"v":""}`, true},
		{`{"Variable":"$.v","IsString":true}`, `{"v":0}`, false},
		{`{"Variable":"$.v","IsString":false}`, `{"v":null}`, true},
		{`{"Variable":"$.v","IsBoolean":true}`, `{"v":false}`, true},
		{`{"Variable":"$.v","IsBoolean":true}`, `{"v":"true"}`, false},
		{`{"Variable":"$.v","IsBoolean":false}`, `{"v":1}`, true},
		{`{"Variable":"$.v","IsTimestamp":true}`, `{"v":"2016-03-14T01:59:00Z"}`, true},
		{`{"Variable":"$.v","IsTimestamp":true}`, `{"v":"2016-03-14T01:59:00"}`, false},
		{`{"Variable":"$.v","IsTimestamp":true}`, `{"v":1457920740}`, false},
		{`{"Variable":"$.v","IsTimestamp":false}`, `{"v":"2016-02-30T01:59:00Z"}`, true},
	})
}

func TestComposites(t *testing.T) {
	rule := `{"Or":[
		{"Not":{"Variable":"$.type","StringEquals":"Private"}},
		{"And":[{"Variable":"$.value","NumericGreaterThanEquals":20},{"Variable":"$.value","NumericLessThan":30}]},
		{"And":[{"Variable":"$.a","IsPresent":true},{"Variable":"$.a","BooleanEquals":true},{"Variable":"$.b","IsNull":true}]}
	]}`
	runEval(t, []evalCase{
		{rule, `{"type":"Public"}`, true},
		{rule, `{"type":"Private","value":22}`, true},
		{rule, `{"type":"Private","value":30,"a":true,"b":null}`, true},
		{rule, `{"type":"Private","value":30,"a":true,"b":1}`, false},
		{rule, `{"type":"Private","value":19}`, false},
		{`{"And":[{"Variable":"$.v","IsPresent":true}]}`, `{"v":1}`, true},
		{`{"Or":[{"Variable":"$.v","IsPresent":false}]}`, `{"v":1}`, false},
		{`{"Not":{"Not":{"Variable":"$.v","IsPresent":true}}}`, `{"v":1}`, true},
		// And and Or stop at the first deciding operand: the missing $.x is
		// never read.
		{`{"And":[{"Variable":"$.v","IsPresent":false},{"Variable":"$.x","StringEquals":"y"}]}`, `{"v":1}`, false},
		{`{"Or":[{"Variable":"$.v","IsPresent":true},{"Variable":"$.x","StringEquals":"y"}]}`, `{"v":1}`, true},
		{`{"Or":[{"Variable":"$.v","IsPresent":false},{"Variable":"$.v","IsPresent":false},{"Variable":"$.v","IsNumeric":true}]}`, `{"v":1}`, true},
		{`{"And":[{"Variable":"$.v","IsPresent":true},{"Variable":"$.v","IsPresent":true},{"Variable":"$.v","IsString":true}]}`, `{"v":1}`, false},
	})
	// Ignored keys of a top-level rule.
	runEval(t, []evalCase{
		{`{"Variable":"$.v","IsNull":true,"Next":"X","Comment":"c","Assign":{"a":1},"Output":{}}`, `{"v":null}`, true},
		{`{"Not":{"Variable":"$.v","IsNull":true,"Comment":"nested comments are fine"},"Next":"X"}`, `{"v":null}`, false},
	})
}

const invalidPathCause = "An error occurred while executing the state 'Route' (entered at the event id #2). Invalid path '%s': The choice state's condition path references an invalid value."

func TestMissingPaths(t *testing.T) {
	cases := []struct {
		rule, input, path string
	}{
		{`{"Variable":"$.v","StringEquals":"x"}`, `{}`, "$.v"},
		{`{"Variable":"$.v.w","NumericEquals":1}`, `{"v":1}`, "$.v.w"},
		{`{"Variable":"$.v[2]","IsNull":true}`, `{"v":[1]}`, "$.v[2]"},
		{`{"Variable":"$.v","IsString":true}`, `{}`, "$.v"},
		{`{"Variable":"$.v","IsNumeric":false}`, `{}`, "$.v"},
		{`{"Variable":"$.v","IsBoolean":false}`, `{}`, "$.v"},
		{`{"Variable":"$.v","IsTimestamp":false}`, `{}`, "$.v"},
		{`{"Variable":"$.v","StringMatches":"*"}`, `{}`, "$.v"},
		{`{"Variable":"$.v","BooleanEquals":true}`, `{}`, "$.v"},
		{`{"Variable":"$.v","TimestampEquals":"2016-03-14T01:59:00Z"}`, `{}`, "$.v"},
		{`{"Variable":"$.v","StringLessThan":"x"}`, `{}`, "$.v"},
		// ...Path operators: either side missing fails, the Variable first.
		{`{"Variable":"$.v","NumericLessThanEqualsPath":"$.w"}`, `{"v":8}`, "$.w"},
		{`{"Variable":"$.v","StringEqualsPath":"$.w"}`, `{"w":"x"}`, "$.v"},
		{`{"Variable":"$.v","StringEqualsPath":"$.w"}`, `{}`, "$.v"},
		{`{"Variable":"$.v","BooleanEqualsPath":"$.w"}`, `{"v":"wrong type"}`, "$.w"},
		{`{"Variable":"$.v","TimestampEqualsPath":"$.w"}`, `{"v":1}`, "$.w"},
		// Errors pass through Not, And and Or.
		{`{"Not":{"Variable":"$.v","IsNull":true}}`, `{}`, "$.v"},
		{`{"And":[{"Variable":"$.v","IsPresent":false},{"Variable":"$.x","IsNull":true}]}`, `{}`, "$.x"},
		{`{"Or":[{"Variable":"$.v","IsPresent":true},{"Variable":"$.x","IsNull":true}]}`, `{}`, "$.x"},
		// Undefined variables are missing too.
		{`{"Variable":"$undefined","IsNull":true}`, `{}`, "$undefined"},
		{`{"Variable":"$known.nope","IsNull":true}`, `{}`, "$known.nope"},
	}
	for _, tc := range cases {
		c := mustCompile(t, tc.rule)
		in := parse(t, tc.input)
		inScope(t, map[string]any{"known": map[string]any{}}, func(s *express.Scope) {
			ok, err := c(s, in)
			var e *express.Error
			if !errors.As(err, &e) {
				t.Errorf("%s on %s = %v, %v; want a States.Runtime error", tc.rule, tc.input, ok, err)
				return
			}
			if ok {
				t.Errorf("%s on %s: true with an error", tc.rule, tc.input)
			}
			want := strings.Replace(invalidPathCause, "%s", tc.path, 1)
			if e.Name != express.ErrRuntime || e.Cause != want || !e.Terminal() {
				t.Errorf("%s on %s: error %s: %q\nwant cause %q", tc.rule, tc.input, e.Name, e.Cause, want)
			}
		})
		// Without a scope the error is the same but has no state prefix.
		_, err := c(nil, in)
		if err == nil || !strings.HasSuffix(err.Error(), "Invalid path '"+tc.path+"': The choice state's condition path references an invalid value.") {
			t.Errorf("%s on %s without scope: %v", tc.rule, tc.input, err)
		}
	}
}

func TestContextAndVariables(t *testing.T) {
	vars := map[string]any{
		"limit":  int64(10),
		"name":   "temperature",
		"flags":  map[string]any{"on": true},
		"list":   []any{"a", "b"},
		"isnull": nil,
	}
	cases := []evalCase{
		{`{"Variable":"$$.State.Name","StringEquals":"Route"}`, `{}`, true},
		{`{"Variable":"$$.Execution.Name","StringEquals":"exec-1"}`, `{}`, true},
		{`{"Variable":"$$.Execution.Input.orig","StringEquals":"input"}`, `{}`, true},
		{`{"Variable":"$$.State.EnteredTime","TimestampEquals":"2024-05-06T07:08:09Z"}`, `{}`, true},
		{`{"Variable":"$$.State.EnteredTime","IsTimestamp":true}`, `{}`, true},
		{`{"Variable":"$$.Map","IsPresent":true}`, `{}`, false},
		{`{"Variable":"$.v","NumericLessThanPath":"$limit"}`, `{"v":9.5}`, true},
		{`{"Variable":"$.v","NumericLessThanPath":"$limit"}`, `{"v":10}`, false},
		{`{"Variable":"$limit","NumericEqualsPath":"$.v"}`, `{"v":10.0}`, true},
		{`{"Variable":"$name","StringEqualsPath":"$.type"}`, `{"type":"temperature"}`, true},
		{`{"Variable":"$flags.on","BooleanEquals":true}`, `{}`, true},
		{`{"Variable":"$list[1]","StringEquals":"b"}`, `{}`, true},
		{`{"Variable":"$isnull","IsNull":true}`, `{}`, true},
		{`{"Variable":"$nothere","IsPresent":false}`, `{}`, true},
		{`{"Variable":"$.v","StringEqualsPath":"$$.State.Name"}`, `{"v":"Route"}`, true},
	}
	for _, tc := range cases {
		c := mustCompile(t, tc.rule)
		in := parse(t, tc.input)
		inScope(t, vars, func(s *express.Scope) {
			got, err := c(s, in)
			if err != nil || got != tc.want {
				t.Errorf("%s on %s = %v, %v; want %v", tc.rule, tc.input, got, err, tc.want)
			}
		})
	}
}

func TestCompileProblems(t *testing.T) {
	cases := []struct {
		rule string
		want []string // "pointer: message fragment"
	}{
		{`{}`, []string{"/r: the rule has no condition"}},
		{`{"Next":"X","Comment":"c"}`, []string{"/r: the rule has no condition"}},
		{`{"Variable":"$.v"}`, []string{"/r: the rule has a Variable but no comparison operator"}},
		{`{"StringEquals":"x"}`, []string{"/r: the rule has StringEquals but no Variable"}},
		{`{"Variable":"$.v","StringEquals":"x","NumericEquals":1}`, []string{"/r/StringEquals: a rule takes exactly one comparison operator, and this one also has NumericEquals"}},
		{`{"Variable":"$.v","StringEquals":1}`, []string{"/r/StringEquals: StringEquals needs a string to compare with, not the number 1"}},
		{`{"Variable":"$.v","StringLessThan":null}`, []string{"/r/StringLessThan: StringLessThan needs a string"}},
		{`{"Variable":"$.v","NumericEquals":"10"}`, []string{`/r/NumericEquals: NumericEquals needs a number to compare with, not the string "10"`}},
		{`{"Variable":"$.v","NumericGreaterThan":true}`, []string{"/r/NumericGreaterThan: NumericGreaterThan needs a number"}},
		{`{"Variable":"$.v","BooleanEquals":"true"}`, []string{"/r/BooleanEquals: BooleanEquals needs true or false"}},
		{`{"Variable":"$.v","BooleanEquals":0}`, []string{"/r/BooleanEquals: BooleanEquals needs true or false, not the number 0"}},
		{`{"Variable":"$.v","TimestampEquals":"2016-03-14"}`, []string{`/r/TimestampEquals: TimestampEquals: "2016-03-14" is not an RFC 3339 timestamp`}},
		{`{"Variable":"$.v","TimestampLessThan":"2016-02-30T00:00:00Z"}`, []string{"/r/TimestampLessThan: TimestampLessThan: \"2016-02-30T00:00:00Z\" is not an RFC 3339 timestamp"}},
		{`{"Variable":"$.v","TimestampGreaterThan":1457920740}`, []string{"/r/TimestampGreaterThan: TimestampGreaterThan needs a timestamp string"}},
		{`{"Variable":"$.v","StringMatches":5}`, []string{"/r/StringMatches: StringMatches needs a pattern string"}},
		{`{"Variable":"$.v","IsNull":"true"}`, []string{"/r/IsNull: IsNull needs true or false"}},
		{`{"Variable":"$.v","IsPresent":1}`, []string{"/r/IsPresent: IsPresent needs true or false"}},
		{`{"Variable":"$.v","StringEqualsPath":"v"}`, []string{`/r/StringEqualsPath: StringEqualsPath is not a valid path: "v" is not a JSONPath`}},
		{`{"Variable":"$.v","NumericEqualsPath":1}`, []string{"/r/NumericEqualsPath: NumericEqualsPath must be a string holding a path"}},
		{`{"Variable":"$.v","NumericEqualsPath":"$.a[*]"}`, []string{"/r/NumericEqualsPath: NumericEqualsPath \"$.a[*]\" must be a reference path"}},
		{`{"Variable":"$..v","IsNull":true}`, []string{"/r/Variable: Variable \"$..v\" must be a reference path"}},
		{`{"Variable":"$.v[?(@.a)]","IsNull":true}`, []string{"/r/Variable: Variable "}},
		{`{"Variable":"v","IsNull":true}`, []string{"/r/Variable: Variable is not a valid path"}},
		{`{"Variable":"$1x","IsNull":true}`, []string{"/r/Variable: Variable is not a valid path"}},
		{`{"Variable":7,"IsNull":true}`, []string{"/r/Variable: Variable must be a string holding a path"}},
		{`{"Variable":"$.v","StringMatchesPath":"$.p"}`, []string{"/r/StringMatchesPath: StringMatches has no Path variant"}},
		{`{"Variable":"$.v","IsNullPath":"$.p"}`, []string{"/r/IsNullPath: IsNull has no Path variant"}},
		{`{"Variable":"$.v","StringEqual":"x"}`, []string{`/r/StringEqual: unknown field "StringEqual" in a Choice rule (did you mean "StringEquals"?)`}},
		{`{"Variable":"$.v","stringequals":"x"}`, []string{`(did you mean "StringEquals"?)`}},
		{`{"Variable":"$.v","IsNull":true,"Zzzzzzzzzzzzzz":1}`, []string{`/r/Zzzzzzzzzzzzzz: unknown field "Zzzzzzzzzzzzzz" in a Choice rule: a rule has`}},
		{`{"Variable":"$.v","IsNull":true,"a/b":1}`, []string{`/r/a~1b: unknown field "a/b"`}},
		{`{"Condition":"{% true %}"}`, []string{"/r/Condition: Condition is a JSONata field"}},
		{`{"And":[]}`, []string{"/r/And: And must be a non-empty array of Choice rules: add at least one rule"}},
		{`{"Or":{}}`, []string{"/r/Or: Or must be a non-empty array of Choice rules, not an object"}},
		{`{"And":null}`, []string{"/r/And: And must be a non-empty array of Choice rules, not null"}},
		{`{"Not":[]}`, []string{"/r/Not: Not must be a single Choice rule (a JSON object), not an array"}},
		{`{"And":[1]}`, []string{"/r/And/0: each element of And must be a Choice rule (a JSON object), not the number 1"}},
		{`{"And":[{"Variable":"$.v","IsNull":true}],"Or":[{"Variable":"$.v","IsNull":true}]}`, []string{"/r/Or: a rule takes exactly one of And, Or and Not, and this one also has And"}},
		{`{"And":[{"Variable":"$.v","IsNull":true}],"Variable":"$.v","IsNull":true}`, []string{"/r/Variable: Variable cannot stand next to And", "/r/IsNull: IsNull cannot stand next to And"}},
		{`{"Not":{"Variable":"$.v","IsNull":true,"Next":"X"}}`, []string{"/r/Not/Next: Next is only allowed on a top-level Choices rule"}},
		{`{"Or":[{"Variable":"$.v","IsNull":true,"Assign":{}}]}`, []string{"/r/Or/0/Assign: Assign is only allowed on a top-level Choices rule"}},
		// Every problem is reported, each at its own place.
		{`{"Or":[
			{"Variable":"$.a","NumericEquals":"1"},
			{"And":[{"Variable":"$.b","BooleanEquals":1},{"Not":{"Variable":"b","IsNull":true}}]},
			{"Variable":"$.c","TimestampEquals":"nope"},
			{"Variable":"$.d","StringEquals":"ok"}
		]}`, []string{
			"/r/Or/0/NumericEquals: ",
			"/r/Or/1/And/0/BooleanEquals: ",
			"/r/Or/1/And/1/Not/Variable: ",
			"/r/Or/2/TimestampEquals: ",
		}},
		{`{"Variable":"bad","NumericEquals":"1"}`, []string{"/r/Variable: ", "/r/NumericEquals: "}},
	}
	for _, tc := range cases {
		m := parse(t, tc.rule).(map[string]any)
		c, ps := Compile(m, "/r")
		if c != nil {
			t.Errorf("%s: compiled, want problems", tc.rule)
		}
		if len(ps) != len(tc.want) {
			t.Errorf("%s: %d problems, want %d:\n%v", tc.rule, len(ps), len(tc.want), ps)
			continue
		}
		for i, p := range ps.Sorted() {
			w := sortedWant(tc.want)[i]
			if !strings.Contains(p.String(), w) {
				t.Errorf("%s: problem %q, want it to contain %q", tc.rule, p.String(), w)
			}
		}
	}
}

func sortedWant(w []string) []string {
	ps := make(diag.Problems, len(w))
	for i, s := range w {
		ptr, msg, _ := strings.Cut(s, ": ")
		if !strings.HasPrefix(s, "/") {
			ptr, msg = "~", s // matches anywhere: sort last
		}
		ps[i] = diag.Problem{Pointer: ptr, Message: msg}
	}
	out := make([]string, len(ps))
	for i, p := range ps.Sorted() {
		if p.Pointer == "~" {
			out[i] = p.Message
		} else {
			out[i] = p.String()
		}
	}
	return out
}

func TestCompileValid(t *testing.T) {
	// Every operator compiles with a valid operand, Path forms with every root.
	for name, op := range operators {
		var operand string
		switch {
		case op.path:
			operand = `"$.w"`
		case op.kind == kString || op.kind == kMatches:
			operand = `"x"`
		case op.kind == kNumeric:
			operand = `1.5`
		case op.kind == kTimestamp:
			operand = `"2016-03-14T01:59:00Z"`
		default:
			operand = `true`
		}
		for _, v := range []string{"$.v", "$", "$$.Execution.Input", "$var.x[0]", "$['a b'][0]"} {
			mustCompile(t, `{"Variable":"`+v+`","`+name+`":`+operand+`}`)
		}
		if op.path {
			for _, p := range []string{"$$.State.Name", "$var", "$.a['b'][2]"} {
				mustCompile(t, `{"Variable":"$.v","`+name+`":"`+p+`"}`)
			}
		}
	}
	// 5 String, 5 Numeric, 5 Timestamp and BooleanEquals, each with its
	// Path form, StringMatches, and 6 Is... operators.
	if n := len(operators); n != 39 {
		t.Errorf("%d operators, want 39", n)
	}
}

func TestHotRuleDoesNotAllocate(t *testing.T) {
	c := mustCompile(t, hotRule)
	in := parse(t, `{"type":"temperature","value":21.7}`)
	s := new(express.Scope)
	allocs := testing.AllocsPerRun(1000, func() {
		if ok, err := c(s, in); !ok || err != nil {
			t.Fatal("hot rule did not match")
		}
	})
	if allocs != 0 {
		t.Errorf("hot rule allocates %v times per evaluation", allocs)
	}
	// Nor do the other literal operators.
	for _, r := range []string{
		`{"Variable":"$.t","TimestampLessThan":"2030-01-01T00:00:00.5+01:00"}`,
		`{"Variable":"$.t","IsTimestamp":true}`,
		`{"Variable":"$.type","StringMatches":"temp*at*re"}`,
		`{"Variable":"$.type","StringGreaterThan":"t"}`,
		`{"Variable":"$.value","NumericEqualsPath":"$.value"}`,
		`{"Not":{"Variable":"$.ok","BooleanEquals":false}}`,
		`{"Or":[{"Variable":"$.x","IsPresent":true},{"Variable":"$.ok","IsBoolean":false},{"Variable":"$.value","IsNumeric":true}]}`,
	} {
		c := mustCompile(t, r)
		in := parse(t, `{"type":"temperature","value":21.7,"t":"2024-05-06T07:08:09.123Z","ok":true}`)
		if a := testing.AllocsPerRun(100, func() {
			if ok, err := c(s, in); !ok || err != nil {
				t.Fatalf("%s did not match", r)
			}
		}); a != 0 {
			t.Errorf("%s allocates %v times per evaluation", r, a)
		}
	}
}

const hotRule = `{"And":[
	{"Variable":"$.type","StringEquals":"temperature"},
	{"Variable":"$.value","NumericGreaterThan":-50},
	{"Variable":"$.value","NumericLessThan":150}
],"Next":"Alert"}`

func BenchmarkHotRule(b *testing.B) {
	c := mustCompile(b, hotRule)
	in := parse(b, `{"type":"temperature","value":21.7}`)
	s := new(express.Scope)
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := c(s, in); !ok || err != nil {
			b.Fatal("no match")
		}
	}
}

func BenchmarkHotRuleParallel(b *testing.B) {
	c := mustCompile(b, hotRule)
	in := parse(b, `{"type":"temperature","value":21.7}`)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		s := new(express.Scope)
		for pb.Next() {
			if ok, err := c(s, in); !ok || err != nil {
				b.Error("no match")
				return
			}
		}
	})
}

func BenchmarkCompileHotRule(b *testing.B) {
	m := parse(b, hotRule).(map[string]any)
	b.ReportAllocs()
	for b.Loop() {
		if _, ps := Compile(m, "/States/Route/Choices/0"); ps != nil {
			b.Fatal(ps)
		}
	}
}
