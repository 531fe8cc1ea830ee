package express

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// TaskRequest is what a Task state hands to its resource. It is valid only
// during the Invoke call: invokers must not keep it (the engine reuses it).
type TaskRequest struct {
	// Resource is the Task's Resource string, e.g.
	// "arn:aws:states:::lambda:invoke" or a Lambda function ARN.
	Resource string
	// State is the Task state's name; Workflow is the workflow's name.
	State    string
	Workflow string
	// Execution is the execution's name: its idempotency key. Resources that
	// cause side effects should pass on the call's key, CallKey (built from
	// it), as an Idempotency-Key header or a record header, so that a
	// re-delivered record does not act twice.
	Execution string
	// Input is the effective input: the state input after InputPath and
	// Parameters (or Arguments). Resources must not modify it.
	Input any
	// Timeout is the state's TimeoutSeconds (or TimeoutSecondsPath) as a
	// duration, 0 when the state has none; ctx carries the execution deadline.
	Timeout time.Duration
	// Heartbeat is the state's HeartbeatSeconds, 0 when absent.
	Heartbeat time.Duration
	// Credentials is the state's Credentials field after evaluation, if any.
	Credentials any
	// ResultSize is set by invokers that know an upper bound of their
	// result's size as compact JSON (the length of an HTTP response body,
	// a fixed result's size): it spares the engine measuring the result
	// against the payload limit. 0 means unknown.
	ResultSize int
	// Attempt is the call's retry attempt: 0 for the first call of the
	// Task state, n after n Retries of it. CallKey is the same for every
	// attempt.
	Attempt int
	// Headers are the headers of the execution's input record that the
	// caller chose to pass on (ExecOptions.Headers, a trace context such
	// as traceparent): resources send them with their calls. Read-only.
	Headers []Header

	scope *Scope // the scope calling, for CallKey
	key   string // CallKey, once built
}

// Header is a header passed on to the calls of an execution (see
// ExecOptions.Headers and TaskRequest.Headers).
type Header struct {
	Key   string
	Value []byte
}

// CallKey returns the idempotency key of the call: the execution name,
// then the path of Map and Parallel iterations that lead to the Task
// state, then the state's name, separated by '/':
//
//	exec-1/Enrich              a Task at the top level
//	exec-1/Process/3/Enrich    in item 3 of the Map state Process
//	exec-1/Fan/1/Call          in branch 1 of the Parallel state Fan
//
// A state entered again in the same scope (a loop) has "#n" added to its
// name for its n-th entry (n ≥ 2): "exec-1/Poll#2". '/', '#' and '%' in
// state names are written %2F, %23 and %25. The key is the same for every
// Retry attempt of the call (see Attempt) and for every run of the same
// record with the same execution name, and differs between Tasks and
// iterations. It is built on first use, so resources that do not need it
// pay nothing.
func (r *TaskRequest) CallKey() string {
	if r.key != "" {
		return r.key
	}
	if r.scope == nil {
		r.key = r.Execution + "/" + escapeKeySegment(r.State)
		return r.key
	}
	b := make([]byte, 0, len(r.Execution)+32)
	b = append(b, r.Execution...)
	b = r.scope.appendCallPath(b)
	r.key = string(b)
	return r.key
}

// appendCallPath appends "/seg" for each enclosing iteration and the
// running state of s.
func (s *Scope) appendCallPath(b []byte) []byte {
	if s.up != nil {
		b = s.up.appendCallPath(b)
		if s.hasIter {
			b = append(b, '/')
			b = strconv.AppendInt(b, int64(s.iter), 10)
		}
	}
	b = append(b, '/')
	b = appendKeySegment(b, s.stateName)
	if s.visit > 0 {
		b = append(b, '#')
		b = strconv.AppendInt(b, int64(s.visit+1), 10)
	}
	return b
}

func escapeKeySegment(name string) string {
	if !strings.ContainsAny(name, "/#%") {
		return name
	}
	return string(appendKeySegment(nil, name))
}

