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
// and port, path prefix) once its dot segments are resolved ("/v1/../x" and
// "/v1/%2e%2e/x" are "/x"; an encoded slash or a backslash is refused), and
// the request goes to that resolved URL, as do redirects; no other
// outbound call can be made from record data. Every call has a timeout. Every call carries the execution name as
// its idempotency key: the Idempotency-Key header of HTTP requests and of
// produced records.
package resources

import (
	"errors"
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

// normalizePath rewrites u's path into the form that is checked against
// the allowlist and then sent: percent-encoded unreserved characters
// decoded ("%2e" is "."), other escapes in upper case, and the dot segments
// removed (RFC 3986, 6.2.2 and 5.2.4), so that "/v1/../admin" and
// "/v1/%2e%2e/admin" are "/admin". It refuses what a server might read as
// a separator or a dot segment that the check would not see: a backslash
// (plain or %5C), an encoded slash (%2F) and a dot segment with parameters
// ("..;x").
func normalizePath(u *url.URL) error {
	raw := u.EscapedPath()
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '\\':
			return fmt.Errorf("the path has a backslash")
		case c != '%':
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
			return fmt.Errorf("the path has an invalid escape")
		}
		d := unhex(raw[i+1])<<4 | unhex(raw[i+2])
		i += 2
		switch {
		case d == '/' || d == '\\':
			return fmt.Errorf("the path has an encoded slash or backslash")
		case unreserved(d):
			b.WriteByte(d)
		default:
			b.WriteString(strings.ToUpper(raw[i-2 : i+1]))
		}
	}
	p, err := removeDotSegments(b.String())
	if err != nil {
		return err
	}
	path, err := url.PathUnescape(p)
	if err != nil {
		return err
	}
	u.Path, u.RawPath = path, p
	return nil
}

// removeDotSegments is RFC 3986's remove_dot_segments for an absolute or
// empty path whose dot segments are written plainly.
func removeDotSegments(p string) (string, error) {
	if p == "" {
		return p, nil
	}
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			if j := strings.IndexByte(s, ';'); j >= 0 && (s[:j] == "." || s[:j] == "..") {
				return "", fmt.Errorf("the path has a dot segment with parameters (%q)", s)
			}
			out = append(out, s)
			continue
		}
		if last {
			out = append(out, "") // "/a/b/.." is "/a/"
		}
	}
	return "/" + strings.Join(out, "/"), nil
}

func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// allowed normalises u's path (normalizePath) and reports whether it is
// then under one of the allowlist entries. A path that cannot be
// normalised is refused with the reason.
func allowed(list []*url.URL, u *url.URL) error {
	if err := normalizePath(u); err != nil {
		return err
	}
	for _, a := range list {
		if allows(a, u) {
			return nil
		}
	}
	return errNotAllowed
}

var errNotAllowed = errors.New("not in the allowlist")

// allows reports whether u is under the allowlist entry a: same scheme and
// host (with port), and a path that is a's path or below it. Both paths
// are normalised (normalizePath).
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
