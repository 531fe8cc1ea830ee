// Package teststate runs one state alone, as the Step Functions TestState
// API does: a state's definition (or a state machine and the name of one of
// its states), an input, variables and a mocked or real Task result give the
// state's output or error, the state that would run next, the status
// (SUCCEEDED, FAILED, RETRIABLE, CAUGHT_ERROR) and, at the DEBUG and TRACE
// inspection levels, the data after each step of the state's data flow.
// The API's TestState operation (api/op_teststate.go) is a thin wrapper.
package teststate

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// Request is TestState's input, with AWS's member names (service model
// TestStateInput). JSON documents are strings, as the API sends them.
type Request struct {
	Definition         string              `json:"definition"`
	RoleArn            string              `json:"roleArn,omitempty"`
	Input              *string             `json:"input,omitempty"`
	InspectionLevel    string              `json:"inspectionLevel,omitempty"`
	RevealSecrets      bool                `json:"revealSecrets,omitempty"`
	Variables          *string             `json:"variables,omitempty"`
	StateName          string              `json:"stateName,omitempty"`
	Mock               *Mock               `json:"mock,omitempty"`
	Context            *string             `json:"context,omitempty"`
	StateConfiguration *StateConfiguration `json:"stateConfiguration,omitempty"`
}

// Mock is TestState's MockInput: a result (a JSON document) or an error
// the state's Task gets instead of calling its resource.
type Mock struct {
	Result              *string      `json:"result,omitempty"`
	ErrorOutput         *ErrorOutput `json:"errorOutput,omitempty"`
	FieldValidationMode string       `json:"fieldValidationMode,omitempty"`
}

// ErrorOutput is MockErrorOutput.
type ErrorOutput struct {
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
}

// StateConfiguration is TestStateConfiguration.
type StateConfiguration struct {
	RetrierRetryCount        *int    `json:"retrierRetryCount,omitempty"`
	ErrorCausedByState       string  `json:"errorCausedByState,omitempty"`
	MapIterationFailureCount *int    `json:"mapIterationFailureCount,omitempty"`
	MapItemReaderData        *string `json:"mapItemReaderData,omitempty"`
}

// Response is TestState's output (TestStateOutput).
type Response struct {
	Output         *string         `json:"output,omitempty"`
	Error          string          `json:"error,omitempty"`
	Cause          string          `json:"cause,omitempty"`
	InspectionData *InspectionData `json:"inspectionData,omitempty"`
	NextState      string          `json:"nextState,omitempty"`
	Status         string          `json:"status"`
}

// InspectionData is the data after each step of the state's data flow, as
// JSON documents (DEBUG and TRACE levels).
type InspectionData struct {
	Input               *string       `json:"input,omitempty"`
	AfterArguments      *string       `json:"afterArguments,omitempty"`
	AfterInputPath      *string       `json:"afterInputPath,omitempty"`
	AfterParameters     *string       `json:"afterParameters,omitempty"`
	Result              *string       `json:"result,omitempty"`
	AfterResultSelector *string       `json:"afterResultSelector,omitempty"`
	AfterResultPath     *string       `json:"afterResultPath,omitempty"`
	AfterItemsPath      *string       `json:"afterItemsPath,omitempty"`
	AfterItemSelector   *string       `json:"afterItemSelector,omitempty"`
	Variables           *string       `json:"variables,omitempty"`
	ErrorDetails        *ErrorDetails `json:"errorDetails,omitempty"`
}

// ErrorDetails is InspectionErrorDetails.
type ErrorDetails struct {
	CatchIndex                  *int   `json:"catchIndex,omitempty"`
	RetryIndex                  *int   `json:"retryIndex,omitempty"`
	RetryBackoffIntervalSeconds *int64 `json:"retryBackoffIntervalSeconds,omitempty"`
}

