package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/kafka"
	"github.com/stepstream/express/mockconfig"
)

// Defaults of Options.
const (
	// DefaultRegion and DefaultAccount are those Step Functions Local uses.
	DefaultRegion  = "us-east-1"
	DefaultAccount = "123456789012"
	// DefaultAsyncWorkers run StartExecution executions in process.
	DefaultAsyncWorkers = 64
	// DefaultAsyncQueue is how many started executions may wait for a
	// worker before StartExecution answers ThrottlingException.
	DefaultAsyncQueue = 4096
	// DefaultDedupWindow is how long an execution name started with
	// StartExecution keeps answering the same execution ARN.
	DefaultDedupWindow = 10 * time.Minute
	// MaxRequestBytes bounds a request body: a definition is at most 1 MiB,
	// which JSON escaping can double.
	MaxRequestBytes = 4 << 20
	// MaxPayloadBytes is AWS's limit of an execution's input and output.
	MaxPayloadBytes = 256 * 1024
)

// Options configure a Server.
type Options struct {
	// Region and Account make up the ARNs (default DefaultRegion,
	// DefaultAccount). A request's ARN of another region or account names
	// a resource that does not exist.
	Region, Account string
	// Invoker runs the Task resources of state machines created through the
	// API (the daemon gives its resources.Resources built from --resource);
	// nil: a Task state fails with States.TaskFailed.
	Invoker express.Invoker
	// CheckResource, when set, is asked about every Task Resource of a
	// definition created, updated or validated (as compile.Options says).
	CheckResource func(resource string) error
	// Hooks, when set, gives the hooks of a state machine's executions
	// (the daemon's execution metrics).
	Hooks func(stateMachine string) express.Hooks
	// BuildPool bounds what all running executions have built (see
	// express.BuildPool); nil: none beyond each execution's own limit.
	BuildPool *express.BuildPool
	// Observer, when set, gives the observer of a state machine's
	// executions (the web console): it picks which ones record their
	// history (Sample) and sees those and every failed one (Executed, with
	// no record). definition is the state machine's.
	Observer func(stateMachine, definition string) kafka.Observer
	// MockConfig, when set, is Step Functions Local's mock configuration:
	// a stateMachineArn ending in "#TestCaseName" runs with that test
	// case's mocked responses (the state machine's name picks its
	// StateMachines entry), as Step Functions Local does.
	MockConfig *mockconfig.File
	// Credentials, when not empty, are the access keys whose SigV4
	// signature every request must carry; empty: any signature (or none) is
	// accepted, as Step Functions Local does. See ReadCredentials.
	Credentials Credentials
	// StateDir, when set, keeps the state machines created through the API
	// (and their tags) across restarts, in StateDir/state-machines.json.
	StateDir string
	// AsyncWorkers and AsyncQueue size the in-process runner of
	// StartExecution (defaults DefaultAsyncWorkers, DefaultAsyncQueue).
	AsyncWorkers, AsyncQueue int
	// DedupWindow is how long StartExecution remembers an execution name
	// (default DefaultDedupWindow).
	DedupWindow time.Duration
	// Registerer, when set, receives the API's metrics (see the package
	// documentation).
	Registerer prometheus.Registerer
	// Logger receives the server's own problems; nil: slog.Default().
	Logger *slog.Logger
	// ExecutionLog, when set, logs the executions run here as the daemon
	// logs its own (level, data and rate bounds are the log's; see
	// kafka.ExecutionLog.LogExecution).
	ExecutionLog *kafka.ExecutionLog

	// now is the clock of dates and signatures (tests).
	now func() time.Time
	// clock, when set, gives each execution its clock (tests: virtual
	// time, so Retry and Wait do not sleep).
	clock func() express.Clock
}

// Server answers the Step Functions API (AWS JSON 1.0: POST /,
// X-Amz-Target: AWSStepFunctions.<Operation>). It is an http.Handler, safe
// for concurrent use. Close it to stop its asynchronous executions.
type Server struct {
	o        Options
	smPrefix string // arn:aws:states:REGION:ACCOUNT:stateMachine:
	metrics  *metrics
	store    *store
	async    *asyncRunner

	bindMu sync.RWMutex
}

