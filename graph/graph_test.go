package graph

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stepstream/express/compile"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestGolden renders every testdata/*.asl.json in both formats and
// compares with testdata/NAME.mmd and testdata/NAME.dot.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.asl.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		def, err := compile.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		base := strings.TrimSuffix(f, ".asl.json")
		for _, r := range []struct {
			ext    string
			render func(any) (string, error)
		}{{".mmd", Mermaid}, {".dot", DOT}} {
			got, err := r.render(def)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			golden := base + r.ext
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./graph -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the rendering (go test ./graph -update rewrites it); got:\n%s", golden, got)
			}
		}
	}
}

// TestDeterministic renders the same definition many times: Go's map order
// must not show.
func TestDeterministic(t *testing.T) {
	raw, err := os.ReadFile("testdata/kitchen-sink.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	first := map[string]string{}
	for i := 0; i < 30; i++ {
		def, err := compile.Parse(raw) // fresh maps each time
		if err != nil {
			t.Fatal(err)
		}
		m, _ := Mermaid(def)
		d, _ := DOT(def)
		if i == 0 {
			first["m"], first["d"] = m, d
			continue
		}
		if m != first["m"] || d != first["d"] {
			t.Fatalf("run %d rendered differently", i)
		}
	}
}

func TestRuleLabel(t *testing.T) {
	cases := []struct {
		rule string
		want string
	}{
		{`{"Variable":"$.value","NumericGreaterThan":30}`, `$.value > 30`},
		{`{"Variable":"$.value","NumericLessThanEquals":2.5}`, `$.value <= 2.5`},
		{`{"Variable":"$.value","NumericGreaterThanPath":"$.meta.threshold"}`, `$.value > $.meta.threshold`},
		{`{"Variable":"$.type","StringEquals":"temperature"}`, `$.type == 'temperature'`},
		{`{"Variable":"$.type","StringEquals":"it's"}`, `$.type == 'it\'s'`},
		{`{"Variable":"$.name","StringMatches":"*.log"}`, `$.name matches '*.log'`},
		{`{"Variable":"$.ok","BooleanEquals":false}`, `$.ok == false`},
		{`{"Variable":"$.ts","TimestampGreaterThanEquals":"2026-01-01T00:00:00Z"}`, `$.ts >= '2026-01-01T00:00:00Z'`},
		{`{"Variable":"$.x","IsPresent":false}`, `$.x is not present`},
		{`{"Variable":"$.x","IsNumeric":true}`, `$.x is numeric`},
		{`{"Variable":"$.x","IsNull":true}`, `$.x is null`},
		{`{"Variable":"$.x","IsTimestamp":false}`, `$.x is not a timestamp`},
		{`{"Variable":"$v","NumericEquals":1}`, `$v == 1`},
		{`{"And":[{"Variable":"$.a","NumericEquals":1},{"Variable":"$.b","StringEquals":"x"}]}`, `$.a == 1 and $.b == 'x'`},
		{`{"Or":[{"Variable":"$.a","NumericEquals":1},{"And":[{"Variable":"$.b","IsNull":true},{"Variable":"$.c","IsNull":false}]}]}`, `$.a == 1 or ($.b is null and $.c is not null)`},
		{`{"Not":{"Variable":"$.a","StringEquals":"x"}}`, `not $.a == 'x'`},
		{`{"Not":{"Or":[{"Variable":"$.a","IsNull":true},{"Variable":"$.b","IsNull":true}]}}`, `not ($.a is null or $.b is null)`},
		{`{"Condition":"{% $states.input.value > 30 %}"}`, `$states.input.value > 30`},
		{`{"Condition":"{%\n  $a\n  and $b %}"}`, `$a and $b`},
		{`{"Condition":true}`, `true`},
		{`{"Variable":"$.a","Mystery":1}`, `rule`},
	}
	for _, tc := range cases {
		v, err := compile.Parse([]byte(tc.rule))
		if err != nil {
			t.Fatal(err)
		}
		if got := ruleLabel(v.(map[string]any)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.rule, got, tc.want)
		}
	}
}

func TestShorten(t *testing.T) {
	if got := shorten("short"); got != "short" {
		t.Errorf("got %q", got)
	}
	long := strings.Repeat("é", 100)
	got := shorten(long)
	if n := len([]rune(got)); n != maxLabel || !strings.HasSuffix(got, "…") {
		t.Errorf("got %d runes: %q", n, got)
	}
}

