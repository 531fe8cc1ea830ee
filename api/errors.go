package api

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Error is an error answered as AWS answers it: HTTP 400 (or Status) with
// the JSON document {"__type": Namespace#Type, "message": Message}.
// botocore and the Go SDK both keep what follows the last '#' of __type as
// the error code, so clients see Type (StateMachineDoesNotExist, ...).
type Error struct {
	// Type is the AWS error code, e.g. "StateMachineDoesNotExist".
	Type string
	// Message is the human-readable text, as AWS words it where known.
	Message string
	// Status is the HTTP status; 0 means 400.
	Status int
	// Namespace is the Smithy/Coral namespace before '#'; empty means the
	// Step Functions model's (com.amazonaws.swf.service.v2.model).
	Namespace string
}

// Error is "Type: Message".
func (e *Error) Error() string { return e.Type + ": " + e.Message }

// The namespaces AWS puts before '#' in __type.
const (
	nsSFN   = "com.amazonaws.swf.service.v2.model"
	nsCoral = "com.amazon.coral.service"
	nsValid = "com.amazon.coral.validate"
)

func (e *Error) typeString() string {
	ns := e.Namespace
	if ns == "" {
		ns = nsSFN
	}
	return ns + "#" + e.Type
}

func (e *Error) status() int {
	if e.Status == 0 {
		return 400
	}
	return e.Status
}

// Errorf makes a Step Functions error of the given type (an error shape of
// the service model, e.g. "InvalidArn").
func Errorf(typ, format string, args ...any) *Error {
	return &Error{Type: typ, Message: fmt.Sprintf(format, args...)}
}

// Error constructors with AWS's wording.

func errInvalidArn(arn string) *Error { return Errorf("InvalidArn", "Invalid Arn: '%s'", arn) }

func errInvalidArnWhy(why string) *Error {
	return Errorf("InvalidArn", "Invalid Arn: '%s'", why)
}

func errNoStateMachine(arn string) *Error {
	return Errorf("StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn)
}

func errInvalidName(name string) *Error { return Errorf("InvalidName", "Invalid Name: '%s'", name) }

func errSerialization(format string, args ...any) *Error {
	return &Error{Type: "SerializationException", Message: fmt.Sprintf(format, args...), Namespace: nsCoral}
}

func errThrottling() *Error {
	return &Error{Type: "ThrottlingException", Message: "Rate exceeded", Namespace: nsCoral}
}

func errUnknownOperation(target string) *Error {
	return &Error{Type: "UnknownOperationException", Message: fmt.Sprintf("Unknown operation %q", target), Namespace: nsCoral}
}

func errInternal(err error) *Error {
	return &Error{Type: "InternalFailure", Message: err.Error(), Status: 500, Namespace: nsCoral}
}

// validation collects constraint violations and reports them the way AWS's
// request validation does: "2 validation errors detected: Value 'x' at
// 'name' failed to satisfy constraint: Member must ...; Value ...".
type validation struct{ msgs []string }

func (v *validation) add(value any, field, constraint string) {
	var val string
	switch x := value.(type) {
	case nil:
		val = "null"
	case string:
		if len(x) > 64 {
			x = x[:64] + "..."
		}
		val = "'" + x + "'"
	default:
		val = fmt.Sprintf("'%v'", x)
	}
	v.msgs = append(v.msgs, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", val, field, constraint))
}

// required records a missing required member.
func (v *validation) required(field string, present bool) {
	if !present {
		v.add(nil, field, "Member must not be null")
	}
}

// length checks a string member's length in bytes (set: whether it was given).
func (v *validation) length(field string, s *string, min, max int) {
	if s == nil {
		return
	}
	if len(*s) < min {
		v.add(*s, field, fmt.Sprintf("Member must have length greater than or equal to %d", min))
	} else if max > 0 && len(*s) > max {
		v.add(*s, field, fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
}

// enum checks a string member against its allowed values.
func (v *validation) enum(field string, s *string, values ...string) {
	if s == nil {
		return
	}
	for _, x := range values {
		if *s == x {
			return
		}
	}
	v.add(*s, field, "Member must satisfy enum value set: ["+strings.Join(values, ", ")+"]")
}

// intRange checks an integer member.
func (v *validation) intRange(field string, n *int64, min, max int64) {
	if n == nil {
		return
	}
	if *n < min {
		v.add(*n, field, fmt.Sprintf("Member must have value greater than or equal to %d", min))
	} else if *n > max {
		v.add(*n, field, fmt.Sprintf("Member must have value less than or equal to %d", max))
	}
}

// err returns the ValidationException, or nil when nothing was wrong.
func (v *validation) err() error {
	switch len(v.msgs) {
	case 0:
		return nil
	case 1:
		return &Error{Type: "ValidationException", Message: "1 validation error detected: " + v.msgs[0], Namespace: nsValid}
	}
	return &Error{Type: "ValidationException", Message: fmt.Sprintf("%d validation errors detected: %s", len(v.msgs), strings.Join(v.msgs, "; ")), Namespace: nsValid}
}

func errValidation(format string, args ...any) *Error {
	return &Error{Type: "ValidationException", Message: fmt.Sprintf(format, args...), Namespace: nsValid}
}

func asError(err error, e **Error) bool { return err != nil && errors.As(err, e) }

func itoa(i int) string { return strconv.Itoa(i) }