// New makes a Server; it loads the state machines kept in
// Options.StateDir.
func New(o Options) (*Server, error) {
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.Account == "" {
		o.Account = DefaultAccount
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.AsyncWorkers <= 0 {
		o.AsyncWorkers = DefaultAsyncWorkers
	}
	if o.AsyncQueue <= 0 {
		o.AsyncQueue = DefaultAsyncQueue
	}
	if o.DedupWindow <= 0 {
		o.DedupWindow = DefaultDedupWindow
	}
	s := &Server{o: o}
	s.smPrefix = s.stateMachineARN("")
	var err error
	if s.metrics, err = newMetrics(o.Registerer); err != nil {
		return nil, err
	}
	if s.store, err = s.loadStore(); err != nil {
		return nil, err
	}
	s.async = newAsyncRunner(s, o.AsyncWorkers, o.AsyncQueue)
	return s, nil
}

// Options returns the options the server runs with (defaults filled in),
// for operations.
func (s *Server) Options() Options { return s.o }

// Close stops taking asynchronous executions and waits for the running
// ones until ctx is done, then cancels them.
func (s *Server) Close(ctx context.Context) { s.async.close(ctx) }

const targetPrefix = "AWSStepFunctions."

// The two fronts (ServeHTTP for net/http, HTTPServer for the listener of
// `express serve`) read the HTTP request each their own way and hand the
// same core, answer, what it needs: the method, the X-Amz-Target header,
// the body and, to verify a signature, a signedRequest. The core returns
// the status, the error code (x-amzn-ErrorType, "" on success) and the
// body; the front writes them with contentType and a new request id.

// answer runs one request. readErr, when not nil, is the front's failure
// to read the body (an *Error).
func (s *Server) answer(ctx context.Context, method string, target []byte, sr signedRequest, body []byte, readErr error) (status int, errType string, out []byte) {
	name := "unknown"
	var err error
	if method != http.MethodPost {
		err = errNotPost
	} else if err = readErr; err == nil {
		var op Operation
		if op, err = s.check(target, sr, body); err == nil {
			name = op.Name()
			out, err = s.serve(ctx, op, body)
		}
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = errInternal(err)
			s.o.Logger.Error("api: operation failed", "operation", name, "error", err)
		}
		s.metrics.request(name, e.Type)
		return e.status(), e.Type, appendError(nil, e)
	}
	s.metrics.request(name, "ok")
	if out == nil {
		out = emptyDoc
	}
	return http.StatusOK, "", out
}

var errNotPost = &Error{Type: "UnknownOperationException", Message: "the Step Functions API answers POST / only", Namespace: nsCoral, Status: 404}

// errTooLarge is the answer to a body over MaxRequestBytes.
var errTooLarge = &Error{Type: "SerializationException", Message: fmt.Sprintf("the request body is over %d bytes", MaxRequestBytes), Namespace: nsCoral, Status: 413}

// ServeHTTP answers one request (the net/http front).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	var bp *[]byte
	var readErr error
	if r.Method == http.MethodPost {
		body, bp, readErr = readBody(w, r)
		if bp != nil {
			defer func() {
				if cap(*bp) <= maxPooledBody {
					bodies.Put(bp)
				}
			}()
		}
	}
	var target []byte
	if t := r.Header["X-Amz-Target"]; len(t) > 0 {
		target = []byte(t[0])
	}
	status, typ, out := s.answer(r.Context(), r.Method, target, stdRequest{r}, body, readErr)
	h := w.Header()
	h["Content-Type"] = contentType
	h["X-Amzn-Requestid"] = []string{newUUID()}
	h["Content-Length"] = []string{strconv.Itoa(len(out))}
	if typ != "" {
		h["X-Amzn-Errortype"] = []string{typ}
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

var (
	contentType = []string{"application/x-amz-json-1.0"}
	emptyDoc    = []byte("{}")
)

// readBody reads a request's body; bp, when not nil, is the pooled buffer
// holding it.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *[]byte, error) {
	if n := r.ContentLength; n >= 0 && n <= MaxRequestBytes {
		// the usual case: the length is known, read into a pooled buffer
		bp := bodies.Get().(*[]byte)
		if int64(cap(*bp)) < n {
			*bp = make([]byte, n)
		}
		body := (*bp)[:n]
		if _, err := io.ReadFull(r.Body, body); err != nil {
			bodies.Put(bp)
			return nil, nil, errSerialization("reading the request body: %v", err)
		}
		return body, bp, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, nil, errTooLarge
		}
		return nil, nil, errSerialization("reading the request body: %v", err)
	}
	return body, nil, nil
}

// bodies are request buffers, reused once the response is written
// (operations copy what they keep).
var bodies = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledBody bounds the buffers kept in the pool.
const maxPooledBody = 64 << 10

// check verifies the signature and finds the operation of the
// X-Amz-Target header's value (nil: no header).
func (s *Server) check(target []byte, sr signedRequest, body []byte) (Operation, error) {
	if len(s.o.Credentials) > 0 {
		if err := s.verify(sr, body); err != nil {
			return nil, err
		}
	}
	if target == nil {
		return nil, errUnknownOperation("")
	}
	opName, ok := bytes.CutPrefix(target, []byte(targetPrefix))
	var op Operation
	if ok {
		op = lookup(opName)
	}
	if op == nil {
		return nil, errUnknownOperation(string(target))
	}
	return op, nil
}

// serve runs one operation, turning a panic into an InternalFailure: no
// request crashes the server.
func (s *Server) serve(ctx context.Context, op Operation, body []byte) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errInternal(fmt.Errorf("operation %s panicked: %v", op.Name(), p))
		}
	}()
	return op.Serve(ctx, s, body)
}

// appendError appends AWS's error document.
func appendError(b []byte, e *Error) []byte {
	b = append(b, `{"__type":`...)
	b = appendJSONString(b, e.typeString())
	b = append(b, `,"message":`...)
	b = appendJSONString(b, e.Message)
	return append(b, '}')
}
