package compile

import (
	"context"
	"strings"
	"testing"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// TestTemplateShapes: a template reading the objects another template
// built finds its fields by their slots (jsonv.Shape), and must find the
// same values as by their keys: on the first and later executions, for
// keys added in place after the object was built (ResultPath), for a
// missing key (the error names it), and when its input comes from a
// template of another shape or from the parser.
func TestTemplateShapes(t *testing.T) {
	def := `{"StartAt": "Route", "States": {
	  "Route": {"Type": "Choice", "Choices": [
	    {"Variable": "$.via", "StringEquals": "a", "Next": "A"},
	    {"Variable": "$.via", "StringEquals": "b", "Next": "B"}], "Default": "Read"},
	  "A": {"Type": "Pass", "Parameters": {"z.$": "$.x", "y.$": "$.y", "x.$": "$.z", "k": 1}, "Next": "Add"},
	  "B": {"Type": "Pass", "Parameters": {"x.$": "$.x", "z.$": "$.z", "y.$": "$.y"}, "Next": "Add"},
	  "Add": {"Type": "Pass", "Result": "added", "ResultPath": "$.late", "Next": "Read"},
	  "Read": {"Type": "Pass", "Parameters": {"first.$": "$.x", "second.$": "$.y", "third.$": "$.z", "late.$": "$.late", "k.$": "$.k"}, "End": true}}}`
	wf, err := Compile([]byte(def), Options{Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, in, want, cause string }{
		{"a", `{"via": "a", "x": 1, "y": 2, "z": 3}`, `{"first": 3, "second": 2, "third": 1, "late": "added", "k": 1}`, ""},
		{"a again", `{"via": "a", "x": "p", "y": "q", "z": "r"}`, `{"first": "r", "second": "q", "third": "p", "late": "added", "k": 1}`, ""},
		{"b: another shape", `{"via": "b", "x": 1, "y": 2, "z": 3}`, ``, "The JSONPath '$.k' specified for the field 'k.$' could not be found"},
		{"a after b", `{"via": "a", "x": [1], "y": {"o": 1}, "z": null}`, `{"first": null, "second": {"o": 1}, "third": [1], "late": "added", "k": 1}`, ""},
		{"parsed", `{"via": "c", "x": 1, "y": 2, "z": 3, "late": 4, "k": 5}`, `{"first": 1, "second": 2, "third": 3, "late": 4, "k": 5}`, ""},
	}
	for _, c := range cases {
		for _, parsed := range []bool{false, true} {
			in, err := jsonv.Parse([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if !parsed {
				in = jsonv.Plain(in)
			}
			res := wf.Execute(context.Background(), in, express.ExecOptions{Name: "e"})
			if c.cause != "" {
				if res.Status != express.Failed || !strings.Contains(res.Cause, c.cause) {
					t.Errorf("%s: got %s %s: %s, want the cause %q", c.name, res.Status, res.Error, res.Cause, c.cause)
				}
				continue
			}
			want, _ := jsonv.Parse([]byte(c.want))
			if res.Status != express.Succeeded || !jsonv.Equal(res.Output, want) {
				t.Errorf("%s: got %s %s %s, want %s", c.name, res.Status, jsonv.Marshal(res.Output), res.Cause, c.want)
			}
		}
	}
}

// TestResultPathInPlaceShapes: a ResultPath added in place to an object of
// a known shape (jsonv.Object.PutHashFrom) replaces a key added before it
// and a key of the shape, and never adds a key twice.
func TestResultPathInPlaceShapes(t *testing.T) {
	def := `{"StartAt": "A", "States": {
	  "A": {"Type": "Pass", "Parameters": {"a.$": "$.x", "b.$": "$.y"}, "Next": "P1"},
	  "P1": {"Type": "Pass", "Result": "one", "ResultPath": "$.late", "Next": "P2"},
	  "P2": {"Type": "Pass", "Result": "two", "ResultPath": "$.late", "Next": "P3"},
	  "P3": {"Type": "Pass", "Result": "three", "ResultPath": "$.a", "Next": "P4"},
	  "P4": {"Type": "Pass", "Result": "four", "ResultPath": "$.b", "End": true}}}`
	wf, err := Compile([]byte(def), Options{Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	for run := 0; run < 3; run++ {
		in, _ := jsonv.Parse([]byte(`{"x": 1, "y": 2}`))
		res := wf.Execute(context.Background(), in, express.ExecOptions{Name: "e", RawOutput: true})
		if got, want := string(jsonv.AppendJSON(nil, res.Output)), `{"a":"three","b":"four","late":"two"}`; res.Status != express.Succeeded || got != want {
			t.Fatalf("run %d: got %s %s %s, want %s", run, res.Status, got, res.Cause, want)
		}
	}
}
