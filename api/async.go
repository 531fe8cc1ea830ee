package api

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/stepstream/express/express"
)

// Starter starts asynchronous executions of a state machine somewhere else
// than in process: the daemon binds each workflow of its configuration to
// its Kafka input topic (Bind), so StartExecution produces the input there,
// keyed by the execution name, and answers once the broker acknowledged it
// (at least once: the workflow's consumer runs it).
type Starter interface {
	// Start hands one execution over; it returns once the execution is
	// durably accepted (nil) or could not be (an error answered as an
	// InternalFailure, or an *Error as it says). name is the execution
	// name, the idempotency key; input is the JSON input text.
	Start(ctx context.Context, name string, input []byte) error
}

// Bind adds a state machine named name that StartSyncExecution runs with
// wf in process and StartExecution hands to starter (nil: in process).
// Such a state machine is part of the configuration: it is not persisted
// and cannot be updated or deleted through the API. def is the definition
// text DescribeStateMachine answers.
func (s *Server) Bind(name, def string, wf *express.Workflow, starter Starter) error {
	if !validName(name) {
		return errInvalidName(name)
	}
	t := Timestamp(now(s))
	m := &stateMachine{Name: name, Definition: def, RoleArn: "arn:aws:iam::" + s.o.Account + ":role/express", Type: "EXPRESS",
		Created: t, Updated: t, RevisionID: newUUID(), arn: s.stateMachineARN(name), wf: wf, configured: true, starter: starter}
	return s.change(func(byName map[string]*stateMachine) error {
		if byName[name] != nil {
			return Errorf("StateMachineAlreadyExists", "State Machine Already Exists: '%s'", m.arn)
		}
		byName[name] = m
		return nil
	})
}

// asyncRunner runs StartExecution's executions in process: a bounded
// queue and a fixed pool of workers; a full queue is ThrottlingException.
// It remembers names for the dedup window.
type asyncRunner struct {
	s     *Server
	queue chan asyncJob
	wg    sync.WaitGroup
	ctx   context.Context
	stop  context.CancelFunc

	mu     sync.Mutex
	closed bool
	seen   map[string]seenExec // state machine + "\x00" + name
	order  []seenKey           // in start order, for expiry
}

type asyncJob struct {
	*start
	text string // the input as sent, for the execution log
}

type seenExec struct {
	arn   string
	input string
	start time.Time
}

type seenKey struct {
	key string
	at  time.Time
}

func newAsyncRunner(s *Server, workers, queue int) *asyncRunner {
	a := &asyncRunner{s: s, queue: make(chan asyncJob, queue), seen: map[string]seenExec{}}
	a.ctx, a.stop = context.WithCancel(context.Background())
	for range workers {
		a.wg.Add(1)
		go a.work()
	}
	return a
}

func (a *asyncRunner) work() {
	defer a.wg.Done()
	for j := range a.queue {
		res := a.s.run(a.ctx, j.start)
		if a.s.o.ExecutionLog != nil {
			a.s.o.ExecutionLog.LogExecution(j.m.Name, []byte(orEmpty(j.text)), &res)
		}
	}
}

// close stops taking executions and waits for the queued and running ones
// until ctx is done, then cancels them.
func (a *asyncRunner) close(ctx context.Context) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.closed = true
	close(a.queue)
	a.mu.Unlock()
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		a.stop()
		<-done
	}
	a.stop()
}

// dedup returns the execution already started under key within the
// window, and forgets expired names.
func (a *asyncRunner) dedup(key string, t time.Time) (seenExec, bool) {
	for len(a.order) > 0 && t.Sub(a.order[0].at) > a.s.o.DedupWindow {
		if e, ok := a.seen[a.order[0].key]; ok && e.start.Equal(a.order[0].at) {
			delete(a.seen, a.order[0].key)
		}
		a.order = a.order[1:]
	}
	e, ok := a.seen[key]
	return e, ok
}

func (a *asyncRunner) remember(key string, e seenExec) {
	a.seen[key] = e
	a.order = append(a.order, seenKey{key, e.start})
}

func errExecutionExists(arn string) *Error {
	return Errorf("ExecutionAlreadyExists", "Execution Already Exists: '%s'", arn)
}

var errClosed = errors.New("the server is shutting down")
