package daemon

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepstream/express/daemon/config"
	"github.com/stepstream/express/internal/apitest"
	"github.com/stepstream/express/internal/testutil"
	"github.com/stepstream/express/kafka"
)

// sfnClient is the tests' Go SDK client (apitest.SDK: no retries, and the
// request-body workaround for net/http; see internal/apitest).
func sfnClient(addr string) *sfn.Client { return apitest.SDK("http://"+addr, "k", "s") }

const apiReading = `{"deviceId":"dev-1","ts":"2026-12-05T10:00:00Z","type":"temperature","value":41.5,"unit":"C","battery":88,"tags":["roof"]}`

// TestAPIWithWorkflow: the configured workflow is a state machine of its
// name: StartSyncExecution runs it in process, StartExecution produces its
// input to the workflow's topic, where the consumer runs it.
func TestAPIWithWorkflow(t *testing.T) {
	f := demoConfig()
	f.Workflows[0].IdempotencyKey = "key"
	f.API = &config.API{Addr: "127.0.0.1:0"}
	var out testutil.SyncBuffer
	d := startForTest(t, f, Options{Out: &out, EmbeddedPartitions: 1})
	if d.APIAddr == "" || !strings.Contains(out.String(), "Step Functions API on http://"+d.APIAddr) {
		t.Fatalf("API address %q; output:\n%s", d.APIAddr, out.String())
	}
	c := sfnClient(d.APIAddr)
	ctx := context.Background()
	arn := "arn:aws:states:us-east-1:123456789012:stateMachine:iot"
	res, err := c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String(apiReading)})
	if err != nil || res.Status != types.SyncExecutionStatusSucceeded {
		t.Fatalf("sync: %v %+v", err, res)
	}
	list, err := c.ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
	if err != nil || len(list.StateMachines) != 1 || aws.ToString(list.StateMachines[0].Name) != "iot" {
		t.Fatalf("list: %v %+v", err, list)
	}
	if _, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String("reading-1"), Input: aws.String(apiReading)}); err != nil {
		t.Fatal(err)
	}
	// the one consumed from Kafka (the processor counts its executions;
	// the API its sync ones)
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, m := get(t, "http://"+d.MetricsAddr+"/metrics")
		if metricValue(m, `express_executions_total{status="SUCCEEDED",workflow="iot"}`) == 1 &&
			metricValue(m, `express_records_consumed_total{workflow="iot"}`) == 1 &&
			metricValue(m, `express_api_requests_total{operation="StartExecution",outcome="ok"}`) == 1 &&
			strings.Contains(m, `express_api_sync_execution_duration_seconds_count{state_machine="iot",status="SUCCEEDED"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("output:\n%s\nmetrics:\n%s", out.String(), m)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAPIAlone: an api address and no workflow serve the API without Kafka.
func TestAPIAlone(t *testing.T) {
	f := &config.File{API: &config.API{Addr: "127.0.0.1:0", Resources: map[string]config.Targets{"arn:aws:lambda:us-east-1:123456789012:function:f": {`static:{"x":1}`}}}}
	var out, logs testutil.SyncBuffer
	d := startForTest(t, f, Options{Out: &out, LogLevel: kafka.LogAll, LogOut: &logs})
	if strings.Contains(out.String(), "Kafka") || len(d.Brokers) != 0 {
		t.Fatalf("a broker for the API alone:\n%s", out.String())
	}
	c := sfnClient(d.APIAddr)
	ctx := context.Background()
	cr, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("t"), Type: types.StateMachineTypeExpress, RoleArn: aws.String("arn:aws:iam::123456789012:role/r"),
		Definition: aws.String(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: cr.StateMachineArn})
	if err != nil || aws.ToString(res.Output) != `{"x":1}` {
		t.Fatalf("sync: %v %+v", err, res)
	}
	// executions are logged as the daemon logs its own
	fail, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("fails"), Type: types.StateMachineTypeExpress, RoleArn: aws.String("arn:aws:iam::123456789012:role/r"),
		Definition: aws.String(`{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Oops","Cause":"secret data"}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: fail.StateMachineArn, Name: aws.String("bad-1")}); err != nil || res.Status != types.SyncExecutionStatusFailed {
		t.Fatalf("failing: %v %+v", err, res)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `"type":"ExecutionFailed","workflow":"fails","execution":"bad-1"`) ||
		!strings.Contains(logs.String(), `"type":"ExecutionSucceeded","workflow":"t"`) {
		if time.Now().After(deadline) {
			t.Fatalf("execution logs:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Contains(logs.String(), "secret data") || !strings.Contains(logs.String(), `"cause_length":11`) {
		t.Errorf("a cause logged without --log-execution-data:\n%s", logs.String())
	}
	// a Task resource with no target is refused when the state machine is created
	_, err = c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("u"), Type: types.StateMachineTypeExpress, RoleArn: aws.String("arn:aws:iam::123456789012:role/r"),
		Definition: aws.String(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:nope","End":true}}}`)})
	var invalid *types.InvalidDefinition
	if err == nil || !strings.Contains(err.Error(), "/States/T/Resource") || !asInvalid(err, &invalid) {
		t.Fatalf("unmapped resource: %v", err)
	}
}

func asInvalid(err error, target **types.InvalidDefinition) bool {
	for e := err; e != nil; {
		if x, ok := e.(*types.InvalidDefinition); ok {
			*target = x
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

// TestAPIConfigProblems: the api section is checked before anything starts.
func TestAPIConfigProblems(t *testing.T) {
	for _, tc := range []struct {
		api  config.API
		want string
	}{
		{config.API{Addr: "0.0.0.0:8083"}, "/api/addr: 0.0.0.0:8083 is not a loopback address and no credentials are set"},
		{config.API{Addr: "8083"}, "/api/addr"},
		{config.API{Addr: "127.0.0.1:1", Credentials: "/nonexistent"}, "/api/credentials"},
		{config.API{Addr: "127.0.0.1:1", Account: "12"}, "/api/account"},
		{config.API{Addr: "127.0.0.1:1", Resources: map[string]config.Targets{"r": {"ftp://x"}}}, "/api/resources/r"},
	} {
		f := &config.File{API: &tc.api}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := Start(ctx, f, Options{})
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %s", tc.api, err, tc.want)
		}
	}
	// insecure allows it
	a := config.API{Addr: "0.0.0.0:0", Insecure: true}
	if _, err := config.APIRoutes(&config.File{API: &a}); err != nil {
		t.Fatal(err)
	}
}

// TestAPIFallback: a busy address with APIFallback takes a free port.
func TestAPIFallback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out testutil.SyncBuffer
	d := startForTest(t, &config.File{API: &config.API{Addr: ln.Addr().String()}}, Options{Out: &out, APIFallback: true})
	if d.APIAddr == ln.Addr().String() || !strings.Contains(out.String(), "is busy") {
		t.Fatalf("API on %s; output:\n%s", d.APIAddr, out.String())
	}
}

// TestConsoleListsAPIStateMachines: the console (on the metrics address)
// lists the state machines created through the API and draws their graph.
func TestConsoleListsAPIStateMachines(t *testing.T) {
	f := &config.File{MetricsAddr: "127.0.0.1:0", API: &config.API{Addr: "127.0.0.1:0"}}
	d := startForTest(t, f, Options{Out: io.Discard})
	if d.MetricsAddr == "" {
		t.Fatal("no metrics address")
	}
	c := sfnClient(d.APIAddr)
	if _, err := c.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{Name: aws.String("made-by-api"), Type: types.StateMachineTypeExpress,
		RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), Definition: aws.String(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Succeed"}}}`)}); err != nil {
		t.Fatal(err)
	}
	get := func(path string) string {
		resp, err := http.Get("http://" + d.MetricsAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s: %s", path, resp.Status, b)
		}
		return string(b)
	}
	if list := get("/ui/api/workflows"); !strings.Contains(list, `"made-by-api"`) || !strings.Contains(list, `"api"`) || !strings.Contains(list, "stateMachine:made-by-api") {
		t.Fatalf("console list: %s", list)
	}
	if g := get("/ui/api/workflows/made-by-api/graph"); !strings.Contains(g, `"A"`) || !strings.Contains(g, `"B"`) {
		t.Fatalf("console graph: %s", g)
	}
	// its failed executions are kept with their path and history, as a
	// workflow's: the first execution of a second is sampled
	fails, err := c.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{Name: aws.String("fails-by-api"), Type: types.StateMachineTypeExpress,
		RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"F"},"F":{"Type":"Fail","Error":"Api.Boom","Cause":"why"}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := c.StartSyncExecution(context.Background(), &sfn.StartSyncExecutionInput{StateMachineArn: fails.StateMachineArn, Name: aws.String("boom-1")}); err != nil || res.Status != types.SyncExecutionStatusFailed {
		t.Fatalf("failing execution: %v %+v", err, res)
	}
	st := get("/ui/api/workflows/fails-by-api/stats")
	for _, want := range []string{`"execution":"boom-1"`, `"error":"Api.Boom"`, `"path":["P","F"]`, `ExecutionFailed`} {
		if !strings.Contains(st, want) {
			t.Fatalf("console stats lack %s:\n%s", want, st)
		}
	}
	if list := get("/ui/api/workflows"); !strings.Contains(list, `{"name":"fails-by-api","source":"api","states":2`) {
		t.Fatalf("console list: %s", list)
	}
}
