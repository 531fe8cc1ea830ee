package choice

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

var fuzzSeeds = []string{
	hotRule,
	`{"Variable":"$.type","StringEquals":"temperature","Next":"A"}`,
	`{"Variable":"$.value","NumericEquals":21.7}`,
	`{"Variable":"$.n","NumericLessThanEquals":9223372036854775807}`,
	`{"Variable":"$.n","NumericGreaterThan":0.1234567890123456789012}`,
	`{"Variable":"$.ok","BooleanEquals":true}`,
	`{"Variable":"$.ok","BooleanEqualsPath":"$.no"}`,
	`{"Variable":"$.t","TimestampLessThan":"2030-01-01T00:00:00.5+01:00"}`,
	`{"Variable":"$.t","TimestampGreaterThanEqualsPath":"$$.State.EnteredTime"}`,
	`{"Variable":"$.t","IsTimestamp":true}`,
	`{"Variable":"$.type","StringMatches":"te*\\*at\\\\ure*"}`,
	`{"Variable":"$.type","StringMatches":"\\"}`,
	`{"Variable":"$.type","StringLessThanPath":"$.list[1]"}`,
	`{"Variable":"$.type","StringGreaterThanEquals":"\ud83d\ude00"}`,
	`{"Variable":"$.missing","IsPresent":false}`,
	`{"Variable":"$.missing","IsNull":true}`,
	`{"Variable":"$.obj.a.b","IsString":true}`,
	`{"Variable":"$.list[-1]","IsNumeric":true}`,
	`{"Variable":"$.list[99]","IsBoolean":false}`,
	`{"Variable":"$","IsPresent":true}`,
	`{"Variable":"$$.Execution.Input.type","StringEquals":"temperature"}`,
	`{"Variable":"$$.Map.Item.Index","NumericEquals":0}`,
	`{"Variable":"$limit","NumericGreaterThanPath":"$.value"}`,
	`{"Variable":"$undefined","IsPresent":true}`,
	`{"Variable":"$['odd key'][0]","StringEquals":"x"}`,
	`{"Not":{"Variable":"$.ok","IsNull":true}}`,
	`{"Or":[{"Variable":"$.a","IsPresent":true},{"And":[{"Variable":"$.value","NumericGreaterThan":0},{"Not":{"Variable":"$.type","StringEquals":"x"}}]}]}`,
	`{"And":[]}`,
	`{"And":[1,"x",null,{}]}`,
	`{"Not":{"Not":{"Not":{}}}}`,
	`{"Or":{"Variable":"$.a","IsNull":true}}`,
	`{"Variable":"$..a","IsNull":true}`,
	`{"Variable":"$.a[*]","IsNull":true}`,
	`{"Variable":"$.a[?(@.b)]","IsNull":true}`,
	`{"Variable":"$.a[","IsNull":true}`,
	`{"Variable":"$","StringEqualsPath":"$$"}`,
	`{"Variable":"$.a","StringEquals":"x","NumericEquals":1,"BooleanEquals":true}`,
	`{"Variable":"$.a","TimestampEquals":"2016-02-30T00:00:00Z"}`,
	`{"Variable":"$.a","StringMatchesPath":"$.b"}`,
	`{"Variable":"$.a","NumericEqual":1}`,
	`{"Condition":"{% true %}"}`,
	`{"Variable":"$.a","IsNull":true,"a/b~c":1}`,
	`{}`,
	`{"Next":"X"}`,
}

// fuzzInput is what every compiled rule is evaluated on, with fuzzVars.
const fuzzInput = `{"type":"temperature","value":21.7,"n":42,"ok":true,"no":false,"nul":null,
	"t":"2024-05-06T07:08:09.123Z","list":["a","b",3,true,null],"obj":{"a":{"b":"c"}},
	"odd key":["x"],"big":12345678901234567890}`

var fuzzVars = map[string]any{"limit": int64(10), "name": "temperature", "flags": map[string]any{"on": true}}

// FuzzCompile decodes JSON text, compiles it as a rule and evaluates it.
// Nothing may panic; Compile returns a Cond or problems, never both and
// never neither; every problem points inside the rule; evaluation is
// deterministic and fails only with the States.Runtime invalid path error.
func FuzzCompile(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	input, err := jsonv.ParsePlain([]byte(fuzzInput))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		// ojg v1.28.5 panics on some malformed JSON, e.g. {"":t,"":0
		// (testdata/fuzz/FuzzCompile/367dcf7a592c6811); jsonv.Parse must
		// turn that into an error.
		v, err := jsonv.ParsePlain([]byte(text))
		if err != nil {
			return
		}
		rule, ok := v.(map[string]any)
		if !ok {
			return
		}
		const ptr = "/States/S/Choices/0"
		c, ps := Compile(rule, ptr)
		if (c == nil) == (len(ps) == 0) {
			t.Fatalf("Compile returned cond=%v with %d problems", c != nil, len(ps))
		}
		for _, p := range ps {
			if !strings.HasPrefix(p.Pointer, ptr) || p.Message == "" {
				t.Fatalf("bad problem %q", p.String())
			}
		}
		if c == nil {
			return
		}
		var (
			results  [2]bool
			errs     [2]error
			panicked string
		)
		m := &express.Machine{States: []*express.State{{Name: "Route", Type: "Choice",
			Exec: func(s *express.Scope, in any) (any, int, error) {
				defer func() {
					if p := recover(); p != nil {
						panicked = fmt.Sprintf("%v\n%s", p, debug.Stack())
					}
				}()
				s.Assign(fuzzVars)
				results[0], errs[0] = c(s, in)
				results[1], errs[1] = c(s, in)
				return in, express.End, nil
			}}}}
		express.NewWorkflow(m, express.Options{}).Execute(context.Background(), input,
			express.ExecOptions{Clock: express.NewVirtualClock(time.Unix(1e9, 0))})
		if panicked != "" {
			t.Fatalf("evaluation panicked: %s", panicked)
		}
		if results[0] != results[1] || (errs[0] == nil) != (errs[1] == nil) {
			t.Fatalf("evaluation is not deterministic: %v/%v, %v/%v", results[0], results[1], errs[0], errs[1])
		}
		if err := errs[0]; err != nil {
			var e *express.Error
			if !errors.As(err, &e) || e.Name != express.ErrRuntime ||
				!strings.HasSuffix(e.Cause, "': The choice state's condition path references an invalid value.") {
				t.Fatalf("unexpected error %#v", err)
			}
			if results[0] {
				t.Fatalf("true with an error")
			}
		}
	})
}

// FuzzTimestamp checks parseTimestamp against the standard library: every
// string it accepts, time.Parse accepts as the same instant.
func FuzzTimestamp(f *testing.F) {
	for _, s := range []string{"2016-03-14T01:59:00Z", "2016-03-14T01:59:00.123456789+05:30",
		"2000-02-29T23:59:59-00:00", "0000-01-01T00:00:00Z", "1969-12-31T23:59:59.9Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTimestamp(s)
		if !ok {
			return
		}
		ref, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("parseTimestamp accepts %q, time.Parse does not: %v", s, err)
		}
		if got.sec != ref.Unix() || int(got.nsec) != ref.Nanosecond() {
			t.Fatalf("parseTimestamp(%q) = %d.%09d, time.Parse says %d.%09d", s, got.sec, got.nsec, ref.Unix(), ref.Nanosecond())
		}
	})
}
