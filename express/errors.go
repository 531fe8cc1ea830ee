package express

import (
	"errors"
	"fmt"
	"strings"
)

// Error names defined by the Amazon States Language and AWS Step Functions.
const (
	ErrALL                    = "States.ALL"
	ErrRuntime                = "States.Runtime"
	ErrTimeout                = "States.Timeout"
	ErrTaskFailed             = "States.TaskFailed"
	ErrPermissions            = "States.Permissions"
	ErrDataLimitExceeded      = "States.DataLimitExceeded"
	ErrExceedToleratedFailure = "States.ExceedToleratedFailureThreshold"
	ErrQueryEvaluation        = "States.QueryEvaluationError"
	ErrItemReaderFailed       = "States.ItemReaderFailed"
	ErrBranchFailed           = "States.BranchFailed"
	ErrNoChoiceMatched        = "States.NoChoiceMatched"
	ErrIntrinsicFailure       = "States.IntrinsicFailure"
	ErrParameterPathFailure   = "States.ParameterPathFailure"
	ErrResultPathMatchFailure = "States.ResultPathMatchFailure"
	ErrHeartbeatTimeout       = "States.HeartbeatTimeout"
	ErrResultWriterFailed     = "States.ResultWriterFailed"
	ErrExecutionAborted       = "States.Aborted" // not an AWS name: the caller's context was cancelled
)

// Error is a failure with an ASL error name (States.Runtime, States.TaskFailed,
// a Task's own error name, a Fail state's Error) and a cause a user can act on.
// Errors returned by Workflow executions and by compiled state closures are
// of this type; Retry and Catch match on Name.
type Error struct {
	Name  string
	Cause string
	// HasCause distinguishes an empty cause from an absent one: a Fail state
	// without Cause produces an error output without a "Cause" field.
	HasCause bool
	// terminal errors end the execution regardless of Retry and Catch
	// (States.Runtime, the execution-level timeout, cancellation).
	terminal bool
}

func (e *Error) Error() string {
	if e.Cause == "" {
		return e.Name
	}
	return e.Name + ": " + e.Cause
}

// NewError returns an Error with the given name and cause.
func NewError(name, cause string) *Error {
	return &Error{Name: name, Cause: cause, HasCause: true}
}

// Errorf returns an Error with the given name and a formatted cause.
func Errorf(name, format string, args ...any) *Error {
	return &Error{Name: name, Cause: fmt.Sprintf(format, args...), HasCause: true}
}

// detached returns a copy of e with its own copies of its strings.
func (e *Error) detached() *Error {
	c := *e
	c.Name, c.Cause = strings.Clone(e.Name), strings.Clone(e.Cause)
	return &c
}

// AsError converts any error into an *Error. An error that is not already an
// *Error becomes States.TaskFailed with the error text as its cause, which is
// how AWS reports a failing integration that gives no error name.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	// the engine's own errors are *Error: no errors.As, whose target
	// escapes (one allocation per call, three per failed execution)
	if e, ok := err.(*Error); ok {
		return e
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Name: ErrTaskFailed, Cause: err.Error(), HasCause: true}
}

// Terminal reports whether the error ends the execution regardless of any
// Retry or Catch. AWS treats States.Runtime this way (it is not caught even
// by a catcher that names it), as well as the execution's own time limit.
func (e *Error) Terminal() bool {
	return e.terminal || e.Name == ErrRuntime
}

// Output is the error output a Catch hands to its next state.
func (e *Error) Output() map[string]any {
	if !e.HasCause && e.Cause == "" {
		return map[string]any{"Error": e.Name}
	}
	return map[string]any{"Error": e.Name, "Cause": e.Cause}
}

// Matches reports whether a Retry or Catch ErrorEquals list matches the error.
// States.ALL matches every error but States.DataLimitExceeded; States.TaskFailed matches every error except
// States.Timeout (AWS's rule); any other name matches exactly. Terminal errors
// never match.
func (e *Error) Matches(names []string) bool {
	if e.Terminal() {
		return false
	}
	for _, n := range names {
		switch n {
		case e.Name:
			return true
		case ErrALL:
			// AWS: States.ALL does not catch States.DataLimitExceeded.
			if e.Name != ErrDataLimitExceeded {
				return true
			}
		case ErrTaskFailed:
			if e.Name != ErrTimeout && e.Name != ErrDataLimitExceeded {
				return true
			}
		}
	}
	return false
}