func appendKeySegment(b []byte, name string) []byte {
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case '/':
			b = append(b, "%2F"...)
		case '#':
			b = append(b, "%23"...)
		case '%':
			b = append(b, "%25"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// Invoker runs Task resources. The result is the raw task result, before
// ResultSelector and ResultPath; it must not be modified after return. An
// error of type *Error is reported with its name; any other error becomes
// States.TaskFailed. Invokers are called concurrently.
type Invoker interface {
	Invoke(ctx context.Context, req *TaskRequest) (any, error)
}

// InvokerFunc adapts a function to Invoker.
type InvokerFunc func(ctx context.Context, req *TaskRequest) (any, error)

// Invoke calls f.
func (f InvokerFunc) Invoke(ctx context.Context, req *TaskRequest) (any, error) { return f(ctx, req) }

// Inline is implemented by invokers that return at once without blocking
// (in-process computations, fixed results). The engine sets up no deadline
// for them, which saves a timer per execution. An invoker whose resources
// differ (a router) implements InlineResources instead; the engine asks
// that first.
type Inline interface {
	Inline() bool
}

// InlineResources is implemented by invokers that serve several resources,
// some of which return at once (see Inline): InlineFor says which.
type InlineResources interface {
	InlineFor(resource string) bool
}

// InlineFunc is an InvokerFunc that promises to return at once.
type InlineFunc func(ctx context.Context, req *TaskRequest) (any, error)

// Invoke calls f.
func (f InlineFunc) Invoke(ctx context.Context, req *TaskRequest) (any, error) { return f(ctx, req) }

// Inline reports true.
func (InlineFunc) Inline() bool { return true }

// InlineFor reports true: the function is the resource for every request.
func (InlineFunc) InlineFor(string) bool { return true }

// ObjectsOK is implemented by invokers that take a request's Input as the
// engine holds it, without its objects converted to plain maps: invokers
// of this module that serialise the input with the engine's own writer, or
// ignore it. The engine's objects are an internal type, so an invoker
// outside this module cannot read them and should not implement it.
//
// An invoker that accepts objects also promises to keep no part of a
// request's Input or Credentials once Invoke returns (copy what it
// needs): the memory of the engine's values, and of an input parsed with
// jsonv.Parser.ParseLeased, is reused once the execution's Result is
// released (Result.Release). Its result may share them (it ends with the
// execution); the engine copies the strings of an error it returns. An
// invoker that does not accept objects is given plain copies, which it
// may keep: the execution's memory is then not reused.
//
// An invoker whose resources differ implements ObjectResources instead;
// the engine asks that first.
type ObjectsOK interface {
	AcceptsObjects() bool
}

// ObjectResources is implemented by invokers that serve several resources,
// some of which accept the engine's objects (see ObjectsOK).
type ObjectResources interface {
	AcceptsObjectsFor(resource string) bool
}

// inline reports whether inv returns at once for resource.
func inline(inv Invoker, resource string) bool {
	switch i := inv.(type) {
	case InlineResources:
		return i.InlineFor(resource)
	case Inline:
		return i.Inline()
	}
	return false
}

// acceptsObjects reports whether inv takes the engine's objects for
// resource.
func acceptsObjects(inv Invoker, resource string) bool {
	switch i := inv.(type) {
	case ObjectResources:
		return i.AcceptsObjectsFor(resource)
	case ObjectsOK:
		return i.AcceptsObjects()
	}
	return false
}

// AcceptsObjectsFor reports whether the invoker for resource accepts objects.
func (r *Router) AcceptsObjectsFor(resource string) bool {
	inv, ok := r.routes[resource]
	if !ok {
		inv = r.fallback
	}
	a, ok := inv.(ObjectsOK)
	return ok && a.AcceptsObjects()
}

// InlineFor reports whether the invoker for resource is Inline.
func (r *Router) InlineFor(resource string) bool {
	inv, ok := r.routes[resource]
	if !ok {
		inv = r.fallback
	}
	il, ok := inv.(Inline)
	return ok && il.Inline()
}

// Router dispatches Task requests to invokers by exact Resource string, with
// an optional fallback. A Router is read-only after construction and safe for
// concurrent use.
type Router struct {
	routes   map[string]Invoker
	fallback Invoker
}

// NewRouter returns a Router for the given resource→invoker table.
func NewRouter(routes map[string]Invoker, fallback Invoker) *Router {
	r := &Router{routes: make(map[string]Invoker, len(routes)), fallback: fallback}
	for k, v := range routes {
		r.routes[k] = v
	}
	return r
}

// Has reports whether the router handles the resource.
func (r *Router) Has(resource string) bool {
	_, ok := r.routes[resource]
	return ok || r.fallback != nil
}

// Invoke sends req to the invoker registered for req.Resource.
func (r *Router) Invoke(ctx context.Context, req *TaskRequest) (any, error) {
	if inv, ok := r.routes[req.Resource]; ok {
		return inv.Invoke(ctx, req)
	}
	if r.fallback != nil {
		return r.fallback.Invoke(ctx, req)
	}
	return nil, Errorf(ErrTaskFailed, "no resource is configured for %q (state %q)", req.Resource, req.State)
}