// Error is a request TestState refuses, with the API's error type:
// InvalidDefinition, InvalidExecutionInput or ValidationException.
type Error struct {
	Type, Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

func invalid(typ, format string, args ...any) *Error {
	return &Error{Type: typ, Message: fmt.Sprintf(format, args...)}
}

// MaxPayload is the limit of input, variables, mock results and output.
const MaxPayload = 256 * 1024

// Options are what the caller brings: the resources a Task state calls when
// the request has no mock, and how definitions are compiled.
type Options struct {
	// Invoker runs Task resources (nil: a Task with no mock fails with
	// States.TaskFailed).
	Invoker express.Invoker
	// Compile are the compile options (CheckResource, Region, Account...);
	// Name is set to the tested state's.
	Compile compile.Options
}

// testStateName names a state given alone: TestState's definition is then
// the state's own object.
const testStateName = "TestState"

// Run tests one state. The error is an *Error for requests the API refuses;
// a state that fails is a Response with status FAILED.
func Run(ctx context.Context, req *Request, o Options) (*Response, error) {
	level := req.InspectionLevel
	switch level {
	case "":
		level = "INFO"
	case "INFO", "DEBUG", "TRACE":
	default:
		return nil, invalid("ValidationException", "1 validation error detected: Value '%s' at 'inspectionLevel' failed to satisfy constraint: Member must satisfy enum value set: [INFO, DEBUG, TRACE]", req.InspectionLevel)
	}
	if req.Context != nil {
		return nil, invalid("ValidationException", "context is not supported by this server: the tested state sees the context object of a new execution")
	}
	if req.StateConfiguration != nil && (req.StateConfiguration.ErrorCausedByState != "" || req.StateConfiguration.MapIterationFailureCount != nil || req.StateConfiguration.MapItemReaderData != nil) {
		return nil, invalid("ValidationException", "stateConfiguration supports retrierRetryCount only on this server")
	}
	input := any(map[string]any{})
	if req.Input != nil {
		v, err := parseDoc(*req.Input, "input")
		if err != nil {
			return nil, invalid("InvalidExecutionInput", "%v", err)
		}
		input = v
	}
	var vars map[string]any
	if req.Variables != nil {
		v, err := parseDoc(*req.Variables, "variables")
		if err != nil {
			return nil, invalid("InvalidExecutionInput", "%v", err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, invalid("InvalidExecutionInput", "variables must be a JSON object of variable name to value")
		}
		vars = m
	}
	def, state, err := machineFor(req)
	if err != nil {
		return nil, err
	}
	copts := o.Compile
	copts.Name = state
	wf, err := compile.CompileValue(def, copts)
	if err != nil {
		return nil, invalid("InvalidDefinition", "%s", firstLines(err.Error(), 5))
	}
	inv := o.Invoker
	if req.Mock != nil {
		if inv, err = mockInvoker(req.Mock); err != nil {
			return nil, err
		}
	}
	var mu sync.Mutex
	stages := map[string]string{} // JSON at once: later stages may add to a value in place
	topts := express.StateTestOptions{Invoker: inv, Vars: vars}
	if req.StateConfiguration != nil && req.StateConfiguration.RetrierRetryCount != nil {
		if *req.StateConfiguration.RetrierRetryCount < 0 {
			return nil, invalid("ValidationException", "stateConfiguration.retrierRetryCount must be 0 or more")
		}
		topts.RetryCount = *req.StateConfiguration.RetrierRetryCount
	}
	if level != "INFO" {
		topts.Inspect = func(stage string, v any) {
			mu.Lock()
			stages[stage] = jsonv.Marshal(jsonv.Plain(v))
			mu.Unlock()
		}
	}
	t := wf.TestState(ctx, state, input, topts)
	resp := &Response{Status: t.Status, NextState: t.NextState}
	if t.HasOutput {
		s := jsonv.Marshal(jsonv.Plain(t.Output))
		resp.Output = &s
	}
	if t.Status != express.TestSucceeded {
		resp.Error, resp.Cause = t.Error, t.Cause
	}
	if level != "INFO" {
		id := &InspectionData{}
		doc := func(stage string) *string {
			s, ok := stages[stage]
			if !ok {
				return nil
			}
			return &s
		}
		id.Input = doc(express.StageInput)
		id.AfterInputPath = doc(express.StageAfterInputPath)
		id.AfterParameters = doc(express.StageAfterParameters)
		id.AfterArguments = doc(express.StageAfterArguments)
		id.Result = doc(express.StageResult)
		id.AfterResultSelector = doc(express.StageAfterResultSelector)
		id.AfterResultPath = doc(express.StageAfterResultPath)
		id.AfterItemsPath = doc(express.StageAfterItemsPath)
		id.AfterItemSelector = doc(express.StageAfterItemSelector)
		if len(t.Vars) > 0 || vars != nil {
			v := t.Vars
			if v == nil {
				v = vars
			}
			s := jsonv.Marshal(jsonv.Plain(v))
			id.Variables = &s
		}
		if t.RetryIndex >= 0 || t.CatchIndex >= 0 {
			ed := &ErrorDetails{}
			if t.RetryIndex >= 0 {
				ri, back := t.RetryIndex, t.RetryBackoffSeconds
				ed.RetryIndex, ed.RetryBackoffIntervalSeconds = &ri, &back
			}
			if t.CatchIndex >= 0 {
				ci := t.CatchIndex
				ed.CatchIndex = &ci
			}
			id.ErrorDetails = ed
		}
		resp.InspectionData = id
	}
	return resp, nil
}

// parseDoc reads one of the request's JSON documents.
func parseDoc(s, field string) (any, error) {
	if len(s) > MaxPayload {
		return nil, fmt.Errorf("%s is %d bytes, over the limit of %d", field, len(s), MaxPayload)
	}
	v, err := jsonv.ParsePlain([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("%s is not valid JSON: %v", field, err)
	}
	return v, nil
}

// machineFor returns the state machine to compile and the state to test:
// a state machine and its stateName, or one state, which is wrapped in a
// machine whose other states are the targets it names (Succeed states,
// never run).
func machineFor(req *Request) (any, string, error) {
	v, err := compile.Parse([]byte(req.Definition))
	if err != nil {
		return nil, "", invalid("InvalidDefinition", "%v", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, "", invalid("InvalidDefinition", "the definition must be a JSON object: a state, or a state machine with stateName")
	}
	if _, machine := obj["States"]; machine {
		if req.StateName == "" {
			return nil, "", invalid("ValidationException", "the definition is a state machine: give stateName, the state to test")
		}
		states, _ := obj["States"].(map[string]any)
		if _, ok := states[req.StateName]; !ok {
			return nil, "", invalid("ValidationException", "the state machine has no state named %q", req.StateName)
		}
		return obj, req.StateName, nil
	}
	if _, ok := obj["Type"]; !ok {
		return nil, "", invalid("InvalidDefinition", "the definition must be a state (with Type) or a state machine (with States)")
	}
	name := testStateName
	if req.StateName != "" {
		name = req.StateName
	}
	states := map[string]any{name: obj}
	for _, t := range targets(obj) {
		if t != name {
			states[t] = map[string]any{"Type": "Succeed"}
		}
	}
	m := map[string]any{"StartAt": name, "States": states}
	if ql, ok := obj["QueryLanguage"]; ok {
		m["QueryLanguage"] = ql
	}
	return m, name, nil
}

// targets lists the state names a state may go to.
func targets(obj map[string]any) []string {
	seen := map[string]bool{}
	add := func(v any) {
		if s, ok := v.(string); ok && s != "" {
			seen[s] = true
		}
	}
	add(obj["Next"])
	add(obj["Default"])
	for _, list := range []string{"Choices", "Catch"} {
		if arr, ok := obj[list].([]any); ok {
			for _, e := range arr {
				if m, ok := e.(map[string]any); ok {
					add(m["Next"])
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// mockInvoker answers the state's Task with the request's mock.
func mockInvoker(m *Mock) (express.Invoker, error) {
	switch m.FieldValidationMode {
	case "", "STRICT", "PRESENT", "NONE":
	default:
		return nil, invalid("ValidationException", "1 validation error detected: Value '%s' at 'mock.fieldValidationMode' failed to satisfy constraint: Member must satisfy enum value set: [STRICT, PRESENT, NONE]", m.FieldValidationMode)
	}
	if (m.Result == nil) == (m.ErrorOutput == nil) {
		return nil, invalid("ValidationException", "a mock has either result or errorOutput")
	}
	if m.ErrorOutput != nil {
		e := &express.Error{Name: m.ErrorOutput.Error, Cause: m.ErrorOutput.Cause, HasCause: true}
		return express.InlineFunc(func(context.Context, *express.TaskRequest) (any, error) { return nil, e }), nil
	}
	v, err := parseDoc(*m.Result, "mock.result")
	if err != nil {
		return nil, invalid("ValidationException", "%v", err)
	}
	return express.InlineFunc(func(context.Context, *express.TaskRequest) (any, error) { return v, nil }), nil
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "; ")
}
