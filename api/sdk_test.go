package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/stepstream/express/api"
	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/daemon"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/apitest"
	"github.com/stepstream/express/internal/jsonv"
	"github.com/stepstream/express/resources"
)

const role = "arn:aws:iam::123456789012:role/test"

// demoInvoker resolves the reference workflow's Enrich Lambda as the demo
// does: a fixed result.
func demoInvoker(t testing.TB) *resources.Resources {
	t.Helper()
	res, err := daemon.DemoTargets()
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// serve starts a Server on 127.0.0.1 and returns its URL: with the
// net/http front (ServeHTTP) when the test runs under TestOverHTTP's
// (or TestProtocol's) "net-http" subtest, else with the front `express serve` uses
// (NewHTTPServer).
func serve(t testing.TB, o api.Options) (*api.Server, string) {
	t.Helper()
	if o.Invoker == nil {
		res := demoInvoker(t)
		o.Invoker, o.CheckResource = res, res.CheckResource
	}
	s, err := api.New(o)
	if err != nil {
		t.Fatal(err)
	}
	front := apitest.FrontFast
	if slices.Contains(strings.Split(t.Name(), "/"), apitest.FrontStd) {
		front = apitest.FrontStd
	}
	addr, stop := apitest.Serve(t, s, front)
	t.Cleanup(func() {
		stop()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s, "http://" + addr
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err == nil {
		return "<nil>"
	}
	return "not an API error: " + err.Error()
}

func reference(t testing.TB) string {
	t.Helper()
	return string(daemon.DemoDefinition)
}

const reading = `{"deviceId":"dev-1","ts":"2026-12-05T10:00:00Z","type":"temperature","value":41.5,"unit":"C","battery":88,"tags":["roof"]}`

func testSDKStateMachines(t *testing.T) {
	_, url := serve(t, api.Options{})
	c := apitest.SDK(url, "AKID", "SECRET")
	ctx := context.Background()

	// STANDARD (the default type) is refused
	_, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("std"), Definition: aws.String(reference(t)), RoleArn: aws.String(role)})
	var ve *types.ValidationException
	if !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), "EXPRESS") {
		t.Fatalf("STANDARD: got %v, want a ValidationException saying only EXPRESS runs", err)
	}

	level := types.LogLevelAll
	out, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("iot"), Definition: aws.String(reference(t)),
		RoleArn: aws.String(role), Type: types.StateMachineTypeExpress,
		LoggingConfiguration: &types.LoggingConfiguration{Level: level, IncludeExecutionData: true},
		TracingConfiguration: &types.TracingConfiguration{Enabled: true},
		Tags:                 []types.Tag{{Key: aws.String("team"), Value: aws.String("iot")}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:states:us-east-1:123456789012:stateMachine:iot"
	if aws.ToString(out.StateMachineArn) != arn || out.CreationDate == nil || time.Since(*out.CreationDate) > time.Minute {
		t.Fatalf("create: %q %v", aws.ToString(out.StateMachineArn), out.CreationDate)
	}
	// the same again is the same state machine; another definition is a conflict
	if _, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("iot"), Definition: aws.String(reference(t)), RoleArn: aws.String(role), Type: types.StateMachineTypeExpress}); err != nil {
		t.Fatalf("identical create: %v", err)
	}
	_, err = c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("iot"), Definition: aws.String(`{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}`), RoleArn: aws.String(role), Type: types.StateMachineTypeExpress})
	var exists *types.StateMachineAlreadyExists
	if !errors.As(err, &exists) {
		t.Fatalf("conflicting create: %v", err)
	}

	d, err := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d.Name) != "iot" || d.Type != types.StateMachineTypeExpress || d.Status != types.StateMachineStatusActive ||
		aws.ToString(d.Definition) != reference(t) || aws.ToString(d.RoleArn) != role || d.RevisionId == nil ||
		d.LoggingConfiguration == nil || d.LoggingConfiguration.Level != types.LogLevelAll || !d.LoggingConfiguration.IncludeExecutionData ||
		d.TracingConfiguration == nil || !d.TracingConfiguration.Enabled || !d.CreationDate.Equal(*out.CreationDate) {
		t.Fatalf("describe: %+v", d)
	}

	// update: a new revision and update date
	u, err := c.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn), Definition: aws.String(`{"StartAt":"A","States":{"A":{"Type":"Pass","Result":1,"End":true}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(u.RevisionId) == "" || aws.ToString(u.RevisionId) == aws.ToString(d.RevisionId) || u.UpdateDate == nil {
		t.Fatalf("update: %+v", u)
	}
	d2, _ := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if aws.ToString(d2.RevisionId) != aws.ToString(u.RevisionId) || !strings.Contains(aws.ToString(d2.Definition), `"Result":1`) {
		t.Fatalf("describe after update: %+v", d2)
	}
	_, err = c.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn), Definition: aws.String(`{"StartAt":"Nope","States":{"A":{"Type":"Succeed"}}}`)})
	var invalid *types.InvalidDefinition
	if !errors.As(err, &invalid) || !strings.Contains(invalid.ErrorMessage(), "MISSING_TRANSITION_TARGET") || !strings.Contains(invalid.ErrorMessage(), "/StartAt") {
		t.Fatalf("bad update: %v", err)
	}
	var missing *types.MissingRequiredParameter
	if _, err = c.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn)}); !errors.As(err, &missing) {
		t.Fatalf("empty update: %v", err)
	}

	// tags
	if _, err := c.TagResource(ctx, &sfn.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}, {Key: aws.String("team"), Value: aws.String("edge")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &sfn.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &sfn.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" || aws.ToString(tags.Tags[0].Value) != "edge" {
		t.Fatalf("tags: %+v", tags.Tags)
	}
	var notFound *types.ResourceNotFound
	if _, err := c.ListTagsForResource(ctx, &sfn.ListTagsForResourceInput{ResourceArn: aws.String(arn + "x")}); !errors.As(err, &notFound) {
		t.Fatalf("tags of nothing: %v", err)
	}

	// paging over 7 state machines, 3 a page
	for i := range 6 {
		if _, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String(fmt.Sprintf("sm-%d", i)), Definition: aws.String(`{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}`), RoleArn: aws.String(role), Type: types.StateMachineTypeExpress}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	pages := 0
	p := sfn.NewListStateMachinesPaginator(c, &sfn.ListStateMachinesInput{MaxResults: 3})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, m := range page.StateMachines {
			names = append(names, aws.ToString(m.Name))
			if m.Type != types.StateMachineTypeExpress || m.CreationDate == nil || !strings.HasSuffix(aws.ToString(m.StateMachineArn), ":"+aws.ToString(m.Name)) {
				t.Fatalf("list item: %+v", m)
			}
		}
	}
	if got := strings.Join(names, ","); got != "iot,sm-0,sm-1,sm-2,sm-3,sm-4,sm-5" || pages != 3 {
		t.Fatalf("listed %s in %d pages", got, pages)
	}
	var badToken *types.InvalidToken
	if _, err := c.ListStateMachines(ctx, &sfn.ListStateMachinesInput{NextToken: aws.String("!!!")}); !errors.As(err, &badToken) {
		t.Fatalf("bad token: %v", err)
	}

	// delete; deleting again succeeds; describing is StateMachineDoesNotExist
	for range 2 {
		if _, err := c.DeleteStateMachine(ctx, &sfn.DeleteStateMachineInput{StateMachineArn: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
	}
	var dne *types.StateMachineDoesNotExist
	if _, err := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)}); !errors.As(err, &dne) {
		t.Fatalf("describe deleted: %v", err)
	}
}

func testSDKErrors(t *testing.T) {
	_, url := serve(t, api.Options{})
	c := apitest.SDK(url, "AKID", "SECRET")
	ctx := context.Background()
	def := aws.String(`{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}`)
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"invalid name", func() error {
			_, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("a b"), Definition: def, RoleArn: aws.String(role), Type: types.StateMachineTypeExpress})
			return err
		}, "InvalidName"},
		{"name too long", func() error {
			_, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String(strings.Repeat("n", 81)), Definition: def, RoleArn: aws.String(role), Type: types.StateMachineTypeExpress})
			return err
		}, "ValidationException"},
		{"invalid definition", func() error {
			_, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("x"), Definition: aws.String("{"), RoleArn: aws.String(role), Type: types.StateMachineTypeExpress})
			return err
		}, "InvalidDefinition"},
		{"invalid role", func() error {
			_, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("x"), Definition: def, RoleArn: aws.String("role"), Type: types.StateMachineTypeExpress})
			return err
		}, "InvalidArn"},
		{"invalid arn", func() error {
			_, err := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String("nope")})
			return err
		}, "InvalidArn"},
		{"other account", func() error {
			_, err := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String("arn:aws:states:us-east-1:999999999999:stateMachine:x")})
			return err
		}, "StateMachineDoesNotExist"},
		{"start on nothing", func() error {
			_, err := c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:none")})
			return err
		}, "StateMachineDoesNotExist"},
		{"describe express execution", func() error {
			_, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String("arn:aws:states:us-east-1:123456789012:express:sm:e:1")})
			return err
		}, "InvalidArn"},
		{"history of express execution", func() error {
			_, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String("arn:aws:states:us-east-1:123456789012:express:sm:e:1")})
			return err
		}, "InvalidArn"},
		{"stop express execution", func() error {
			_, err := c.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String("arn:aws:states:us-east-1:123456789012:express:sm:e:1")})
			return err
		}, "InvalidArn"},
		{"describe standard execution", func() error {
			_, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String("arn:aws:states:us-east-1:123456789012:execution:sm:e")})
			return err
		}, "ExecutionDoesNotExist"},
		{"operation not served", func() error {
			_, err := c.ListActivities(ctx, &sfn.ListActivitiesInput{})
			return err
		}, "UnknownOperationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := code(tc.call()); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func testSDKValidate(t *testing.T) {
	_, url := serve(t, api.Options{})
	c := apitest.SDK(url, "AKID", "SECRET")
	ctx := context.Background()
	ok, err := c.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{Definition: aws.String(reference(t))})
	if err != nil {
		t.Fatal(err)
	}
	if ok.Result != types.ValidateStateMachineDefinitionResultCodeOk || len(ok.Diagnostics) != 0 {
		t.Fatalf("reference: %+v", ok)
	}
	bad, err := c.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{
		Definition: aws.String(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Alrt"},"Alert":{"Type":"Wait","End":true}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if bad.Result != types.ValidateStateMachineDefinitionResultCodeFail || len(bad.Diagnostics) == 0 {
		t.Fatalf("bad: %+v", bad)
	}
	found := false
	for _, d := range bad.Diagnostics {
		if d.Severity != types.ValidateStateMachineDefinitionSeverityError || aws.ToString(d.Code) == "" || aws.ToString(d.Message) == "" {
			t.Fatalf("diagnostic: %+v", d)
		}
		if aws.ToString(d.Code) == "MISSING_TRANSITION_TARGET" && aws.ToString(d.Location) == "/States/A/Next" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no MISSING_TRANSITION_TARGET at /States/A/Next in %s", mustJSON(bad.Diagnostics))
	}
	notJSON, _ := c.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{Definition: aws.String(`{"StartAt":`)})
	if notJSON == nil || notJSON.Result != types.ValidateStateMachineDefinitionResultCodeFail || aws.ToString(notJSON.Diagnostics[0].Code) != "INVALID_JSON_DESCRIPTION" {
		t.Fatalf("not JSON: %s", mustJSON(notJSON))
	}
	// a loop with no way out is a warning, returned when asked for
	loop := `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","IsPresent":true,"Next":"B"}],"Default":"Done"},` +
		`"B":{"Type":"Pass","Next":"C"},"C":{"Type":"Pass","Next":"B"},"Done":{"Type":"Succeed"}}}`
	w, err := c.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{Definition: aws.String(loop), Severity: types.ValidateStateMachineDefinitionSeverityWarning})
	if err != nil {
		t.Fatal(err)
	}
	if w.Result != types.ValidateStateMachineDefinitionResultCodeOk || len(w.Diagnostics) != 1 || w.Diagnostics[0].Severity != types.ValidateStateMachineDefinitionSeverityWarning ||
		aws.ToString(w.Diagnostics[0].Location) != "/States/B" {
		t.Fatalf("loop with severity WARNING: %s", mustJSON(w))
	}
	e, _ := c.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{Definition: aws.String(loop)})
	if e == nil || e.Result != types.ValidateStateMachineDefinitionResultCodeOk || len(e.Diagnostics) != 0 {
		t.Fatalf("loop with severity ERROR (the default): %s", mustJSON(e))
	}
	if code(func() error {
		_, err := c.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{Definition: aws.String(loop), MaxResults: 101})
		return err
	}()) != "ValidationException" {
		t.Fatal("maxResults 101 accepted")
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func createExpress(t testing.TB, c *sfn.Client, name, def string) string {
	t.Helper()
	out, err := c.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{Name: aws.String(name), Definition: aws.String(def), RoleArn: aws.String(role), Type: types.StateMachineTypeExpress})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.StateMachineArn)
}

