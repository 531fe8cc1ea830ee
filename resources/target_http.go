package resources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// KindHTTP targets, http:// and https:// URLs, receive each message's Body
// as a JSON POST and answer with the JSON response. They are also the
// allowlist of arn:aws:states:::http:invoke (URL prefixes): this file
// holds how URLs are checked against it, for calls and for redirects.
const KindHTTP Kind = "http"

func init() { RegisterKind(httpKind{}) }

type httpKind struct{}

func (httpKind) Name() Kind { return KindHTTP }

func (httpKind) Syntax() Syntax {
	return Syntax{Prefixes: []string{"http://", "https://"}, Form: "URL", Description: "an http:// or https:// URL"}
}

func (httpKind) Parse(s string, t *Target) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Host == "" {
		return fmt.Errorf("the URL has no host")
	}
	if u.User != nil || u.Fragment != "" {
		return fmt.Errorf("the URL must not have user info or a fragment")
	}
	t.URL = u
	t.Endpoint = &httpTarget{url: u}
	return nil
}

type httpTarget struct{ url *url.URL }

// Send posts msg.Body as JSON and returns the JSON response; a Lambda
// call (msg.Lambda) is made and read as Lambda's Invoke API (see
// lambda_http.go).
func (h *httpTarget) Send(ctx context.Context, cfg *Config, req *express.TaskRequest, msg Message) (Reply, error) {
	if msg.Lambda {
		return invokeLambda(ctx, cfg, req, h.url, msg.Body)
	}
	v, err := post(ctx, cfg, req, h.url, msg.Body)
	return Reply{Result: v}, err
}

// AcceptsObjects reports true: the body is written with jsonv.
func (*httpTarget) AcceptsObjects() bool { return true }

// post sends v as JSON to u and returns the JSON response.
func post(ctx context.Context, cfg *Config, req *express.TaskRequest, u *url.URL, v any) (any, error) {
	body := jsonv.AppendJSON(nil, v) // plain values or the engine's objects
	ctx, cancel := context.WithTimeout(ctx, cfg.HTTPTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, express.Errorf(express.ErrTaskFailed, "%v", err)
	}
	hr.Header["Content-Type"] = jsonContentType
	callHeaders(hr.Header, req)
	_, b, err := do(ctx, cfg, hr, u, u.Redacted())
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

// do sends hr with cfg.HTTPClient and reads its response body, bounded by
// maxResponseBytes. A failed call, an oversized body or a non-2xx status
// is an error naming what (the request as the error messages show it).
func do(ctx context.Context, cfg *Config, hr *http.Request, u *url.URL, what string) (*http.Response, []byte, error) {
	resp, err := cfg.HTTPClient.Do(hr)
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

// checkRedirect is the redirect policy of the default HTTP client: a
// redirect may go where http:invoke's allowlist allows, or below a URL
// target.
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
		if h, ok := t.Endpoint.(*httpTarget); ok && allows(h.url, req.URL) {
			return nil
		}
	}
	return fmt.Errorf("redirect to %s is not allowed", written)
}

// allowList turns the targets of http:invoke into its allowlist: URL
// prefixes, normalised (normalizePath).
func allowList(ts []Target) ([]*url.URL, error) {
	var list []*url.URL
	for _, t := range ts {
		h, ok := t.Endpoint.(*httpTarget)
		if !ok {
			return nil, fmt.Errorf("target %q: http:invoke targets are URL prefixes (the allowlist)", t)
		}
		a := *h.url
		if err := normalizePath(&a); err != nil {
			return nil, fmt.Errorf("target %q: %v", t, err)
		}
		list = append(list, &a)
	}
	return list, nil
}

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
