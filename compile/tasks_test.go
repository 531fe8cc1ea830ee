package compile

import (
	"reflect"
	"testing"
)

func TestTasks(t *testing.T) {
	doc, err := Parse([]byte(`{"StartAt":"A","States":{
	  "A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload.$":"$"},"Next":"P"},
	  "P":{"Type":"Parallel","Branches":[{"StartAt":"B","States":{"B":{"Type":"Task","Resource":"r/b","End":true}}}],"Next":"M"},
	  "M":{"Type":"Map","ItemProcessor":{"StartAt":"C","States":{"C":{"Type":"Task","Resource":"r/c","Arguments":{"x":1},"End":true}}},"Next":"W"},
	  "W":{"Type":"Pass","End":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	got := Tasks(doc)
	want := []TaskRef{
		{State: "A", Pointer: "/States/A", Resource: "arn:aws:states:::lambda:invoke", Params: map[string]any{"FunctionName": "f", "Payload.$": "$"}, ParamsField: "Parameters"},
		{State: "C", Pointer: "/States/M/ItemProcessor/States/C", Resource: "r/c", Params: map[string]any{"x": int64(1)}, ParamsField: "Arguments"},
		{State: "B", Pointer: "/States/P/Branches/0/States/B", Resource: "r/b"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
	if Tasks("not a definition") != nil {
		t.Fatal("a non-object has no tasks")
	}
}
