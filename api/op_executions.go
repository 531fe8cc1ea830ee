package api

import (
	"context"
)

// DescribeExecution, GetExecutionHistory and StopExecution: Express
// executions keep no history, and AWS answers these actions on an Express
// execution ARN with InvalidArn ("Resource type not valid in this context:
// express"). An execution ARN of a Standard workflow names nothing here
// (ExecutionDoesNotExist).
func init() {
	Register(executionOp{"DescribeExecution"})
	Register(executionOp{"GetExecutionHistory"})
	Register(executionOp{"StopExecution"})
}

type executionOp struct{ name string }

func (o executionOp) Name() string { return o.name }

type executionInput struct {
	ExecutionArn *string `json:"executionArn"`
	MaxResults   *int64  `json:"maxResults"`
	NextToken    *string `json:"nextToken"`
	Error        *string `json:"error"`
	Cause        *string `json:"cause"`
	IncludedData *string `json:"includedData"`
}

func (o executionOp) Serve(_ context.Context, s *Server, body []byte) ([]byte, error) {
	var in executionInput
	if err := Decode(body, &in); err != nil {
		return nil, err
	}
	var v validation
	v.required("executionArn", in.ExecutionArn != nil)
	v.length("executionArn", in.ExecutionArn, 1, 256)
	v.intRange("maxResults", in.MaxResults, 0, 1000)
	v.length("nextToken", in.NextToken, 1, 1024)
	v.length("error", in.Error, 0, 256)
	v.length("cause", in.Cause, 0, 32768)
	v.enum("includedData", in.IncludedData, "ALL_DATA", "METADATA_ONLY")
	if err := v.err(); err != nil {
		return nil, err
	}
	typ, _, _, err := s.arnParts(*in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "express":
		return nil, errInvalidArnWhy("Resource type not valid in this context: express")
	case "execution":
		return nil, Errorf("ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", *in.ExecutionArn)
	}
	return nil, errInvalidArnWhy("Resource type not valid in this context: " + typ)
}
