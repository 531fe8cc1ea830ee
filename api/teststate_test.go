package api_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepstream/express/api"
	"github.com/stepstream/express/internal/apitest"
	"github.com/stepstream/express/mockconfig"
)

// testSDKTestState drives TestState with the Go SDK: a Task with a mocked
// result at DEBUG (every stage of the data flow), a retriable and a caught
// error, a state of a whole machine, and the errors AWS answers.
func testSDKTestState(t *testing.T) {
	_, url := serve(t, api.Options{})
	c := apitest.SDK(url, "k", "s")
	ctx := context.Background()
	task := `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload.$":"$.order"},
	  "ResultSelector":{"total.$":"$.Payload.total"},"ResultPath":"$.priced",
	  "Retry":[{"ErrorEquals":["Lambda.TooManyRequestsException"],"IntervalSeconds":2,"MaxAttempts":1}],
	  "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Failed"}],"Next":"Ship"}`
	out, err := c.TestState(ctx, &sfn.TestStateInput{Definition: aws.String(task), Input: aws.String(`{"order":{"id":7}}`),
		InspectionLevel: types.InspectionLevelDebug, Mock: &types.MockInput{Result: aws.String(`{"StatusCode":200,"Payload":{"total":42}}`)}})
	if err != nil {
		t.Fatal(err)
	}
	id := out.InspectionData
	if out.Status != types.TestExecutionStatusSucceeded || aws.ToString(out.NextState) != "Ship" ||
		aws.ToString(out.Output) != `{"order":{"id":7},"priced":{"total":42}}` || id == nil ||
		aws.ToString(id.AfterParameters) != `{"FunctionName":"f","Payload":{"id":7}}` ||
		aws.ToString(id.Result) != `{"Payload":{"total":42},"StatusCode":200}` ||
		aws.ToString(id.AfterResultSelector) != `{"total":42}` {
		t.Fatalf("mocked result: %+v %+v", out, id)
	}
	thr := &types.MockInput{ErrorOutput: &types.MockErrorOutput{Error: aws.String("Lambda.TooManyRequestsException"), Cause: aws.String("slow")}}
	out, err = c.TestState(ctx, &sfn.TestStateInput{Definition: aws.String(task), Input: aws.String(`{"order":1}`), Mock: thr, InspectionLevel: types.InspectionLevelDebug})
	if err != nil || out.Status != types.TestExecutionStatusRetriable || aws.ToInt32(out.InspectionData.ErrorDetails.RetryIndex) != 0 ||
		aws.ToInt32(out.InspectionData.ErrorDetails.RetryBackoffIntervalSeconds) != 2 {
		t.Fatalf("retriable: %v %+v", err, out)
	}
	out, err = c.TestState(ctx, &sfn.TestStateInput{Definition: aws.String(task), Input: aws.String(`{"order":1}`), Mock: thr,
		StateConfiguration: &types.TestStateConfiguration{RetrierRetryCount: aws.Int32(1)}})
	if err != nil || out.Status != types.TestExecutionStatusCaughtError || aws.ToString(out.NextState) != "Failed" ||
		aws.ToString(out.Error) != "Lambda.TooManyRequestsException" {
		t.Fatalf("caught: %v %+v", err, out)
	}
	// no mock: the Task calls the server's resources (the demo's static enrich-device)
	out, err = c.TestState(ctx, &sfn.TestStateInput{Definition: aws.String(reference(t)), StateName: aws.String("Enrich"),
		Input: aws.String(`{"deviceId":"dev-1","type":"temperature","value":41.5}`)})
	if err != nil || out.Status != types.TestExecutionStatusSucceeded || !strings.Contains(aws.ToString(out.Output), "plant-1") {
		t.Fatalf("a state of the reference workflow: %v %+v", err, out)
	}
	for _, tc := range []struct {
		in   *sfn.TestStateInput
		want string
	}{
		{&sfn.TestStateInput{Definition: aws.String(`{"Type":"Pas"}`)}, "InvalidDefinition"},
		{&sfn.TestStateInput{Definition: aws.String(`{"Type":"Pass","End":true}`), Input: aws.String(`{`)}, "InvalidExecutionInput"},
		{&sfn.TestStateInput{Definition: aws.String(reference(t))}, "ValidationException"},
		{&sfn.TestStateInput{Definition: aws.String(`{"Type":"Pass","End":true}`), InspectionLevel: "LOUD"}, "ValidationException"},
	} {
		if _, err := c.TestState(ctx, tc.in); code(err) != tc.want {
			t.Errorf("%s: %v, want %s", aws.ToString(tc.in.Definition)[:12], err, tc.want)
		}
	}
}

// testSDKMockConfigTestCase: a stateMachineArn ending in "#TestCase" runs
// with that test case's mocked responses, synchronously and
// asynchronously, as Step Functions Local does with its mock
// configuration; the file is the examples' own.
func testSDKMockConfigTestCase(t *testing.T) {
	mc, err := mockconfig.Load("../examples/MockConfigFile.json")
	if err != nil {
		t.Fatal(err)
	}
	_, url := serve(t, api.Options{MockConfig: mc})
	c := apitest.SDK(url, "k", "s")
	ctx := context.Background()
	b, err := os.ReadFile("../examples/iot-ingest/iot-ingest.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	def := string(b)
	arn := createExpress(t, c, "iot-ingest", def)
	in := `{"deviceId":"dev-42","ts":"2026-11-22T10:00:00Z","type":"temperature","value":41.5,"unit":"C"}`
	run := func(suffix string) *sfn.StartSyncExecutionOutput {
		out, err := c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(arn + suffix), Input: aws.String(in)})
		if err != nil {
			t.Fatalf("%s: %v", suffix, err)
		}
		return out
	}
	if out := run("#UnknownDevice"); out.Status != types.SyncExecutionStatusFailed || aws.ToString(out.Error) != "Device.Unknown" || aws.ToString(out.Cause) != "no device dev-42 in the registry" {
		t.Fatalf("#UnknownDevice: %s %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	if out := run("#AlertPublished"); out.Status != types.SyncExecutionStatusSucceeded || !strings.Contains(aws.ToString(out.Output), `"deviceId":"dev-42"`) {
		t.Fatalf("#AlertPublished: %s %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Output))
	}
	if out := run("#EnrichRetriesExhausted"); aws.ToString(out.Output) == aws.ToString(run("#AlertPublished").Output) {
		t.Fatalf("two test cases gave the same output: %s", aws.ToString(out.Output))
	}
	if _, err := c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(arn + "#NoSuchCase"), Input: aws.String(in)}); code(err) != "ValidationException" || !strings.Contains(err.Error(), "no test case named") {
		t.Fatalf("unknown test case: %v", err)
	}
	if _, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn + "#AlertPublished"), Input: aws.String(in)}); err != nil {
		t.Fatalf("StartExecution with a test case: %v", err)
	}
	// without a mock configuration the suffix is refused, saying why
	_, url2 := serve(t, api.Options{})
	c2 := apitest.SDK(url2, "k", "s")
	arn2 := createExpress(t, c2, "iot-ingest", def)
	if _, err := c2.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(arn2 + "#AlertPublished"), Input: aws.String(in)}); code(err) != "ValidationException" || !strings.Contains(err.Error(), "--api-mock-config") {
		t.Fatalf("no mock configuration: %v", err)
	}
}
