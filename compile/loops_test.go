package compile

import (
	"strings"
	"testing"

	"github.com/stepstream/express/compile/diag"
)

// TestLoopWarnings: a loop of states that nothing leaves is valid (AWS
// accepts it) but is warned about, naming its states; a loop that can end
// is not.
func TestLoopWarnings(t *testing.T) {
	pass := func(next string) string { return `{"Type":"Pass","Next":"` + next + `"}` }
	for _, tc := range []struct {
		name, def string
		want      []string // "pointer: states" of each warning
	}{
		{"two Pass states", `{"StartAt":"A","States":{"A":` + pass("B") + `,"B":` + pass("A") + `}}`,
			[]string{`/States/A: states "A", "B" loop`}},
		{"entered from a state outside the loop", `{"StartAt":"S","States":{"S":` + pass("A") + `,"A":` + pass("B") + `,"B":` + pass("C") + `,"C":` + pass("A") + `}}`,
			[]string{`/States/A: states "A", "B", "C" loop`}},
		{"self loop", `{"StartAt":"A","States":{"A":` + pass("A") + `}}`,
			[]string{`/States/A: state "A" loops to itself`}},
		{"Choice whose Default stays in the loop", `{"StartAt":"A","States":{"A":` + pass("C") + `,
			"C":{"Type":"Choice","Choices":[{"Variable":"$.x","IsPresent":true,"Next":"A"}],"Default":"W"},
			"W":{"Type":"Wait","Seconds":1,"Next":"A"}}}`,
			[]string{`/States/A: states "A", "C", "W" loop`}},
		{"Task whose errors are all caught back into the loop", `{"StartAt":"T","States":{
			"T":{"Type":"Task","Resource":"r","Catch":[{"ErrorEquals":["States.ALL"],"Next":"P"}],"Next":"P"},"P":` + pass("T") + `}}`,
			[]string{`/States/P: states "P", "T" loop`}},
		{"two loops", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","IsPresent":true,"Next":"A"}],"Default":"X"},
			"A":` + pass("B") + `,"B":` + pass("A") + `,"X":` + pass("X") + `}}`,
			[]string{`/States/A: states "A", "B" loop`, `/States/X: state "X" loops to itself`}},
		{"in a Parallel branch", `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
			{"StartAt":"OK","States":{"OK":{"Type":"Pass","End":true}}},
			{"StartAt":"A","States":{"A":` + pass("B") + `,"B":` + pass("A") + `}}]}}}`,
			[]string{`/States/P/Branches/1/States/A: states "A", "B" loop`}},
		{"in a Map item processor", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":
			{"StartAt":"A","States":{"A":` + pass("A") + `}}}}}`,
			[]string{`/States/M/ItemProcessor/States/A: state "A" loops to itself`}},
		{"in a Map Iterator", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"Iterator":
			{"StartAt":"A","States":{"A":` + pass("B") + `,"B":` + pass("A") + `}}}}}`,
			[]string{`/States/M/Iterator/States/A: states "A", "B" loop`}},

		{"Choice Default leads out", `{"StartAt":"A","States":{"A":` + pass("C") + `,
			"C":{"Type":"Choice","Choices":[{"Variable":"$.x","IsPresent":true,"Next":"A"}],"Default":"Done"},
			"Done":{"Type":"Succeed"}}}`, nil},
		{"Choice rule leads out", `{"StartAt":"A","States":{"A":` + pass("C") + `,
			"C":{"Type":"Choice","Choices":[{"Variable":"$.x","IsPresent":true,"Next":"Done"}],"Default":"A"},
			"Done":{"Type":"Pass","End":true}}}`, nil},
		{"Choice without Default", `{"StartAt":"A","States":{"A":` + pass("C") + `,
			"C":{"Type":"Choice","Choices":[{"Variable":"$.x","IsPresent":true,"Next":"A"}]}}}`, nil},
		{"polling Task with Retry", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Retry":[{"ErrorEquals":["States.ALL"]}],"Next":"W"},
			"W":{"Type":"Wait","Seconds":5,"Next":"T"}}}`, nil},
		{"Catch to a terminal", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Catch":[{"ErrorEquals":["States.ALL"],"Next":"F"}],"Next":"P"},
			"P":` + pass("T") + `,"F":{"Type":"Fail","Error":"E"}}}`, nil},
		{"Map in a loop", `{"StartAt":"M","States":{"M":{"Type":"Map","Next":"P","ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}},
			"P":` + pass("M") + `}}`, nil},
		{"no loop", `{"StartAt":"A","States":{"A":` + pass("B") + `,"B":{"Type":"Pass","End":true}}}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Compile([]byte(tc.def), Options{}); err != nil {
				t.Fatalf("not valid: %v", err)
			}
			ps := Check([]byte(tc.def))
			if len(ps.Errors()) != 0 {
				t.Fatalf("errors: %v", ps)
			}
			var got []string
			for _, p := range ps {
				if p.Severity != diag.Warning {
					t.Errorf("not a warning: %v", p)
				}
				i := strings.Index(p.Message, " with no way out")
				if i < 0 || !strings.Contains(p.String(), ": warning: ") {
					t.Errorf("message %q", p)
					continue
				}
				got = append(got, p.Pointer+": "+p.Message[:i])
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("warnings\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
	// A definition with errors reports the errors only.
	if ps := Check([]byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"A","Bogus":1}}}`)); len(ps) != 1 || len(ps.Errors()) != 1 {
		t.Errorf("invalid definition: %v", ps)
	}
}
