package api_test

import (
	"context"
	"encoding/json"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/stepstream/express/api"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/apitest"
	"github.com/stepstream/express/internal/jsonv"
	"github.com/stepstream/express/testcase"
)

// caseInvoker answers Task states from the mocks of the case whose
// execution name the request carries, as `express test` does.
type caseInvoker struct {
	mu    sync.Mutex
	cases map[string]*testcase.Case
	calls map[string]int
}

func (ci *caseInvoker) Invoke(_ context.Context, req *express.TaskRequest) (any, error) {
	ci.mu.Lock()
	c := ci.cases[req.Execution]
	k := req.Execution + "\x00" + req.State
	n := ci.calls[k]
	ci.calls[k] = n + 1
	ci.mu.Unlock()
	if c == nil || len(c.Mocks[req.State]) == 0 {
		return nil, &express.Error{Name: "NoMock", Cause: req.State}
	}
	list := c.Mocks[req.State]
	mk := list[min(n, len(list)-1)]
	if mk.HasReturn {
		return mk.Return, nil
	}
	return nil, &express.Error{Name: mk.Error, Cause: mk.Cause, HasCause: mk.HasCause}
}

// testSDKExamples runs every test case of the five examples through
// StartSyncExecution and checks what `express test` checks: the status,
// the output, the error and the cause.
func testSDKExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "*", "tests", "*.json"))
	if err != nil || len(files) < 5 {
		t.Fatalf("example cases: %v %v", files, err)
	}
	inv := &caseInvoker{cases: map[string]*testcase.Case{}, calls: map[string]int{}}
	o := api.Options{Invoker: inv}
	api.VirtualTime(&o)
	_, url := serve(t, o)
	c := apitest.SDK(url, "AKID", "SECRET")
	ctx := context.Background()
	machines := map[string]string{}
	for _, f := range files {
		tc, err := testcase.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		example := filepath.Base(filepath.Dir(filepath.Dir(f)))
		def, _ := json.Marshal(tc.Definition)
		if tc.Expect.Status == "INVALID" {
			continue
		}
		arn, ok := machines[example+string(def)]
		if !ok {
			arn = createExpress(t, c, example+"-"+itoa(len(machines)), string(def))
			machines[example+string(def)] = arn
		}
		name := example + "-" + strings.TrimSuffix(path.Base(f), ".json")
		inv.mu.Lock()
		inv.cases[name] = tc
		inv.mu.Unlock()
		input, _ := json.Marshal(tc.Input)
		t.Run(name, func(t *testing.T) {
			out, err := c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String(name), Input: aws.String(string(input))})
			if err != nil {
				t.Fatal(err)
			}
			if string(out.Status) != tc.Expect.Status {
				t.Fatalf("status %s (%s: %s), want %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause), tc.Expect.Status)
			}
			if tc.Expect.HasOutput && out.Status == "SUCCEEDED" {
				got, err := jsonv.ParsePlain([]byte(aws.ToString(out.Output)))
				if err != nil {
					t.Fatal(err)
				}
				if !jsonv.Equal(got, tc.Expect.Output) {
					t.Fatalf("output %s", testcase.Diff(tc.Expect.Output, got))
				}
			}
			if e := tc.Expect.Error; e != nil && aws.ToString(out.Error) != *e {
				t.Fatalf("error %q, want %q", aws.ToString(out.Error), *e)
			}
			if e := tc.Expect.Cause; e != nil && aws.ToString(out.Cause) != *e {
				t.Fatalf("cause %q, want %q", aws.ToString(out.Cause), *e)
			}
			if e := tc.Expect.CauseContains; e != nil && !strings.Contains(aws.ToString(out.Cause), *e) {
				t.Fatalf("cause %q does not contain %q", aws.ToString(out.Cause), *e)
			}
		})
	}
	if len(machines) < 5 {
		t.Fatalf("%d state machines made from the examples, want at least 5", len(machines))
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
