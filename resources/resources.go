// Package resources runs the Task resources of workflows served over Kafka:
// fixed results (static:JSON), Kafka publishing (kafka:TOPIC) and HTTP calls
// to configured URLs, so that existing Step Functions definitions run
// unchanged.
//
// A Resources value is built from a table RESOURCE → TARGET, where RESOURCE
// is one of:
//
//   - a Task Resource string, matched exactly: a Lambda function ARN, an
//     activity ARN, any custom string;
//   - an optimised integration, which sets its default target:
//     arn:aws:states:::lambda:invoke, arn:aws:states:::sns:publish,
//     arn:aws:states:::sqs:sendMessage, arn:aws:states:::events:putEvents,
//     arn:aws:states:::http:invoke;
//   - a target named inside an integration's parameters: a Lambda
//     FunctionName (name or ARN), an SNS TopicArn (ARN or topic name), an SQS
//     QueueUrl (URL or queue name), an EventBridge EventBusName (name or ARN).
//
// and TARGET is an http:// or https:// URL, kafka:TOPIC or static:JSON, or
// a target of a kind added with RegisterKind (see TargetKind).
//
// For arn:aws:states:::http:invoke the targets are an allowlist: a call's
// ApiEndpoint must start with one of the configured URLs (same scheme, host
// and port, path prefix) once its dot segments are resolved ("/v1/../x" and
// "/v1/%2e%2e/x" are "/x"; an encoded slash or a backslash is refused), and
// the request goes to that resolved URL, as do redirects; no other
// outbound call can be made from record data. Every call has a timeout.
//
// A Task whose Resource is a Lambda function ARN, or lambda:invoke, calls a
// URL target as the Lambda Invoke API is called and reads its answer as
// Step Functions reads Lambda's: function errors named by errorType,
// Lambda.* service errors, lambda:invoke's envelope (lambda_http.go). Other
// URL targets fail with States.Http.StatusCode.NNN.
//
// Every call carries its idempotency key (express.TaskRequest.CallKey:
// execution/iteration path/state, the same for each Retry attempt), its
// attempt and the headers the execution passes on (a trace context): the
// Idempotency-Key, Express-Attempt and propagated headers of HTTP requests
// and of produced records. docs/targets.md lists what a target receives.
//
// The code is a table: one file per kind of target (target_*.go, behind
// the TargetKind and Endpoint interfaces) and one per integration
// (integration_*.go), each registered by one line.
package resources

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/express"
)

// Defaults of Config.
const (
	DefaultHTTPTimeout  = 30 * time.Second
	DefaultKafkaTimeout = 30 * time.Second
	maxResponseBytes    = express.MaxPayloadBytes
)

// Producer publishes records; *kgo.Client implements it.
type Producer interface {
	ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults
}

// Config configures Resources.
type Config struct {
	// Routes maps a resource (see the package documentation) to its
	// targets. Only arn:aws:states:::http:invoke may have several (its
	// allowlist); the others use their first.
	Routes map[string][]Target
	// Producer publishes kafka: targets; it may be nil when no route has a
	// kafka: target, or when the Resources only validate.
	Producer Producer
	// HTTPClient defaults to a client with HTTPTimeout that follows no
	// redirect leaving the allowlist.
	HTTPClient *http.Client
	// HTTPTimeout and KafkaTimeout bound every call (default 30s each);
	// a Task's TimeoutSeconds and the execution deadline bound them too.
	HTTPTimeout  time.Duration
	KafkaTimeout time.Duration
}

// Resources is an express.Invoker for the configured targets. It is
// read-only after New and safe for concurrent use.
type Resources struct {
	cfg    Config // with its defaults: what Endpoint.Send gets
	routes map[string]Target
	allow  []*url.URL // http:invoke's allowlist
}