func testSDKStartSyncReference(t *testing.T) {
	_, url := serve(t, api.Options{})
	c := apitest.SDK(url, "AKID", "SECRET")
	ctx := context.Background()
	arn := createExpress(t, c, "iot", reference(t))
	in := []byte(reading)
	// what the engine itself answers, with the same resources
	wf, err := compile.Compile(daemon.DemoDefinition, compile.Options{Name: "iot", Invoker: demoInvoker(t)})
	if err != nil {
		t.Fatal(err)
	}
	input, _ := jsonv.Parse(in)
	res := wf.Execute(ctx, input, express.ExecOptions{})
	want := []byte(jsonv.Marshal(res.Output))
	out, err := c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String("run-1"), Input: aws.String(string(in))})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != types.SyncExecutionStatusSucceeded || aws.ToString(out.Name) != "run-1" || aws.ToString(out.StateMachineArn) != arn ||
		!strings.HasPrefix(aws.ToString(out.ExecutionArn), "arn:aws:states:us-east-1:123456789012:express:iot:run-1:") ||
		out.StartDate == nil || out.StopDate == nil || out.StopDate.Before(*out.StartDate) ||
		out.InputDetails == nil || !out.InputDetails.Included || out.OutputDetails == nil || !out.OutputDetails.Included ||
		aws.ToString(out.Input) != string(in) || out.BillingDetails == nil ||
		out.BillingDetails.BilledDurationInMilliseconds != 100 || out.BillingDetails.BilledMemoryUsedInMB != 64 {
		t.Fatalf("start-sync: %s", mustJSON(out))
	}
	{
		var got, exp any
		if err := json.Unmarshal([]byte(aws.ToString(out.Output)), &got); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal(want, &exp)
		if mustJSON(got) != mustJSON(exp) {
			t.Fatalf("output %s, want %s", mustJSON(got), mustJSON(exp))
		}
	}
	// a failing reading: FAILED with error and cause, still HTTP 200
	fail, err := c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String(`{"deviceId":"d","ts":"t","type":"temperature","value":500,"unit":"C","battery":1,"tags":[]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if fail.Status != types.SyncExecutionStatusFailed || aws.ToString(fail.Error) == "" || fail.Output != nil || len(aws.ToString(fail.Name)) != 36 {
		t.Fatalf("failing reading: %s", mustJSON(fail))
	}
	// METADATA_ONLY leaves out input and output
	meta, err := c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String(string(in)), IncludedData: types.IncludedDataMetadataOnly})
	if err != nil {
		t.Fatal(err)
	}
	if meta.Input != nil || meta.Output != nil || meta.InputDetails.Included {
		t.Fatalf("METADATA_ONLY: %s", mustJSON(meta))
	}
	for _, tc := range []struct{ name, input, want string }{
		{"not JSON", `{"a":`, "InvalidExecutionInput"},
		{"too large", `"` + strings.Repeat("x", 256*1024) + `"`, "InvalidExecutionInput"},
	} {
		_, err := c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String(tc.input)})
		if got := code(err); got != tc.want && !(tc.name == "too large" && got == "ValidationException") {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
	if got := code(func() error {
		_, err := c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String("a/b")})
		return err
	}()); got != "InvalidName" {
		t.Errorf("bad name: %s", got)
	}
}
