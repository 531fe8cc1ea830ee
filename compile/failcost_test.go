package compile

import (
	"context"
	"testing"

	"github.com/stepstream/express/express"
)

// TestFailCostsNoMoreThanSucceed: an execution that ends in a Fail state
// with a constant Error and Cause allocates no more than one that ends in
// a Succeed state (a dead-lettered record is to cost no more than one whose
// output is produced): the error is built once, at compile time, and the
// engine's error handling does not allocate for it. A Fail whose Cause is
// read from the input still gets its own error in every execution.
func TestFailCostsNoMoreThanSucceed(t *testing.T) {
	const pass = `"P":{"Type":"Pass","Parameters":{"a.$":"$.a"},"Next":"End"}`
	defs := map[string]string{
		"succeed":         `{"StartAt":"P","States":{` + pass + `,"End":{"Type":"Succeed"}}}`,
		"fail":            `{"StartAt":"P","States":{` + pass + `,"End":{"Type":"Fail","Error":"Rejected","Cause":"out of range"}}}`,
		"fail-jsonata":    `{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Next":"End"},"End":{"Type":"Fail","Error":"Rejected","Cause":"out of range"}}}`,
		"succeed-jsonata": `{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Next":"End"},"End":{"Type":"Succeed"}}}`,
	}
	allocs := map[string]float64{}
	for name, def := range defs {
		wf, err := Compile([]byte(def), Options{Name: name})
		if err != nil {
			t.Fatal(name, err)
		}
		in := mustJSON(t, `{"a":1}`)
		ctx := context.Background()
		check := wf.Execute(ctx, in, express.ExecOptions{Name: "e"})
		failing := name == "fail" || name == "fail-jsonata"
		if failing != (check.Status == express.Failed) || failing && (check.Error != "Rejected" || check.Cause != "out of range") {
			t.Fatalf("%s: %+v", name, check)
		}
		allocs[name] = testing.AllocsPerRun(200, func() { wf.Execute(ctx, in, express.ExecOptions{Name: "e"}) })
	}
	if allocs["fail"] > allocs["succeed"] {
		t.Errorf("JSONPath: a failed execution allocates %v times, a succeeded one %v", allocs["fail"], allocs["succeed"])
	}
	if allocs["fail-jsonata"] > allocs["succeed-jsonata"] {
		t.Errorf("JSONata: a failed execution allocates %v times, a succeeded one %v", allocs["fail-jsonata"], allocs["succeed-jsonata"])
	}
	t.Logf("allocations per execution: %v", allocs)

	res := run(t, `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E","CausePath":"$.why"}}}`, `{"why":"first"}`, nil)
	res2 := run(t, `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E","CausePath":"$.why"}}}`, `{"why":"second"}`, nil)
	if res.Cause != "first" || res2.Cause != "second" {
		t.Errorf("CausePath: %q, %q", res.Cause, res2.Cause)
	}
}
