package resources

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// Integration resource strings handled specially.
const (
	LambdaInvoke = "arn:aws:states:::lambda:invoke"
	SNSPublish   = "arn:aws:states:::sns:publish"
	SQSSend      = "arn:aws:states:::sqs:sendMessage"
	EventsPut    = "arn:aws:states:::events:putEvents"
	HTTPInvoke   = "arn:aws:states:::http:invoke"
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
	cfg    Config
	routes map[string]Target
	allow  []*url.URL
	client *http.Client
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
		if k == HTTPInvoke {
			for _, t := range ts {
				if t.Kind != KindHTTP {
					return nil, fmt.Errorf("resource %q: target %q: http:invoke targets are URL prefixes (the allowlist)", k, t)
				}
				a := *t.URL
				if err := normalizePath(&a); err != nil {
					return nil, fmt.Errorf("resource %q: target %q: %v", k, t, err)
				}
				r.allow = append(r.allow, &a)
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
		short := ""
		switch {
		case strings.HasPrefix(k, "arn:aws:lambda:"):
			short = lambdaName(k)
		case strings.HasPrefix(k, "arn:aws:sns:"):
			short = lastSegment(k, ":")
		case strings.HasPrefix(k, "arn:aws:events:"):
			short = lastSegment(k, "/")
		case strings.HasPrefix(k, "https://sqs.") || strings.HasPrefix(k, "http://sqs."):
			short = lastSegment(strings.TrimSuffix(k, "/"), "/")
		}
		if _, taken := r.routes[short]; short != "" && !taken {
			r.routes[short] = t
		}
	}
	r.client = cfg.HTTPClient
	if r.client == nil {
		r.client = &http.Client{Timeout: cfg.HTTPTimeout, CheckRedirect: r.checkRedirect}
	}
	return r, nil
}

func (r *Resources) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	// As for ApiEndpoint: the redirect goes to the normalised URL, the one
	// that is checked.
	written := req.URL.Redacted()
	err := allowed(r.allow, req.URL)
	if err == nil {
		return nil
	}
	if err != errNotAllowed {
		return fmt.Errorf("redirect to %s is not allowed: %v", written, err)
	}
	// a fixed target may redirect below itself
	for _, t := range r.routes {
		if t.Kind == KindHTTP && allows(t.URL, req.URL) {
			return nil
		}
	}
	return fmt.Errorf("redirect to %s is not allowed", written)
}

func baseResource(res string) string {
	res = strings.TrimSuffix(res, ".sync")
	res = strings.TrimSuffix(res, ":2")
	return res
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

func lambdaName(fn string) string {
	if i := strings.Index(fn, ":function:"); i >= 0 {
		fn = fn[i+len(":function:"):]
	}
	if i := strings.IndexByte(fn, ':'); i >= 0 {
		fn = fn[:i] // qualifier
	}
	return fn
}

func lastSegment(s, sep string) string {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[i+len(sep):]
	}
	return s
}

// CheckResource reports whether a Task Resource can be served; use it as
// compile.Options.CheckResource so that a definition naming an unmapped
// resource is rejected before consuming.
func (r *Resources) CheckResource(resource string) error {
	if strings.HasSuffix(resource, ".waitForTaskToken") {
		return fmt.Errorf("%q: callback tasks (.waitForTaskToken) are not supported by Express workflows", resource)
	}
	switch baseResource(resource) {
	case HTTPInvoke:
		if len(r.allow) == 0 {
			return fmt.Errorf("%q: no URL is allowed: add --resource %s=https://host/path/ (an allowlist prefix)", resource, HTTPInvoke)
		}
		return nil
	case LambdaInvoke, SNSPublish, SQSSend, EventsPut:
		if len(r.routes) == 0 {
			return fmt.Errorf("no target is configured for %q: add --resource %s=URL|kafka:TOPIC|static:JSON, or map the function/topic/queue/bus it names", resource, resource)
		}
		return nil
	}
	if _, ok := r.lookup(resource, lambdaNameIfLambda(resource)); ok {
		return nil
	}
	return fmt.Errorf("no target is configured for %q: add --resource %s=URL|kafka:TOPIC|static:JSON", resource, resource)
}

