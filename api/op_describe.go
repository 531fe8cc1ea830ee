package api

import "context"

func init() { Register(describeStateMachine{}) }

type describeStateMachine struct{}

func (describeStateMachine) Name() string { return "DescribeStateMachine" }

type arnInput struct {
	StateMachineArn *string `json:"stateMachineArn"`
	IncludedData    *string `json:"includedData"`
}

type describeStateMachineOutput struct {
	StateMachineArn         string                   `json:"stateMachineArn"`
	Name                    string                   `json:"name"`
	Status                  string                   `json:"status"`
	Definition              string                   `json:"definition"`
	RoleArn                 string                   `json:"roleArn"`
	Type                    string                   `json:"type"`
	CreationDate            Timestamp                `json:"creationDate"`
	LoggingConfiguration    *LoggingConfiguration    `json:"loggingConfiguration"`
	TracingConfiguration    *TracingConfiguration    `json:"tracingConfiguration"`
	RevisionID              string                   `json:"revisionId,omitempty"`
	EncryptionConfiguration *EncryptionConfiguration `json:"encryptionConfiguration,omitempty"`
}

// smArn checks a request's stateMachineArn member and returns the state
// machine it names.
func (s *Server) smArn(arn *string, field string) (*stateMachine, error) {
	var v validation
	v.required(field, arn != nil)
	v.length(field, arn, 1, 256)
	if err := v.err(); err != nil {
		return nil, err
	}
	return s.machine(*arn)
}

func (describeStateMachine) Serve(_ context.Context, s *Server, body []byte) ([]byte, error) {
	var in arnInput
	if err := Decode(body, &in); err != nil {
		return nil, err
	}
	var v validation
	v.enum("includedData", in.IncludedData, "ALL_DATA", "METADATA_ONLY")
	if err := v.err(); err != nil {
		return nil, err
	}
	m, err := s.smArn(in.StateMachineArn, "stateMachineArn")
	if err != nil {
		return nil, err
	}
	out := describeStateMachineOutput{StateMachineArn: m.arn, Name: m.Name, Status: "ACTIVE", Definition: m.Definition,
		RoleArn: m.RoleArn, Type: m.Type, CreationDate: m.Created, LoggingConfiguration: m.Logging,
		TracingConfiguration: m.Tracing, RevisionID: m.RevisionID, EncryptionConfiguration: m.Encryption}
	if out.LoggingConfiguration == nil {
		off, no := "OFF", false
		out.LoggingConfiguration = &LoggingConfiguration{Level: &off, IncludeExecutionData: &no}
	}
	if out.TracingConfiguration == nil {
		no := false
		out.TracingConfiguration = &TracingConfiguration{Enabled: &no}
	}
	return Encode(out)
}
