package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Operation is one action of the Step Functions API. An operation is one
// file (op_*.go) with a type implementing Operation and one registration
// line:
//
//	func init() { Register(testState{}) }
//
//	type testState struct{}
//	func (testState) Name() string { return "TestState" }
//	func (testState) Serve(ctx context.Context, s *Server, body []byte) ([]byte, error) {
//		var in testStateInput
//		if err := Decode(body, &in); err != nil {
//			return nil, err
//		}
//		... // s.Options() has the region, account and the Task invoker
//		return Encode(out)
//	}
type Operation interface {
	// Name is the action's name as in the service model: requests name it
	// in X-Amz-Target as "AWSStepFunctions." + Name.
	Name() string
	// Serve answers one request. body is the request's JSON document,
	// valid only during the call (the buffer is reused): copy what you keep
	// (Decode does). It
	// returns the response document, encoded (nil is {}), or an error:
	// an *Error is answered as it says, any other error as an
	// InternalFailure (HTTP 500). Serve is called concurrently.
	Serve(ctx context.Context, s *Server, body []byte) ([]byte, error)
}

var (
	opsMu sync.RWMutex
	ops   = map[string]Operation{}
)

// Register adds an operation to the table every Server answers from. It
// panics when another operation has the same name. Call it from an init
// function.
func Register(op Operation) {
	opsMu.Lock()
	defer opsMu.Unlock()
	if _, dup := ops[op.Name()]; dup {
		panic("api: operation " + op.Name() + " registered twice")
	}
	ops[op.Name()] = op
}

// Operations lists the names of the registered operations, sorted.
func Operations() []string {
	opsMu.RLock()
	defer opsMu.RUnlock()
	out := make([]string, 0, len(ops))
	for n := range ops {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// lookup finds an operation by name (the map index does not copy name).
func lookup(name []byte) Operation {
	opsMu.RLock()
	defer opsMu.RUnlock()
	return ops[string(name)]
}

// Decode reads a request document into v (a pointer to a struct with json
// tags). Members not in v are ignored; a body that is not a JSON object, or
// a member of the wrong JSON type, is a SerializationException naming the
// member, as AWS answers. An empty body is an empty document.
func Decode(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if body[0] != '{' {
		return errSerialization("the request body is not a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return errSerialization("Unexpected value type for member %q: want %s, got JSON %s", te.Field, te.Type, te.Value)
		}
		return errSerialization("the request body is not valid JSON: %v", err)
	}
	return nil
}

// Encode encodes a response document with encoding/json.
func Encode(v any) ([]byte, error) {
	b, err := marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding the response: %w", err)
	}
	return b, nil
}
