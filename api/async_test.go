package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepstream/express/api"
	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/apitest"
)

// gateInvoker blocks every Task until released and records the executions
// that ran.
type gateInvoker struct {
	started chan string
	release chan struct{}
	mu      sync.Mutex
	ran     map[string]int
}

func (g *gateInvoker) Invoke(ctx context.Context, req *express.TaskRequest) (any, error) {
	g.started <- req.Execution
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	g.mu.Lock()
	g.ran[req.Execution]++
	g.mu.Unlock()
	return map[string]any{"ok": true}, nil
}

const taskDef = `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true}}}`

func testSDKStartExecution(t *testing.T) {
	g := &gateInvoker{started: make(chan string, 16), release: make(chan struct{}), ran: map[string]int{}}
	_, url := serve(t, api.Options{Invoker: g, AsyncWorkers: 1, AsyncQueue: 1})
	c := apitest.SDK(url, "AKID", "SECRET")
	ctx := context.Background()
	arn := createExpress(t, c, "gated", taskDef)

	start := func(name, input string) (*sfn.StartExecutionOutput, error) {
		return c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String(name), Input: aws.String(input)})
	}
	first, err := start("a", `{"n":1}`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aws.ToString(first.ExecutionArn), "arn:aws:states:us-east-1:123456789012:express:gated:a:") || first.StartDate == nil {
		t.Fatalf("start: %s", mustJSON(first))
	}
	if got := <-g.started; got != "a" { // the one worker holds "a"
		t.Fatalf("started %q", got)
	}
	// the same name and input: the same execution, no second run
	again, err := start("a", `{"n":1}`)
	if err != nil || aws.ToString(again.ExecutionArn) != aws.ToString(first.ExecutionArn) || !again.StartDate.Equal(*first.StartDate) {
		t.Fatalf("same name again: %v %s", err, mustJSON(again))
	}
	// the same name with another input
	var exists *types.ExecutionAlreadyExists
	if _, err := start("a", `{"n":2}`); !errors.As(err, &exists) {
		t.Fatalf("same name, other input: %v", err)
	}
	if _, err := start("b", `{}`); err != nil { // queued
		t.Fatal(err)
	}
	if _, err := start("c", `{}`); code(err) != "ThrottlingException" { // queue full
		t.Fatalf("full queue: %v", err)
	}
	if _, err := start("d", `not json`); code(err) != "InvalidExecutionInput" {
		t.Fatalf("bad input: %v", err)
	}
	close(g.release)
	if got := <-g.started; got != "b" {
		t.Fatalf("then started %q", got)
	}
	// "a" and "b" ran once each; "c" never
	deadline := time.Now().Add(10 * time.Second)
	for {
		g.mu.Lock()
		ran := len(g.ran) == 2 && g.ran["a"] == 1 && g.ran["b"] == 1
		g.mu.Unlock()
		if ran {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ran: %v", g.ran)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// starter records what StartExecution hands over.
type starter struct {
	mu   sync.Mutex
	got  []string
	fail error
}

func (s *starter) Start(_ context.Context, name string, input []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.got = append(s.got, name+" "+string(input))
	return nil
}

func testBindStarter(t *testing.T) {
	srv, url := serve(t, api.Options{})
	wf, err := compile.Compile([]byte(`{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"ok":1},"End":true}}}`), compile.Options{Name: "configured"})
	if err != nil {
		t.Fatal(err)
	}
	st := &starter{}
	if err := srv.Bind("configured", "{...}", wf, st); err != nil {
		t.Fatal(err)
	}
	c := apitest.SDK(url, "AKID", "SECRET")
	ctx := context.Background()
	arn := "arn:aws:states:us-east-1:123456789012:stateMachine:configured"
	out, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String("k1"), Input: aws.String(`{"x":1}`)})
	if err != nil || !strings.Contains(aws.ToString(out.ExecutionArn), ":express:configured:k1:") {
		t.Fatalf("start: %v %s", err, mustJSON(out))
	}
	if _, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	if len(st.got) != 2 || st.got[0] != `k1 {"x":1}` || !strings.HasSuffix(st.got[1], " {}") {
		t.Fatalf("handed over: %q", st.got)
	}
	// sync executions of a bound state machine run in process
	sync, err := c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(arn)})
	if err != nil || aws.ToString(sync.Output) != `{"ok":1}` {
		t.Fatalf("sync: %v %s", err, mustJSON(sync))
	}
	// a configured state machine is changed in the configuration only
	if _, err := c.DeleteStateMachine(ctx, &sfn.DeleteStateMachineInput{StateMachineArn: aws.String(arn)}); code(err) != "ValidationException" {
		t.Fatalf("delete configured: %v", err)
	}
	st.fail = errors.New("broker down")
	if _, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String("k2")}); code(err) != "InternalFailure" {
		t.Fatalf("starter failing: %v", err)
	}
}

