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
// and TARGET is an http:// or https:// URL, kafka:TOPIC or static:JSON.
//
// For arn:aws:states:::http:invoke the targets are an allowlist: a call's
// ApiEndpoint must start with one of the configured URLs (same scheme, host
// and port, path prefix); no other outbound call can be made from record
// data. Every call has a timeout. Every call carries the execution name as
// its idempotency key: the Idempotency-Key header of HTTP requests and of
// produced records.
package resources

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/stepstream/express/internal/jsonv"
)

// Kind is the kind of a Target.
type Kind int

// Target kinds.
const (
	KindHTTP Kind = iota + 1
	KindKafka
	KindStatic
)

// Target is where a resource's requests go.
type Target struct {
	Kind   Kind
	URL    *url.URL // KindHTTP
	Topic  string   // KindKafka
	Static any      // KindStatic: the fixed result (never modified)
	raw    string
	size   int // KindStatic: the result's size as compact JSON
}

// String returns the target as it was written.
func (t Target) String() string { return t.raw }

// ParseTarget parses "http://…", "https://…", "kafka:TOPIC" or
// "static:JSON".
func ParseTarget(s string) (Target, error) {
	switch {
	case strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://"):
		u, err := url.Parse(s)
		if err != nil {
			return Target{}, fmt.Errorf("%q: %v", s, err)
		}
		if u.Host == "" {
			return Target{}, fmt.Errorf("%q: the URL has no host", s)
		}
		if u.User != nil || u.Fragment != "" {
			return Target{}, fmt.Errorf("%q: the URL must not have user info or a fragment", s)
		}
		return Target{Kind: KindHTTP, URL: u, raw: s}, nil
	case strings.HasPrefix(s, "kafka:"):
		t := strings.TrimPrefix(s, "kafka:")
		if err := checkTopic(t); err != nil {
			return Target{}, fmt.Errorf("%q: %v", s, err)
		}
		return Target{Kind: KindKafka, Topic: t, raw: s}, nil
	case strings.HasPrefix(s, "static:"):
		v, err := jsonv.ParsePlain([]byte(strings.TrimPrefix(s, "static:")))
		if err != nil {
			return Target{}, fmt.Errorf("%q: the result is not valid JSON: %v", s, err)
		}
		return Target{Kind: KindStatic, Static: v, raw: s, size: len(jsonv.AppendJSON(nil, v))}, nil
	}
	return Target{}, fmt.Errorf("%q is not an http:// or https:// URL, kafka:TOPIC or static:JSON", s)
}

func checkTopic(t string) error {
	if t == "" {
		return fmt.Errorf("empty topic name")
	}
	if len(t) > 249 {
		return fmt.Errorf("topic name longer than 249 characters")
	}
	if t == "." || t == ".." {
		return fmt.Errorf("topic name %q is not allowed", t)
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("topic name %q has %q (allowed: letters, digits, '.', '_', '-')", t, c)
		}
	}
	return nil
}

// CheckTopic reports whether t is a valid Kafka topic name.
func CheckTopic(t string) error { return checkTopic(t) }

// allows reports whether u is under the allowlist entry a: same scheme and
// host (with port), and a path that is a's path or below it.
func allows(a, u *url.URL) bool {
	if !strings.EqualFold(a.Scheme, u.Scheme) || !strings.EqualFold(a.Host, u.Host) {
		return false
	}
	ap := a.EscapedPath()
	up := u.EscapedPath()
	if ap == "" || ap == "/" {
		return true
	}
	if up == ap {
		return true
	}
	if !strings.HasSuffix(ap, "/") {
		ap += "/"
	}
	return strings.HasPrefix(up, ap)
}