func lambdaNameIfLambda(res string) string {
	if strings.HasPrefix(res, "arn:aws:lambda:") {
		return lambdaName(res)
	}
	return ""
}

// InlineFor reports whether resource returns a fixed result at once.
func (r *Resources) InlineFor(resource string) bool {
	t, ok := r.routes[resource]
	return ok && t.Kind == KindStatic
}

// AcceptsObjectsFor reports whether the requests for resource may carry the
// engine's *jsonv.Object values (express.ObjectsOK): a static result ignores
// its input, and plain HTTP and Kafka targets write it with jsonv. The
// optimised integrations read their parameters as maps.
func (r *Resources) AcceptsObjectsFor(resource string) bool {
	switch baseResource(resource) {
	case HTTPInvoke, LambdaInvoke, SNSPublish, SQSSend, EventsPut:
		return false
	}
	if _, ok := r.routes[resource]; ok {
		return true // the usual case, asked per Task: no short name to derive
	}
	_, ok := r.lookup(resource, lambdaNameIfLambda(resource))
	return ok
}

// Invoke runs a Task request.
func (r *Resources) Invoke(ctx context.Context, req *express.TaskRequest) (any, error) {
	switch baseResource(req.Resource) {
	case HTTPInvoke:
		return r.httpInvoke(ctx, req)
	case LambdaInvoke:
		return r.lambdaInvoke(ctx, req)
	case SNSPublish:
		return r.snsPublish(ctx, req)
	case SQSSend:
		return r.sqsSend(ctx, req)
	case EventsPut:
		return r.eventsPut(ctx, req)
	}
	t, ok := r.lookup(req.Resource, lambdaNameIfLambda(req.Resource))
	if !ok {
		return nil, express.Errorf(express.ErrTaskFailed, "no target is configured for resource %q (state %q)", req.Resource, req.State)
	}
	switch t.Kind {
	case KindStatic:
		req.ResultSize = t.size
		return t.Static, nil
	case KindHTTP:
		return r.post(ctx, req, t.URL, req.Input)
	default:
		rec := &kgo.Record{Topic: t.Topic, Value: jsonv.AppendJSON(nil, req.Input)}
		if err := r.produce(ctx, req, rec); err != nil {
			return nil, err
		}
		return map[string]any{"Topic": rec.Topic, "Partition": int64(rec.Partition), "Offset": rec.Offset}, nil
	}
}