// New checks cfg and builds the invoker.
func New(cfg Config) (*Resources, error) {
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = DefaultHTTPTimeout
	}
	if cfg.KafkaTimeout <= 0 {
		cfg.KafkaTimeout = DefaultKafkaTimeout
	}
	r := &Resources{cfg: cfg, routes: map[string]Target{}}
	keys := make([]string, 0, len(cfg.Routes))
	for k := range cfg.Routes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ts := cfg.Routes[k]
		if len(ts) == 0 {
			return nil, fmt.Errorf("resource %q: no target", k)
		}
		for _, t := range ts {
			if err := t.check(); err != nil {
				return nil, fmt.Errorf("resource %q: %v", k, err)
			}
		}
		if in := integrationFor(k); in != nil && in.resource == k && in.routes != nil {
			if err := in.routes(r, ts); err != nil {
				return nil, fmt.Errorf("resource %q: %v", k, err)
			}
			continue
		}
		if len(ts) > 1 {
			return nil, fmt.Errorf("resource %q: %d targets, want one", k, len(ts))
		}
		r.routes[k] = ts[0]
	}
	// short names of mapped ARNs and URLs, for lookups by name
	for _, k := range keys {
		t, ok := r.routes[k]
		if !ok {
			continue
		}
		for _, in := range integrations {
			if in.short == nil {
				continue
			}
			if short := in.short(k); short != "" {
				if _, taken := r.routes[short]; !taken {
					r.routes[short] = t
				}
				break
			}
		}
	}
	if r.cfg.HTTPClient == nil {
		r.cfg.HTTPClient = &http.Client{Timeout: cfg.HTTPTimeout, CheckRedirect: r.checkRedirect}
	}
	return r, nil
}

// lookup finds the target for a name used inside an integration, trying
// the full value and then its short name.
func (r *Resources) lookup(full, short string) (Target, bool) {
	if t, ok := r.routes[full]; ok && full != "" {
		return t, true
	}
	if t, ok := r.routes[short]; ok && short != "" {
		return t, true
	}
	return Target{}, false
}

// plainTarget finds the target of a plain Task resource: mapped as it is
// or, for a function ARN, by the function's name.
func (r *Resources) plainTarget(resource string) (Target, bool) {
	if t, ok := r.routes[resource]; ok && resource != "" {
		return t, true // the usual case: no short name to derive
	}
	return r.lookup("", lambdaNameIfLambda(resource))
}

// CheckResource reports whether a Task Resource can be served; use it as
// compile.Options.CheckResource so that a definition naming an unmapped
// resource is rejected before consuming.
func (r *Resources) CheckResource(resource string) error {
	if strings.HasSuffix(resource, ".waitForTaskToken") {
		return fmt.Errorf("%q: callback tasks (.waitForTaskToken) are not supported by Express workflows", resource)
	}
	if in := integrationFor(resource); in != nil {
		return in.check(r, resource)
	}
	if _, ok := r.plainTarget(resource); ok {
		return nil
	}
	return fmt.Errorf("no target is configured for %q: add --resource %s=%s", resource, resource, kindForms())
}

// InlineFor reports whether resource returns a fixed result at once: a
// plain resource whose target's Endpoint says it is inline (static:). An
// integration is not: its parameters may name any target.
func (r *Resources) InlineFor(resource string) bool {
	t, ok := r.routes[resource]
	return ok && inline(t.Endpoint) && integrationFor(resource) == nil
}

// AcceptsObjectsFor reports whether the requests for resource may carry the
// engine's *jsonv.Object values (express.ObjectsOK): a plain resource whose
// target's Endpoint accepts them (static results ignore their input, URL
// and Kafka targets write it with jsonv). The optimised integrations read
// their parameters as maps.
func (r *Resources) AcceptsObjectsFor(resource string) bool {
	if integrationFor(resource) != nil {
		return false
	}
	t, ok := r.plainTarget(resource)
	return ok && acceptsObjects(t.Endpoint)
}

// Invoke runs a Task request: an integration's, or a plain resource's,
// whose target gets the input.
func (r *Resources) Invoke(ctx context.Context, req *express.TaskRequest) (any, error) {
	if in := integrationFor(req.Resource); in != nil {
		return in.run(ctx, r, req)
	}
	t, ok := r.plainTarget(req.Resource)
	if !ok {
		return nil, express.Errorf(express.ErrTaskFailed, "no target is configured for resource %q (state %q)", req.Resource, req.State)
	}
	// A function ARN is called as Lambda is (lambda_http.go).
	lambda := strings.HasPrefix(req.Resource, "arn:aws:lambda:")
	rp, err := t.Endpoint.Send(ctx, &r.cfg, req, Message{Body: req.Input, Value: req.Input, Lambda: lambda})
	if err != nil {
		return nil, err
	}
	answered(req, rp)
	return rp.plain(), nil
}
