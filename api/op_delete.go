package api

import "context"

func init() { Register(deleteStateMachine{}) }

type deleteStateMachine struct{}

func (deleteStateMachine) Name() string { return "DeleteStateMachine" }

// Serve deletes a state machine. As AWS does, deleting one that does not
// exist succeeds.
func (deleteStateMachine) Serve(_ context.Context, s *Server, body []byte) ([]byte, error) {
	var in arnInput
	if err := Decode(body, &in); err != nil {
		return nil, err
	}
	var v validation
	v.required("stateMachineArn", in.StateMachineArn != nil)
	v.length("stateMachineArn", in.StateMachineArn, 1, 256)
	if err := v.err(); err != nil {
		return nil, err
	}
	name, here, err := s.stateMachineName(*in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	if !here {
		return nil, nil
	}
	return nil, s.change(func(byName map[string]*stateMachine) error {
		m := byName[name]
		if m == nil {
			return nil
		}
		if m.configured {
			return errValidation("state machine %q is a workflow of the serve configuration: remove it there", name)
		}
		delete(byName, name)
		return nil
	})
}
