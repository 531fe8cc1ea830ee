package teststate

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func str(s string) *string { return &s }
func num(n int) *int       { return &n }

func TestRun(t *testing.T) {
	task := `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload.$":"$.order"},
	  "ResultSelector":{"total.$":"$.Payload.total"},"ResultPath":"$.priced",
	  "Retry":[{"ErrorEquals":["Lambda.TooManyRequestsException"],"IntervalSeconds":2,"BackoffRate":3,"MaxAttempts":2}],
	  "Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Failed"}],"Next":"Ship"}`
	for _, tc := range []struct {
		name string
		req  Request
		want string // the response as JSON, compared after decoding
	}{
		{"task mocked result", Request{Definition: task, Input: str(`{"order":{"id":1}}`), Mock: &Mock{Result: str(`{"StatusCode":200,"Payload":{"total":42}}`)}},
			`{"output":"{\"order\":{\"id\":1},\"priced\":{\"total\":42}}","nextState":"Ship","status":"SUCCEEDED"}`},
		{"task retriable", Request{Definition: task, Input: str(`{"order":{}}`), Mock: &Mock{ErrorOutput: &ErrorOutput{Error: "Lambda.TooManyRequestsException", Cause: "slow"}}, InspectionLevel: "DEBUG", StateConfiguration: &StateConfiguration{RetrierRetryCount: num(1)}},
			`{"error":"Lambda.TooManyRequestsException","cause":"slow","status":"RETRIABLE","inspectionData":{"input":"{\"order\":{}}","afterInputPath":"{\"order\":{}}","afterParameters":"{\"FunctionName\":\"f\",\"Payload\":{}}","errorDetails":{"retryIndex":0,"retryBackoffIntervalSeconds":6}}}`},
		{"task retries exhausted, caught", Request{Definition: task, Input: str(`{"order":1}`), Mock: &Mock{ErrorOutput: &ErrorOutput{Error: "Lambda.TooManyRequestsException", Cause: "slow"}}, InspectionLevel: "DEBUG", StateConfiguration: &StateConfiguration{RetrierRetryCount: num(2)}},
			`{"output":"{\"error\":{\"Cause\":\"slow\",\"Error\":\"Lambda.TooManyRequestsException\"},\"order\":1}","error":"Lambda.TooManyRequestsException","cause":"slow","nextState":"Failed","status":"CAUGHT_ERROR","inspectionData":{"input":"{\"order\":1}","afterInputPath":"{\"order\":1}","afterParameters":"{\"FunctionName\":\"f\",\"Payload\":1}","errorDetails":{"catchIndex":0}}}`},
		{"fail state", Request{Definition: `{"Type":"Fail","Error":"Bad","Cause":"why"}`},
			`{"error":"Bad","cause":"why","status":"FAILED"}`},
		{"choice", Request{Definition: `{"Type":"Choice","Choices":[{"Variable":"$.v","NumericGreaterThan":1,"Next":"Big"}],"Default":"Small"}`, Input: str(`{"v":5}`)},
			`{"output":"{\"v\":5}","nextState":"Big","status":"SUCCEEDED"}`},
		{"pass at the end, variables", Request{Definition: `{"Type":"Pass","Parameters":{"x.$":"$x"},"Assign":{"y":2},"End":true}`, Variables: str(`{"x":1}`), InspectionLevel: "DEBUG"},
			`{"output":"{\"x\":1}","status":"SUCCEEDED","inspectionData":{"input":"{}","afterInputPath":"{}","afterParameters":"{\"x\":1}","result":"{\"x\":1}","afterResultSelector":"{\"x\":1}","afterResultPath":"{\"x\":1}","variables":"{\"x\":1,\"y\":2}"}}`},
		{"task, every stage", Request{Definition: `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","InputPath":"$.order","Parameters":{"FunctionName":"f","Payload.$":"$"},"ResultSelector":{"total.$":"$.Payload.total"},"ResultPath":"$.priced","OutputPath":"$.priced","End":true}`,
			Input: str(`{"order":{"id":1},"other":true}`), Mock: &Mock{Result: str(`{"StatusCode":200,"Payload":{"total":42}}`)}, InspectionLevel: "TRACE"},
			`{"output":"{\"total\":42}","status":"SUCCEEDED","inspectionData":{"input":"{\"order\":{\"id\":1},\"other\":true}","afterInputPath":"{\"id\":1}","afterParameters":"{\"FunctionName\":\"f\",\"Payload\":{\"id\":1}}","result":"{\"Payload\":{\"total\":42},\"StatusCode\":200}","afterResultSelector":"{\"total\":42}","afterResultPath":"{\"order\":{\"id\":1},\"other\":true,\"priced\":{\"total\":42}}"}}`},
		{"jsonata stages", Request{Definition: `{"Type":"Task","QueryLanguage":"JSONata","Resource":"arn:aws:states:::lambda:invoke","Arguments":{"FunctionName":"f","Payload":"{% $states.input.n %}"},"Output":"{% $states.result.Payload * 2 %}","End":true}`,
			Input: str(`{"n":3}`), Mock: &Mock{Result: str(`{"Payload":5}`)}, InspectionLevel: "DEBUG"},
			`{"output":"10","status":"SUCCEEDED","inspectionData":{"input":"{\"n\":3}","afterArguments":"{\"FunctionName\":\"f\",\"Payload\":3}","result":"{\"Payload\":5}"}}`},
		{"state of a machine", Request{Definition: `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Result":"b","End":true}}}`, StateName: "B"},
			`{"output":"\"b\"","status":"SUCCEEDED"}`},
		{"jsonata", Request{Definition: `{"Type":"Pass","QueryLanguage":"JSONata","Output":"{% $states.input.a + 1 %}","End":true}`, Input: str(`{"a":1}`)},
			`{"output":"2","status":"SUCCEEDED"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := Run(context.Background(), &tc.req, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(resp)
			var g, w any
			json.Unmarshal(got, &g)
			if err := json.Unmarshal([]byte(tc.want), &w); err != nil {
				t.Fatal(err)
			}
			gb, _ := json.Marshal(g)
			wb, _ := json.Marshal(w)
			if string(gb) != string(wb) {
				t.Fatalf("\n got %s\nwant %s", gb, wb)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		req      Request
		typ, msg string
	}{
		{Request{Definition: `{"Type":"Pass","End":true}`, Input: str(`{`)}, "InvalidExecutionInput", "input is not valid JSON"},
		{Request{Definition: `{"Type":"Pass","End":true}`, Variables: str(`[1]`)}, "InvalidExecutionInput", "variables must be a JSON object"},
		{Request{Definition: `{"Type":"Pas","End":true}`}, "InvalidDefinition", "Pas"},
		{Request{Definition: `[]`}, "InvalidDefinition", "must be a JSON object"},
		{Request{Definition: `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`}, "ValidationException", "give stateName"},
		{Request{Definition: `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`, StateName: "B"}, "ValidationException", `no state named "B"`},
		{Request{Definition: `{"Type":"Pass","End":true}`, InspectionLevel: "LOUD"}, "ValidationException", "inspectionLevel"},
		{Request{Definition: `{"Type":"Task","Resource":"r","End":true}`, Mock: &Mock{}}, "ValidationException", "either result or errorOutput"},
		{Request{Definition: `{"Type":"Task","Resource":"r","End":true}`, Mock: &Mock{Result: str(`{`)}}, "ValidationException", "mock.result is not valid JSON"},
		{Request{Definition: `{"Type":"Pass","End":true}`, Input: str(strings.Repeat(" ", MaxPayload+1))}, "InvalidExecutionInput", "over the limit"},
	} {
		_, err := Run(context.Background(), &tc.req, Options{})
		var e *Error
		if !errors.As(err, &e) || e.Type != tc.typ || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%+v: got %v, want %s containing %q", tc.req, err, tc.typ, tc.msg)
		}
	}
}

// A Task with no mock calls the configured resources; with none it fails
// as an execution would.
func TestNoMock(t *testing.T) {
	resp, err := Run(context.Background(), &Request{Definition: `{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","End":true}`}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != "FAILED" || resp.Error != "States.TaskFailed" {
		t.Fatalf("%+v", resp)
	}
}