func obj(req *express.TaskRequest) (map[string]any, error) {
	m, ok := req.Input.(map[string]any)
	if !ok {
		return nil, express.Errorf(express.ErrRuntime, "the parameters of %s must be an object", req.Resource)
	}
	return m, nil
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// post sends v as JSON to u and returns the JSON response.
func (r *Resources) post(ctx context.Context, req *express.TaskRequest, u *url.URL, v any) (any, error) {
	body := jsonv.AppendJSON(nil, v) // plain values or the engine's objects
	ctx, cancel := context.WithTimeout(ctx, r.cfg.HTTPTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, express.Errorf(express.ErrTaskFailed, "%v", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Idempotency-Key", req.Execution)
	_, b, err := r.do(ctx, hr, u, u.Redacted())
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	v, err = jsonv.ParsePlain(b)
	if err != nil {
		return nil, express.Errorf(express.ErrTaskFailed, "%s returned a body that is not JSON: %v", u.Redacted(), err)
	}
	return v, nil
}

// do sends hr and reads its response body, bounded by maxResponseBytes. A
// failed call, an oversized body or a non-2xx status is an error naming
// what (the request as the error messages show it).
func (r *Resources) do(ctx context.Context, hr *http.Request, u *url.URL, what string) (*http.Response, []byte, error) {
	resp, err := r.client.Do(hr)
	if err != nil {
		return nil, nil, httpError(ctx, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, nil, httpError(ctx, err)
	}
	if len(b) > maxResponseBytes {
		return nil, nil, express.Errorf(express.ErrDataLimitExceeded, "the response of %s is over %d bytes", u.Redacted(), maxResponseBytes)
	}
	if resp.StatusCode/100 != 2 {
		return nil, nil, express.Errorf(httpStatusError(resp.StatusCode), "%s returned %s: %s", what, resp.Status, snippet(b))
	}
	return resp, b, nil
}

func httpStatusError(code int) string { return "States.Http.StatusCode." + strconv.Itoa(code) }

func httpError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err() // the engine turns it into States.Timeout
	}
	return express.Errorf("States.Http.Socket", "%v", err)
}

func snippet(b []byte) string {
	if len(b) > 256 {
		return string(b[:256]) + "…"
	}
	return string(b)
}

// lambdaInvoke: Parameters {FunctionName, Payload}; result {ExecutedVersion,
// Payload, StatusCode} as AWS's optimised integration returns it.
func (r *Resources) lambdaInvoke(ctx context.Context, req *express.TaskRequest) (any, error) {
	m, err := obj(req)
	if err != nil {
		return nil, err
	}
	fn := str(m, "FunctionName")
	t, ok := r.lookup(fn, lambdaName(fn))
	if !ok {
		t, ok = r.routes[LambdaInvoke]
	}
	if !ok {
		return nil, express.Errorf(express.ErrTaskFailed, "no target is configured for Lambda function %q (state %q)", fn, req.State)
	}
	var payload any
	switch t.Kind {
	case KindStatic:
		payload = t.Static
	case KindHTTP:
		payload, err = r.post(ctx, req, t.URL, m["Payload"])
	default:
		rec := &kgo.Record{Topic: t.Topic, Value: jsonv.AppendJSON(nil, m["Payload"]), Key: []byte(lambdaName(fn))}
		if err = r.produce(ctx, req, rec); err == nil {
			payload = map[string]any{"Topic": rec.Topic, "Partition": int64(rec.Partition), "Offset": rec.Offset}
		}
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"ExecutedVersion": "$LATEST", "Payload": payload, "StatusCode": int64(200)}, nil
}

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

// message returns v as record bytes: a string as is, anything else as JSON.
func message(v any) []byte {
	if s, ok := v.(string); ok {
		return []byte(s)
	}
	return jsonv.AppendJSON(nil, v)
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

func (r *Resources) snsPublish(ctx context.Context, req *express.TaskRequest) (any, error) {
	m, err := obj(req)
	if err != nil {
		return nil, err
	}
	arn := str(m, "TopicArn")
	if arn == "" {
		arn = str(m, "TargetArn")
	}
	t, err := r.target(req, arn, lastSegment(arn, ":"))
	if err != nil {
		return nil, err
	}
	if res, done, err := r.notKafka(ctx, req, t, m); done {
		return res, err
	}
	rec, err := r.publish(ctx, req, t, m, "Message", "Subject")
	if err != nil {
		return nil, err
	}
	return map[string]any{"MessageId": messageID(req, rec)}, nil
}

// notKafka answers a publishing Task whose target is a fixed result or an
// HTTP endpoint; done is false for a Kafka target.
func (r *Resources) notKafka(ctx context.Context, req *express.TaskRequest, t Target, m map[string]any) (res any, done bool, err error) {
	switch t.Kind {
	case KindStatic:
		req.ResultSize = t.size
		return t.Static, true, nil
	case KindHTTP:
		res, err := r.post(ctx, req, t.URL, m)
		return res, true, err
	}
	return nil, false, nil
}

// publish produces the message in m[bodyField] to the target's topic, keyed
// by MessageGroupId, with the message attributes and m[headerField] (when
// set) as headers, as SNS and SQS targets do.
func (r *Resources) publish(ctx context.Context, req *express.TaskRequest, t Target, m map[string]any, bodyField, headerField string) (*kgo.Record, error) {
	rec := &kgo.Record{Topic: t.Topic, Value: message(m[bodyField]), Headers: attributes(m)}
	if g := str(m, "MessageGroupId"); g != "" {
		rec.Key = []byte(g)
	}
	if h := str(m, headerField); h != "" {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: headerField, Value: []byte(h)})
	}
	if err := r.produce(ctx, req, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

func (r *Resources) sqsSend(ctx context.Context, req *express.TaskRequest) (any, error) {
	m, err := obj(req)
	if err != nil {
		return nil, err
	}
	q := str(m, "QueueUrl")
	t, err := r.target(req, q, lastSegment(strings.TrimSuffix(q, "/"), "/"))
	if err != nil {
		return nil, err
	}
	if res, done, err := r.notKafka(ctx, req, t, m); done {
		return res, err
	}
	rec, err := r.publish(ctx, req, t, m, "MessageBody", "MessageDeduplicationId")
	if err != nil {
		return nil, err
	}
	sum := md5hex(rec.Value)
	return map[string]any{"MessageId": messageID(req, rec), "MD5OfMessageBody": sum}, nil
}

func (r *Resources) eventsPut(ctx context.Context, req *express.TaskRequest) (any, error) {
	m, err := obj(req)
	if err != nil {
		return nil, err
	}
	entries, _ := m["Entries"].([]any)
	if len(entries) == 0 {
		return nil, express.Errorf(express.ErrRuntime, "events:putEvents needs a non-empty Entries array")
	}
	out := make([]any, 0, len(entries))
	for i, e := range entries {
		em, ok := e.(map[string]any)
		if !ok {
			return nil, express.Errorf(express.ErrRuntime, "Entries[%d] is not an object", i)
		}
		bus := str(em, "EventBusName")
		if bus == "" {
			bus = "default"
		}
		t, err := r.target(req, bus, lastSegment(bus, "/"))
		if err != nil {
			return nil, err
		}
		switch t.Kind {
		case KindStatic:
			req.ResultSize = t.size
			return t.Static, nil
		case KindHTTP:
			return r.post(ctx, req, t.URL, m)
		}
		detail := em["Detail"]
		if s, ok := detail.(string); ok {
			if v, err := jsonv.ParsePlain([]byte(s)); err == nil {
				detail = v
			}
		}
		env := map[string]any{"version": "0", "detail-type": em["DetailType"], "source": em["Source"],
			"time": time.Now().UTC().Format(time.RFC3339), "resources": em["Resources"], "detail": detail}
		if env["resources"] == nil {
			env["resources"] = []any{}
		}
		rec := &kgo.Record{Topic: t.Topic, Value: jsonv.AppendJSON(nil, env)}
		if s := str(em, "Source"); s != "" {
			rec.Key = []byte(s)
		}
		if err := r.produce(ctx, req, rec); err != nil {
			return nil, err
		}
		out = append(out, map[string]any{"EventId": messageID(req, rec)})
	}
	return map[string]any{"Entries": out, "FailedEntryCount": int64(0)}, nil
}

// produce publishes rec synchronously with the idempotency headers.
func (r *Resources) produce(ctx context.Context, req *express.TaskRequest, rec *kgo.Record) error {
	if r.cfg.Producer == nil {
		return express.Errorf(express.ErrTaskFailed, "no Kafka producer is configured for topic %q", rec.Topic)
	}
	rec.Headers = append(rec.Headers,
		kgo.RecordHeader{Key: "Idempotency-Key", Value: []byte(req.Execution)},
		kgo.RecordHeader{Key: "express-workflow", Value: []byte(req.Workflow)},
		kgo.RecordHeader{Key: "express-state", Value: []byte(req.State)},
	)
	ctx, cancel := context.WithTimeout(ctx, r.cfg.KafkaTimeout)
	defer cancel()
	if err := r.cfg.Producer.ProduceSync(ctx, rec).FirstErr(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return express.Errorf(express.ErrTaskFailed, "publishing to %q: %v", rec.Topic, err)
	}
	return nil
}

// messageID is a stable UUID-shaped id of a produced record.
func messageID(req *express.TaskRequest, rec *kgo.Record) string {
	h := sha1.Sum([]byte(req.Execution + "\x00" + req.State + "\x00" + rec.Topic + "\x00" +
		strconv.Itoa(int(rec.Partition)) + "\x00" + strconv.FormatInt(rec.Offset, 10)))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
