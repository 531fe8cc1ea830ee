package api

import (
	"strings"
	"unicode"

	"github.com/stepstream/express/internal/uuid"
)

// stateMachineARN is arn:aws:states:REGION:ACCOUNT:stateMachine:NAME.
func (s *Server) stateMachineARN(name string) string {
	return "arn:aws:states:" + s.o.Region + ":" + s.o.Account + ":stateMachine:" + name
}

// expressExecutionARN is the ARN of an Express execution:
// arn:aws:states:REGION:ACCOUNT:express:STATEMACHINE:EXECUTION:ID, where
// ID tells apart executions of the same name.
func (s *Server) expressExecutionARN(sm, exec, id string) string {
	return "arn:aws:states:" + s.o.Region + ":" + s.o.Account + ":express:" + sm + ":" + exec + ":" + id
}

// arnParts splits an ARN of Step Functions into its resource type and the
// parts after it, checking the partition, service, region and account.
// A malformed ARN is InvalidArn; one of another region or account is
// well formed (the caller answers that the resource does not exist).
func (s *Server) arnParts(arn string) (typ string, rest []string, here bool, err error) {
	p := strings.Split(arn, ":")
	if len(p) < 7 || p[0] != "arn" || p[1] != "aws" || p[2] != "states" || p[3] == "" || p[4] == "" {
		return "", nil, false, errInvalidArn(arn)
	}
	for _, x := range p[6:] {
		if x == "" {
			return "", nil, false, errInvalidArn(arn)
		}
	}
	return p[5], p[6:], p[3] == s.o.Region && p[4] == s.o.Account, nil
}

// stateMachineName returns the name in a state machine ARN, or InvalidArn.
// ok is false for a well-formed ARN of another region or account.
func (s *Server) stateMachineName(arn string) (name string, ok bool, err error) {
	typ, rest, here, err := s.arnParts(arn)
	if err != nil {
		return "", false, err
	}
	if typ != "stateMachine" {
		return "", false, errInvalidArnWhy("Resource type not valid in this context: " + typ)
	}
	if len(rest) != 1 {
		// versions and aliases (NAME:1, NAME:PROD) are not kept here
		return "", false, nil
	}
	return rest[0], here, nil
}

// validName reports whether s is a valid state machine or execution name:
// 1 to 80 characters, none of whitespace, brackets < > { } [ ], wildcards
// ? *, special characters " # % \ ^ | ~ ` $ & , ; : / or control
// characters (U+0000-001F, U+007F-009F), as AWS documents for Name.
func validName(s string) bool {
	if s == "" || len(s) > 80 {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == unicode.ReplacementChar {
			return false
		}
		if strings.ContainsRune("<>{}[]?*\"#%\\^|~`$&,;:/", r) {
			return false
		}
	}
	return true
}

// newUUID returns a random (version 4) UUID.
func newUUID() string { return uuid.New() }

// appendUUID appends a random (version 4) UUID.
func appendUUID(b []byte) []byte { return uuid.Append(b) }
