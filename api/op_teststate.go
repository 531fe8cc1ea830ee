package api

import (
	"context"
	"errors"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/teststate"
)

func init() { Register(testState{}) }

// testState runs one state alone (package teststate): a state's definition,
// or a state machine and stateName; an input, variables, and a mocked
// result or error for a Task, which otherwise calls the server's resources.
type testState struct{}

func (testState) Name() string { return "TestState" }

func (testState) Serve(ctx context.Context, s *Server, body []byte) ([]byte, error) {
	var in teststate.Request
	if err := Decode(body, &in); err != nil {
		return nil, err
	}
	var v validation
	v.required("definition", in.Definition != "")
	v.length("definition", &in.Definition, 1, 1048576)
	if in.RoleArn != "" {
		v.length("roleArn", &in.RoleArn, 1, 256)
	}
	if in.StateName != "" {
		v.length("stateName", &in.StateName, 1, 80)
	}
	if in.InspectionLevel != "" {
		v.enum("inspectionLevel", &in.InspectionLevel, "INFO", "DEBUG", "TRACE")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	resp, err := teststate.Run(ctx, &in, teststate.Options{
		Invoker: s.o.Invoker,
		Compile: compile.Options{Invoker: s.o.Invoker},
	})
	if err != nil {
		var te *teststate.Error
		if errors.As(err, &te) {
			if te.Type == "ValidationException" {
				return nil, errValidation("%s", te.Message)
			}
			return nil, Errorf(te.Type, "%s", te.Message)
		}
		return nil, errInternal(err)
	}
	return Encode(resp)
}
