package api

import (
	"context"
)

func init() { Register(createStateMachine{}) }

type createStateMachine struct{}

func (createStateMachine) Name() string { return "CreateStateMachine" }

type createStateMachineInput struct {
	Name                    *string                  `json:"name"`
	Definition              *string                  `json:"definition"`
	RoleArn                 *string                  `json:"roleArn"`
	Type                    *string                  `json:"type"`
	LoggingConfiguration    *LoggingConfiguration    `json:"loggingConfiguration"`
	Tags                    []Tag                    `json:"tags"`
	TracingConfiguration    *TracingConfiguration    `json:"tracingConfiguration"`
	Publish                 *bool                    `json:"publish"`
	VersionDescription      *string                  `json:"versionDescription"`
	EncryptionConfiguration *EncryptionConfiguration `json:"encryptionConfiguration"`
}

type createStateMachineOutput struct {
	StateMachineArn string    `json:"stateMachineArn"`
	CreationDate    Timestamp `json:"creationDate"`
}

func (createStateMachine) Serve(_ context.Context, s *Server, body []byte) ([]byte, error) {
	var in createStateMachineInput
	if err := Decode(body, &in); err != nil {
		return nil, err
	}
	var v validation
	v.required("name", in.Name != nil)
	v.required("definition", in.Definition != nil)
	v.required("roleArn", in.RoleArn != nil)
	v.length("name", in.Name, 1, 80)
	v.length("definition", in.Definition, 1, 1048576)
	v.length("roleArn", in.RoleArn, 1, 256)
	v.enum("type", in.Type, "STANDARD", "EXPRESS")
	v.length("versionDescription", in.VersionDescription, 0, 256)
	in.LoggingConfiguration.check(&v, "loggingConfiguration")
	in.EncryptionConfiguration.check(&v, "encryptionConfiguration")
	checkTags(&v, "tags", in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	if in.Type == nil || *in.Type != "EXPRESS" {
		// the default type is STANDARD
		return nil, errValidation("only EXPRESS state machines run here: express runs Express workflows only; set type EXPRESS")
	}
	if in.Publish != nil && *in.Publish {
		return nil, errValidation("publish: state machine versions are not supported here")
	}
	if !validName(*in.Name) {
		return nil, errInvalidName(*in.Name)
	}
	if !validRoleArn(*in.RoleArn) {
		return nil, errInvalidArn(*in.RoleArn)
	}
	if len(in.Tags) > maxTags {
		return nil, errTooManyTags(s.stateMachineARN(*in.Name))
	}
	wf, err := s.compile(*in.Name, *in.Definition)
	if err != nil {
		return nil, err
	}
	t := now(s)
	m := &stateMachine{Name: *in.Name, Definition: *in.Definition, RoleArn: *in.RoleArn, Type: "EXPRESS",
		Created: Timestamp(t), Updated: Timestamp(t), RevisionID: newUUID(),
		Logging: in.LoggingConfiguration, Tracing: in.TracingConfiguration, Encryption: in.EncryptionConfiguration,
		Tags: mergeTags(nil, in.Tags), arn: s.stateMachineARN(*in.Name), wf: wf}
	err = s.change(func(byName map[string]*stateMachine) error {
		if old := byName[m.Name]; old != nil {
			// AWS answers the existing ARN when everything is the same
			if !old.configured && old.Definition == m.Definition && old.RoleArn == m.RoleArn {
				m = old
				return nil
			}
			return Errorf("StateMachineAlreadyExists", "State Machine Already Exists: '%s'", old.arn)
		}
		byName[m.Name] = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return Encode(createStateMachineOutput{StateMachineArn: m.arn, CreationDate: m.Created})
}

// validRoleArn checks that a role ARN is an ARN (arn:PARTITION:SERVICE:...);
// the role is not used here.
func validRoleArn(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			n++
		}
	}
	return len(s) > 4 && s[:4] == "arn:" && n >= 5
}
