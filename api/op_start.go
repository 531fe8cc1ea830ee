package api

import (
	"context"
	"errors"
	"time"
)

func init() { Register(startExecution{}) }

// startExecution starts an asynchronous Express execution: handed to the
// state machine's Starter (a Kafka topic) or queued in process. The name is
// the idempotency key: the same name with the same input within the dedup
// window answers the same execution ARN without a second run; with another
// input, ExecutionAlreadyExists.
type startExecution struct{}

func (startExecution) Name() string { return "StartExecution" }

func (startExecution) Serve(ctx context.Context, s *Server, body []byte) ([]byte, error) {
	in, err := decodeStart(body)
	if err != nil {
		return nil, err
	}
	st, err := s.prepare(in)
	if err != nil {
		return nil, err
	}
	m, name := st.m, st.name
	a := s.async
	t := now(s)
	key := m.Name + "\x00" + name
	if st.inv != nil {
		// a mock configuration's test case: "#TestCase" tells it apart
		key += "#" + st.testCase
	}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil, errInternal(errClosed)
	}
	if e, ok := a.dedup(key, t); ok {
		a.mu.Unlock()
		if e.input != in.Input {
			return nil, errExecutionExists(e.arn)
		}
		return startOutput(e.arn, e.start), nil
	}
	arn := s.expressExecutionARN(m.Name, name, newUUID())
	if m.starter == nil || st.inv != nil {
		// (a mocked execution runs in process even when the state
		// machine's executions go to a Kafka topic)
		select {
		case a.queue <- asyncJob{start: st, text: in.Input}:
		default:
			a.mu.Unlock()
			return nil, errThrottling()
		}
		a.remember(key, seenExec{arn: arn, input: in.Input, start: t})
		a.mu.Unlock()
		return startOutput(arn, t), nil
	}
	a.mu.Unlock()
	text := in.Input
	if !in.hasInput {
		text = "{}"
	}
	if err := m.starter.Start(ctx, name, []byte(text)); err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, errInternal(err)
	}
	a.mu.Lock()
	if e, ok := a.seen[key]; ok {
		// a concurrent start of the same name won: both produced, the
		// consumer's idempotency key runs it once
		arn, t = e.arn, e.start
	} else {
		a.remember(key, seenExec{arn: arn, input: in.Input, start: t})
	}
	a.mu.Unlock()
	return startOutput(arn, t), nil
}

func startOutput(arn string, t time.Time) []byte {
	b := []byte(`{"executionArn":`)
	b = appendJSONString(b, arn)
	b = append(b, `,"startDate":`...)
	b = appendTimestamp(b, t)
	return append(b, '}')
}
