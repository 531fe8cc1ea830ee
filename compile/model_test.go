package compile

import (
	"fmt"
	"strings"
	"testing"
)

// modelText renders a model compactly: one line per state, branches
// indented.
func modelText(m *MachineModel, indent string) string {
	var b strings.Builder
	name := func(i int) string {
		if i < 0 {
			return "-"
		}
		return m.States[i].Name
	}
	fmt.Fprintf(&b, "%s%s start=%s\n", indent, m.Pointer, name(m.Start))
	for _, s := range m.States {
		fmt.Fprintf(&b, "%s %s %s %s next=%s", indent, s.Pointer, s.Name, s.Type, name(s.Next))
		if s.End {
			b.WriteString(" end")
		}
		for _, c := range s.Choices {
			fmt.Fprintf(&b, " rule(%s)=%s", c.Pointer, name(c.Next))
		}
		if s.Default >= 0 {
			fmt.Fprintf(&b, " default=%s", name(s.Default))
		}
		for _, r := range s.Retry {
			fmt.Fprintf(&b, " retry%v×%d", r.ErrorEquals, r.MaxAttempts)
		}
		for _, c := range s.Catch {
			fmt.Fprintf(&b, " catch%v=%s", c.ErrorEquals, name(c.Next))
		}
		b.WriteString("\n")
		for _, br := range s.Branches {
			b.WriteString(modelText(br, indent+"  "))
		}
	}
	return b.String()
}

func TestModelOf(t *testing.T) {
	cases := []struct{ name, def, want string }{
		{"transitions", `{"StartAt":"T","States":{
			"T":{"Type":"Task","Resource":"r","Next":"C","Retry":[{"ErrorEquals":["A","B"]},{"ErrorEquals":["States.ALL"],"MaxAttempts":0}],
				"Catch":[{"ErrorEquals":["X"],"Next":"F"}]},
			"C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true,"Next":"a/b~"}],"Default":"F"},
			"a/b~":{"Type":"Pass","End":true},
			"F":{"Type":"Fail"}}}`, `
 start=T
 /States/C C Choice next=- rule(/States/C/Choices/0)=a/b~ default=F
 /States/F F Fail next=-
 /States/T T Task next=C retry[A B]×3 retry[States.ALL]×0 catch[X]=F
 /States/a~1b~0 a/b~ Pass next=- end
`},
		{"iterator is the item processor; branches are their own scope", `{"StartAt":"M","States":{
			"M":{"Type":"Map","Iterator":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}},"Next":"P"},
			"P":{"Type":"Parallel","End":true,"Branches":[
				{"StartAt":"B","States":{"B":{"Type":"Succeed"}}},
				{"StartAt":"B","States":{"B":{"Type":"Wait","Seconds":1,"Next":"C"},"C":{"Type":"Succeed"}}}]}}}`, `
 start=M
 /States/M M Map next=P
  /States/M/Iterator start=I
   /States/M/Iterator/States/I I Pass next=- end
 /States/P P Parallel next=- end
  /States/P/Branches/0 start=B
   /States/P/Branches/0/States/B B Succeed next=-
  /States/P/Branches/1 start=B
   /States/P/Branches/1/States/B B Wait next=C
   /States/P/Branches/1/States/C C Succeed next=-
`},
		{"other problems do not stop the model", `{"StartAt":"T","QueryLanguage":"JSONata","States":{
			"T":{"Type":"Task","Resource":"arn:aws:states:::glue:startJobRun.sync","Arguments":"{% $nope( %}","End":true,"Bogus":1}}}`, `
 start=T
 /States/T T Task next=- end
`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(tc.def))
			if err != nil {
				t.Fatal(err)
			}
			m, err := ModelOf(doc)
			if err != nil {
				t.Fatal(err)
			}
			if got := "\n" + modelText(m.Machine, ""); got != tc.want {
				t.Errorf("got:%swant:%s", got, tc.want)
			}
		})
	}
}

func TestModelOfShapeProblems(t *testing.T) {
	cases := []struct{ def, want string }{
		{`[]`, "/: a definition must be a JSON object"},
		{`{"States":{"A":{"Type":"Succeed"}}}`, "/: StartAt is missing"},
		{`{"StartAt":1,"States":{"A":{"Type":"Succeed"}}}`, "/StartAt: must be a string"},
		{`{"StartAt":"A"}`, "/: States is missing"},
		{`{"StartAt":"A","States":{}}`, "/States: States must contain at least one state"},
		{`{"StartAt":"B","States":{"A":{"Type":"Succeed"}}}`, `/StartAt: no state named "B"`},
		{`{"StartAt":"A","States":{"A":{"Next":"A"}}}`, "/States/A: Type is missing"},
		{`{"StartAt":"A","States":{"A":"Pass"}}`, "/States/A: a state must be an object"},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nope"}}}`, `/States/A/Next: no state named "Nope"`},
		{`{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true}]}}}`, `/States/A/Choices/0: a Choice rule needs Next`},
		{`{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[],"Default":"X"}}}`, `/States/A/Default: no state named "X"`},
		{`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Catch":[{"ErrorEquals":["States.ALL"],"Next":1}]}}}`, `/States/A/Catch/0/Next: must be a string`},
		{`{"StartAt":"A","States":{"A":{"Type":"Parallel","End":true}}}`, "/States/A: a Parallel state needs Branches"},
		{`{"StartAt":"A","States":{"A":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","Next":"A"}}}]}}}`, `/States/A/Branches/0/States/B/Next: no state named "A"`},
		{`{"StartAt":"A","States":{"A":{"Type":"Map","End":true}}}`, "/States/A: a Map state needs ItemProcessor"},
		{`{"StartAt":"A","States":{"A":{"Type":"Map","End":true,"Iterator":[]}}}`, "/States/A/Iterator: Iterator must be an object"},
	}
	for _, tc := range cases {
		doc, err := Parse([]byte(tc.def))
		if err != nil {
			t.Fatal(err)
		}
		m, err := ModelOf(doc)
		if err == nil || !strings.Contains(err.Error(), tc.want) || m != nil {
			t.Errorf("%s: model %v, error %v, want one containing %q", tc.def, m, err, tc.want)
		}
	}
}
