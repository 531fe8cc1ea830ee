package express

import (
	"context"
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
	// cause side effects should pass it on (an Idempotency-Key header, a
	// record header) so that a re-delivered record does not act twice.
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
// outside this module cannot read them and should not implement it. An
// invoker whose resources differ implements ObjectResources instead; the
// engine asks that first.
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
