package api

import "context"

func init() { Register(updateStateMachine{}) }

type updateStateMachine struct{}

func (updateStateMachine) Name() string { return "UpdateStateMachine" }

type updateStateMachineInput struct {
	StateMachineArn         *string                  `json:"stateMachineArn"`
	Definition              *string                  `json:"definition"`
	RoleArn                 *string                  `json:"roleArn"`
	LoggingConfiguration    *LoggingConfiguration    `json:"loggingConfiguration"`
	TracingConfiguration    *TracingConfiguration    `json:"tracingConfiguration"`
	Publish                 *bool                    `json:"publish"`
	VersionDescription      *string                  `json:"versionDescription"`
	EncryptionConfiguration *EncryptionConfiguration `json:"encryptionConfiguration"`
}

type updateStateMachineOutput struct {
	UpdateDate Timestamp `json:"updateDate"`
	RevisionID string    `json:"revisionId"`
}

func (updateStateMachine) Serve(_ context.Context, s *Server, body []byte) ([]byte, error) {
	var in updateStateMachineInput
	if err := Decode(body, &in); err != nil {
		return nil, err
	}
	var v validation
	v.length("definition", in.Definition, 1, 1048576)
	v.length("roleArn", in.RoleArn, 1, 256)
	v.length("versionDescription", in.VersionDescription, 0, 256)
	in.LoggingConfiguration.check(&v, "loggingConfiguration")
	in.EncryptionConfiguration.check(&v, "encryptionConfiguration")
	if err := v.err(); err != nil {
		return nil, err
	}
	old, err := s.smArn(in.StateMachineArn, "stateMachineArn")
	if err != nil {
		return nil, err
	}
	if in.Definition == nil && in.RoleArn == nil && in.LoggingConfiguration == nil && in.TracingConfiguration == nil && in.EncryptionConfiguration == nil {
		return nil, Errorf("MissingRequiredParameter", "Either the definition, the role ARN, the LoggingConfiguration, the EncryptionConfiguration or the TracingConfiguration must be specified")
	}
	if in.Publish != nil && *in.Publish {
		return nil, errValidation("publish: state machine versions are not supported here")
	}
	if old.configured {
		return nil, errValidation("state machine %q is a workflow of the serve configuration: change it there", old.Name)
	}
	if in.RoleArn != nil && !validRoleArn(*in.RoleArn) {
		return nil, errInvalidArn(*in.RoleArn)
	}
	m := *old
	if in.Definition != nil {
		if m.wf, err = s.compile(m.Name, *in.Definition); err != nil {
			return nil, err
		}
		m.Definition = *in.Definition
	}
	if in.RoleArn != nil {
		m.RoleArn = *in.RoleArn
	}
	if in.LoggingConfiguration != nil {
		m.Logging = in.LoggingConfiguration
	}
	if in.TracingConfiguration != nil {
		m.Tracing = in.TracingConfiguration
	}
	if in.EncryptionConfiguration != nil {
		m.Encryption = in.EncryptionConfiguration
	}
	m.Updated, m.RevisionID = Timestamp(now(s)), newUUID()
	err = s.change(func(byName map[string]*stateMachine) error {
		if byName[m.Name] != old {
			// deleted or updated meanwhile
			if byName[m.Name] == nil {
				return errNoStateMachine(m.arn)
			}
			return Errorf("ConflictException", "State machine %q was updated by another request", m.Name)
		}
		byName[m.Name] = &m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return Encode(updateStateMachineOutput{UpdateDate: m.Updated, RevisionID: m.RevisionID})
}
