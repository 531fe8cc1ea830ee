package resources

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// integration is an optimised integration: a Task Resource whose
// parameters say what to send, and where. Each has its own file
// (integration_*.go) and one line registering it:
//
//	func init() { registerIntegration(snsPublish) }
//
// C is the integration's own request: what build reads from the Task's
// parameters and invoke sends.
type integration[C any] struct {
	// resource is the Task Resource, without the ".sync" or ":2" that a
	// Task may add.
	resource string
	// short returns the name by which the integration's parameters may
	// name the target of route key k ("enrich" for a function ARN), ""
	// when k names none of its targets. Optional.
	short func(k string) string
	// routes takes the targets configured for resource itself when they
	// are not its one default target (http:invoke's allowlist). Optional.
	routes func(r *Resources, ts []Target) error
	// check reports whether r can serve a Task naming resource
	// (CheckResource).
	check func(r *Resources, resource string) error
	// build reads the Task's parameters into the request.
	build func(r *Resources, req *express.TaskRequest, params map[string]any) (C, error)
	// invoke sends the request and returns the Task's result.
	invoke func(ctx context.Context, r *Resources, req *express.TaskRequest, c C) (any, error)
}

// registered is an integration with its request type erased.
type registered struct {
	resource string
	short    func(k string) string
	routes   func(r *Resources, ts []Target) error
	check    func(r *Resources, resource string) error
	run      func(ctx context.Context, r *Resources, req *express.TaskRequest) (any, error)
}

// integrations, sorted by resource, and the prefix all their resources
// share ("arn:aws:states:::"), which spares the plain Tasks' lookups.
var (
	integrations       []*registered
	integrationsPrefix string
)

func registerIntegration[C any](in integration[C]) {
	if in.resource == "" || in.check == nil || in.build == nil || in.invoke == nil {
		panic("resources: an integration needs a resource, check, build and invoke")
	}
	if integrationFor(in.resource) != nil {
		panic("resources: integration " + in.resource + " registered twice")
	}
	integrations = append(integrations, &registered{
		resource: in.resource, short: in.short, routes: in.routes, check: in.check,
		run: func(ctx context.Context, r *Resources, req *express.TaskRequest) (any, error) {
			m, ok := req.Input.(map[string]any)
			if !ok {
				return nil, express.Errorf(express.ErrRuntime, "the parameters of %s must be an object", req.Resource)
			}
			c, err := in.build(r, req, m)
			if err != nil {
				return nil, err
			}
			return in.invoke(ctx, r, req, c)
		},
	})
	sort.Slice(integrations, func(i, j int) bool { return integrations[i].resource < integrations[j].resource })
	integrationsPrefix = integrations[0].resource
	for _, o := range integrations[1:] {
		for !strings.HasPrefix(o.resource, integrationsPrefix) {
			integrationsPrefix = integrationsPrefix[:len(integrationsPrefix)-1]
		}
	}
}

// integrationFor returns the integration a Task Resource names, nil for a
// plain resource. A few string comparisons: it is on every Task's path.
func integrationFor(resource string) *registered {
	if !strings.HasPrefix(resource, integrationsPrefix) {
		return nil
	}
	resource = baseResource(resource)
	for _, in := range integrations {
		if in.resource == resource {
			return in
		}
	}
	return nil
}

// checkRoutes is the check of the integrations whose parameters name
// their targets: any route may be the one named.
func checkRoutes(r *Resources, resource string) error {
	if len(r.routes) == 0 {
		return fmt.Errorf("no target is configured for %q: add --resource %s=%s, or map the function/topic/queue/bus it names", resource, resource, kindForms())
	}
	return nil
}

// baseResource is a Task Resource without the ".sync" or ":2" that
// Tasks may add to an integration's.
func baseResource(res string) string {
	res = strings.TrimSuffix(res, ".sync")
	res = strings.TrimSuffix(res, ":2")
	return res
}

// call is a request of the integrations that send one Message to one
// target.
type call struct {
	target Target
	msg    Message
}

func (r *Resources) send(ctx context.Context, req *express.TaskRequest, c call) (Reply, error) {
	return c.target.Endpoint.Send(ctx, &r.cfg, req, c.msg)
}

// answered returns the result of a target that answered and passes its
// size on to the engine.
func answered(req *express.TaskRequest, rp Reply) any {
	if rp.Size > 0 {
		req.ResultSize = rp.Size
	}
	return rp.Result
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// target finds the target a Task's parameters name (full, or its short
// name), or else the integration's default target.
func (r *Resources) target(req *express.TaskRequest, full, short string) (Target, error) {
	t, ok := r.lookup(full, short)
	if !ok {
		t, ok = r.routes[baseResource(req.Resource)]
	}
	if !ok {
		return Target{}, express.Errorf(express.ErrTaskFailed, "no target is configured for %q of %s (state %q)", full, req.Resource, req.State)
	}
	return t, nil
}

func lastSegment(s, sep string) string {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[i+len(sep):]
	}
	return s
}

// message returns v as record bytes: a string as is, anything else as JSON.
func message(v any) []byte {
	if s, ok := v.(string); ok {
		return []byte(s)
	}
	return jsonv.AppendJSON(nil, v)
}

// queueMessage is the Message of sns:publish and sqs:sendMessage: the
// parameters to a target that answers; to one that publishes, the message
// in m[bodyField], keyed by MessageGroupId, with the message attributes
// and m[headerField] (when set) as headers.
func queueMessage(m map[string]any, bodyField, headerField string) Message {
	msg := Message{Body: m, Value: message(m[bodyField]), Headers: attributes(m)}
	if g := str(m, "MessageGroupId"); g != "" {
		msg.Key = []byte(g)
	}
	if h := str(m, headerField); h != "" {
		msg.Headers = append(msg.Headers, kgo.RecordHeader{Key: headerField, Value: []byte(h)})
	}
	return msg
}

// attributes turns SNS/SQS MessageAttributes into headers.
func attributes(m map[string]any) []kgo.RecordHeader {
	attrs, _ := m["MessageAttributes"].(map[string]any)
	var hs []kgo.RecordHeader
	for k, v := range attrs {
		a, _ := v.(map[string]any)
		if s, ok := a["StringValue"].(string); ok {
			hs = append(hs, kgo.RecordHeader{Key: k, Value: []byte(s)})
		}
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].Key < hs[j].Key })
	return hs
}

// messageID is a stable UUID-shaped id of a published message.
func messageID(req *express.TaskRequest, rp Reply) string {
	return callUUID(req.Execution + "\x00" + req.State + "\x00" + rp.Topic + "\x00" +
		strconv.Itoa(int(rp.Partition)) + "\x00" + strconv.FormatInt(rp.Offset, 10))
}
