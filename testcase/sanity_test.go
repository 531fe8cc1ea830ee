package testcase

import (
	"context"
	"testing"
)

// TestRunnerDetectsDifferences guards the runner itself: a case whose
// expectation is wrong must fail, with a diff naming the field.
func TestRunnerDetectsDifferences(t *testing.T) {
	cases := []struct{ json, want string }{
		{`{"definition":{"StartAt":"A","States":{"A":{"Type":"Pass","Result":{"x":1},"End":true}}},"expect":{"status":"SUCCEEDED","output":{"x":2}}}`,
			"output differs at $.x: got 1, want 2"},
		{`{"definition":{"StartAt":"A","States":{"A":{"Type":"Fail","Error":"E","Cause":"c"}}},"expect":{"status":"FAILED","error":"F"}}`,
			`error "E", want "F"`},
		{`{"definition":{"StartAt":"A","States":{"A":{"Type":"Fail","Error":"E","Cause":"c"}}},"expect":{"status":"SUCCEEDED"}}`,
			"status FAILED (E: c), want SUCCEEDED"},
		{`{"definition":{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}},"expect":{"status":"INVALID"}}`,
			"expected the definition to be rejected, but it compiled"},
		{`{"definition":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true}}},"expect":{"status":"SUCCEEDED"}}`,
			`status FAILED (States.TaskFailed: Task state "T" has no mock: add one under "mocks"), want SUCCEEDED`},
		{`{"definition":{"StartAt":"A","States":{"A":{"Type":"Fail","Error":"E","Cause":"the cause"}}},"expect":{"status":"FAILED","causeContains":"other"}}`,
			`cause "the cause" does not contain "other"`},
	}
	for _, tc := range cases {
		c, err := Parse([]byte(tc.json))
		if err != nil {
			t.Fatal(err)
		}
		o := c.Run(context.Background())
		if o.Passed {
			t.Errorf("case passed, want failure %q", tc.want)
			continue
		}
		if o.Problem != tc.want {
			t.Errorf("problem %q, want %q", o.Problem, tc.want)
		}
	}
}

func TestMocksRepeatLastAndCountPerState(t *testing.T) {
	c, err := Parse([]byte(`{"definition":{"StartAt":"T","States":{
		"T":{"Type":"Task","Resource":"r","Retry":[{"ErrorEquals":["B"],"MaxAttempts":5,"IntervalSeconds":60}],"ResultPath":"$.t","Next":"U"},
		"U":{"Type":"Task","Resource":"r","ResultPath":"$.u","End":true}}},
		"mocks":{"T":[{"Throw":{"Error":"B","Cause":"1"}},{"Throw":{"Error":"B"}},{"Return":"ok"}],"U":[{"Return":1}]},
		"expect":{"status":"SUCCEEDED","output":{"t":"ok","u":1}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Run(context.Background()); !o.Passed {
		t.Fatal(o.Problem)
	}
}