func testSignature(t *testing.T) {
	_, url := serve(t, api.Options{Credentials: api.Credentials{"AKIDGOOD": "right-secret"}})
	ctx := context.Background()
	good := apitest.SDK(url, "AKIDGOOD", "right-secret")
	if _, err := good.ListStateMachines(ctx, &sfn.ListStateMachinesInput{}); err != nil {
		t.Fatalf("good signature refused: %v", err)
	}
	arn := createExpress(t, good, "signed", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`)
	if out, err := good.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String(`{"a":"é"}`)}); err != nil || out.Status != types.SyncExecutionStatusSucceeded {
		t.Fatalf("signed sync execution: %v", err)
	}
	if _, err := apitest.SDK(url, "AKIDGOOD", "wrong-secret").ListStateMachines(ctx, &sfn.ListStateMachinesInput{}); code(err) != "InvalidSignatureException" {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := apitest.SDK(url, "AKIDOTHER", "right-secret").ListStateMachines(ctx, &sfn.ListStateMachinesInput{}); code(err) != "UnrecognizedClientException" {
		t.Fatalf("unknown key: %v", err)
	}
	req, _ := http.NewRequest("POST", url+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "AWSStepFunctions.ListStateMachines")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Errortype") != "MissingAuthenticationTokenException" {
		t.Fatalf("unsigned: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
	}
	// a signature of another time is refused
	o := api.Options{Credentials: api.Credentials{"AKIDGOOD": "right-secret"}}
	api.SetNow(&o, func() time.Time { return time.Now().Add(time.Hour) })
	_, late := serve(t, o)
	if _, err := apitest.SDK(late, "AKIDGOOD", "right-secret").ListStateMachines(ctx, &sfn.ListStateMachinesInput{}); code(err) != "InvalidSignatureException" {
		t.Fatalf("skewed clock: %v", err)
	}
}

func testStateDir(t *testing.T) {
	dir := t.TempDir()
	s1, url := serve(t, api.Options{StateDir: dir})
	c := apitest.SDK(url, "AKID", "SECRET")
	ctx := context.Background()
	arn := createExpress(t, c, "kept", `{"StartAt":"A","States":{"A":{"Type":"Pass","Result":"kept","End":true}}}`)
	if _, err := c.TagResource(ctx, &sfn.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	gone := createExpress(t, c, "gone", `{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}`)
	if _, err := c.DeleteStateMachine(ctx, &sfn.DeleteStateMachineInput{StateMachineArn: aws.String(gone)}); err != nil {
		t.Fatal(err)
	}
	d1, _ := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	s1.Close(ctx)

	_, url2 := serve(t, api.Options{StateDir: dir})
	c2 := apitest.SDK(url2, "AKID", "SECRET")
	d2, err := c2.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d2.Definition) != aws.ToString(d1.Definition) || aws.ToString(d2.RevisionId) != aws.ToString(d1.RevisionId) || !d2.CreationDate.Equal(*d1.CreationDate) {
		t.Fatalf("after restart: %s, before: %s", mustJSON(d2), mustJSON(d1))
	}
	tags, err := c2.ListTagsForResource(ctx, &sfn.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "v" {
		t.Fatalf("tags after restart: %v %s", err, mustJSON(tags))
	}
	if _, err := c2.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(gone)}); code(err) != "StateMachineDoesNotExist" {
		t.Fatalf("deleted one after restart: %v", err)
	}
	out, err := c2.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(arn)})
	if err != nil || aws.ToString(out.Output) != `"kept"` {
		t.Fatalf("run after restart: %v %s", err, mustJSON(out))
	}
}