func TestIDs(t *testing.T) {
	m := &model{ids: map[string]bool{}}
	for _, tc := range []struct{ name, want string }{
		{"Validate", "s_Validate"},
		{"end", "s_end"},
		{"Read \"order\" #1", "s_Read__order___1"},
		{"Read 'order' #1", "s_Read__order___1_2"},
		{"Ünïcode", "s__n_code"},
		{"a-b", "s_a_b"},
		{"a_b", "s_a_b_2"},
		{"a b", "s_a_b_3"},
	} {
		if got := m.newID(tc.name); got != tc.want {
			t.Errorf("%q: id %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestEscaping(t *testing.T) {
	if got, want := mermaidText(`a "b" <c> & #d | e`+"\n"), `a #quot;b#quot; #lt;c> #amp; #35;d | e `; got != want {
		t.Errorf("mermaidText: got %q, want %q", got, want)
	}
	if got, want := dotText("a \"b\" \\ c\nd"), `"a \"b\" \\ c\nd"`; got != want {
		t.Errorf("dotText: got %q, want %q", got, want)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		def  string
		want string
	}{
		// The compiler's problems that leave the shape unknown (see
		// compile.TestModelOfShapeProblems for all of them).
		{`[]`, "/: a definition must be a JSON object"},
		{`{"StartAt":"A"}`, "/: States is missing"},
		{`{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true,"Next":"X"}]}}}`, `/States/A/Choices/0/Next: no state named "X"`},
		{`{"StartAt":"A","States":{"A":{"Type":"Map","End":true,"Iterator":{"StartAt":"B","States":{"B":{"Type":"Pass","Next":"C"}}}}}}`, `/States/A/Iterator/States/B/Next: no state named "C"`},
		{`{"StartAt":"a/b","States":{"a/b":{"Type":"Pass","Next":"c"}}}`, `/States/a~1b/Next: no state named "c"`},
		{`{"StartAt":"A","States":{"A":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","Next":"A"}}}]}}}`, `/States/A/Branches/0/States/B/Next: no state named "A"`},
	}
	for _, tc := range cases {
		def, err := compile.Parse([]byte(tc.def))
		if err != nil {
			t.Fatal(err)
		}
		for name, render := range map[string]func(any) (string, error){"Mermaid": Mermaid, "DOT": DOT} {
			_, err := render(def)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s(%s): error %v, want it to contain %q", name, tc.def, err, tc.want)
			}
		}
	}
}

// TestShapes checks the node shapes and edge styles in both formats on a
// small definition.
func TestShapes(t *testing.T) {
	def, err := compile.Parse([]byte(`{"StartAt":"T","States":{
		"T":{"Type":"Task","Resource":"r","Next":"C","Retry":[{"ErrorEquals":["E"],"MaxAttempts":2}],"Catch":[{"ErrorEquals":["X","Y"],"Next":"F"}]},
		"C":{"Type":"Choice","Choices":[{"Variable":"$.a","NumericLessThan":1,"Next":"W"}],"Default":"S"},
		"W":{"Type":"Wait","Seconds":1,"Next":"P"},
		"P":{"Type":"Pass","End":true},
		"S":{"Type":"Succeed"},
		"F":{"Type":"Fail"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Mermaid(def)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`s_T["T"]`, `s_C{"C"}`, `s_W[/"W"/]`, `s_P("P")`, `s_S(["S"])`, `s_F{{"F"}}`,
		`START --> s_T`, `s_T --> s_C`, `s_T -.->|"X, Y"| s_F`, `s_T -.->|"retry ×2 on E"| s_T`,
		`s_C -->|"$.a #lt; 1"| s_W`, `s_C -->|"default"| s_S`, `s_P --> END`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("Mermaid lacks %q:\n%s", want, m)
		}
	}
	d, err := DOT(def)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`s_T [label="T", shape=box`, `s_C [label="C", shape=diamond`, `s_W [label="W", shape=parallelogram`,
		`s_S [label="S", shape=oval`, `s_F [label="F", shape=hexagon`, `s_P [label="P", shape=box, style="rounded,filled"`,
		`s_T -> s_F [label="X, Y", style=dashed];`, `s_T -> s_T [label="retry ×2 on E", style=dotted];`,
		`s_C -> s_W [label="$.a < 1"];`, `s_P -> END;`,
	} {
		if !strings.Contains(d, want) {
			t.Errorf("DOT lacks %q:\n%s", want, d)
		}
	}
}

func TestRetryLabels(t *testing.T) {
	def, err := compile.Parse([]byte(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true,"Retry":[
		{"ErrorEquals":["States.Timeout"]},
		{"ErrorEquals":["A","B"],"MaxAttempts":1},
		{"ErrorEquals":["C"],"MaxAttempts":0},
		{"ErrorEquals":["DynamoDB.ProvisionedThroughputExceededException","DynamoDB.RequestLimitExceeded","Lambda.TooManyRequestsException"],"MaxAttempts":4},
		{"ErrorEquals":["States.ALL"],"MaxAttempts":5}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := build(def)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"retry ×3 on States.Timeout", "retry ×1 on A, B", "no retry on C",
		"retry ×4 on DynamoDB.ProvisionedThroughputExceededE… +2 more", "retry ×5 on any error"}
	got := m.top.start.retries
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, l := range got {
		if shorten(l) != l {
			t.Errorf("%q is longer than a label may be", l)
		}
	}
}

// FuzzGraph draws mutated definitions: an error is fine, a panic is not.
func FuzzGraph(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.asl.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		def, err := compile.Parse(b)
		if err != nil {
			return
		}
		m, errM := Mermaid(def)
		d, errD := DOT(def)
		if (errM == nil) != (errD == nil) || (errM == nil && (m == "" || d == "")) {
			t.Errorf("Mermaid %v, DOT %v", errM, errD)
		}
	})
}
