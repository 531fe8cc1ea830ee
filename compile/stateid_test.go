package compile_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/stepstream/express/compile"
)

// TestStateIDs: every state of a workflow, those of nested Map and
// Parallel machines included, gets an ID 0..N-1, unique, and is found at
// that index of the top machine's AllStates.
func TestStateIDs(t *testing.T) {
	def := `{"StartAt":"Each","States":{
		"Each":{"Type":"Map","ItemProcessor":{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","End":true}}},"Next":"Both"},
		"Both":{"Type":"Parallel","Branches":[
			{"StartAt":"C","States":{"C":{"Type":"Succeed"}}},
			{"StartAt":"D","States":{"D":{"Type":"Map","ItemProcessor":{"StartAt":"E","States":{"E":{"Type":"Pass","End":true}}},"End":true}}}],"Next":"Done"},
		"Done":{"Type":"Succeed"}}}`
	wf, err := compile.Compile([]byte(def), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	all := wf.Machine.AllStates
	var names []string
	for i, st := range all {
		if st.ID != i {
			t.Errorf("AllStates[%d] is %s with ID %d", i, st.Name, st.ID)
		}
		names = append(names, st.Name)
	}
	sort.Strings(names)
	if got := strings.Join(names, ","); got != "A,B,Both,C,D,Done,E,Each" {
		t.Errorf("AllStates %s", got)
	}
	// the top machine's States are the same values
	for _, st := range wf.Machine.States {
		if all[st.ID] != st {
			t.Errorf("state %s: AllStates[%d] is another state", st.Name, st.ID)
		}
	}
}
