package resources

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// HTTPInvoke is the HTTPS endpoint integration: Parameters ApiEndpoint,
// Method, Headers, QueryParameters, RequestBody and Transform
// (URL_ENCODED bodies; Authentication and ConnectionArn are ignored). Its
// targets are an allowlist of URL prefixes (see allowed in
// target_http.go), not a default target. The result is {Headers,
// ResponseBody, StatusCode, StatusText}; a status outside 2xx fails with
// States.Http.StatusCode.NNN.
const HTTPInvoke = "arn:aws:states:::http:invoke"

func init() { registerIntegration(httpInvoke) }

var httpMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "DELETE": true, "PATCH": true, "HEAD": true, "OPTIONS": true}

// httpCall is the request an http:invoke Task makes.
type httpCall struct {
	method      string
	url         *url.URL // normalised and allowed, with the query
	body        io.Reader
	contentType string
	headers     map[string]any
}

var httpInvoke = integration[httpCall]{
	resource: HTTPInvoke,
	routes: func(r *Resources, ts []Target) error {
		list, err := allowList(ts)
		r.allow = append(r.allow, list...)
		return err
	},
	check: func(r *Resources, resource string) error {
		if len(r.allow) == 0 {
			return fmt.Errorf("%q: no URL is allowed: add --resource %s=https://host/path/ (an allowlist prefix)", resource, HTTPInvoke)
		}
		return nil
	},
	build:  buildHTTP,
	invoke: invokeHTTP,
}

func buildHTTP(r *Resources, req *express.TaskRequest, m map[string]any) (httpCall, error) {
	ep := str(m, "ApiEndpoint")
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return httpCall{}, express.Errorf(express.ErrRuntime, "ApiEndpoint %q is not an http(s) URL", ep)
	}
	// The request goes to the normalised URL, the one that was checked.
	written := u.Redacted()
	if err := allowed(r.allow, u); err == errNotAllowed {
		if n := u.Redacted(); n != written {
			written += " (" + n + " once its dot segments are resolved)"
		}
		return httpCall{}, express.Errorf(express.ErrPermissions, "ApiEndpoint %s is not in the allowlist of %s", written, HTTPInvoke)
	} else if err != nil {
		return httpCall{}, express.Errorf(express.ErrPermissions, "ApiEndpoint %s is refused: %v", written, err)
	}
	c := httpCall{method: strings.ToUpper(str(m, "Method")), url: u}
	if !httpMethods[c.method] {
		return httpCall{}, express.Errorf(express.ErrRuntime, "Method %q is not one of GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS", str(m, "Method"))
	}
	if qp, ok := m["QueryParameters"].(map[string]any); ok {
		q := u.Query()
		for k, v := range qp {
			switch x := v.(type) {
			case []any:
				for _, e := range x {
					q.Add(k, scalar(e))
				}
			default:
				q.Set(k, scalar(x))
			}
		}
		u.RawQuery = q.Encode()
	}
	switch b := m["RequestBody"].(type) {
	case nil:
	case string:
		c.body = strings.NewReader(b)
	default:
		if enc, format := transform(m); enc == "URL_ENCODED" {
			obj, ok := b.(map[string]any)
			if !ok {
				return httpCall{}, express.Errorf(express.ErrRuntime, "a URL_ENCODED RequestBody must be an object")
			}
			c.body = strings.NewReader(urlEncode(obj, format))
			c.contentType = "application/x-www-form-urlencoded"
			break
		}
		c.body = bytes.NewReader(jsonv.AppendJSON(nil, b))
		c.contentType = "application/json"
	}
	c.headers, _ = m["Headers"].(map[string]any)
	return c, nil
}

func invokeHTTP(ctx context.Context, r *Resources, req *express.TaskRequest, c httpCall) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.HTTPTimeout)
	defer cancel()
	u := c.url
	hr, err := http.NewRequestWithContext(ctx, c.method, u.String(), c.body)
	if err != nil {
		return nil, express.Errorf(express.ErrRuntime, "%v", err)
	}
	callHeaders(hr.Header, req)
	if c.contentType != "" {
		hr.Header.Set("Content-Type", c.contentType)
	}
	for k, v := range c.headers {
		hr.Header.Set(k, scalar(v))
	}
	resp, b, err := do(ctx, &r.cfg, hr, u, c.method+" "+u.Redacted())
	if err != nil {
		return nil, err
	}
	var rb any
	if len(bytes.TrimSpace(b)) > 0 {
		if v, err := jsonv.ParsePlain(b); err == nil {
			rb = v
		} else {
			rb = string(b)
		}
	}
	headers := map[string]any{}
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vs := make([]any, len(resp.Header[k]))
		for i, v := range resp.Header[k] {
			vs[i] = v
		}
		headers[strings.ToLower(k)] = vs
	}
	status := resp.Status
	if i := strings.IndexByte(status, ' '); i >= 0 {
		status = status[i+1:]
	}
	return map[string]any{"Headers": headers, "ResponseBody": rb, "StatusCode": int64(resp.StatusCode), "StatusText": status}, nil
}
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// transform reads Transform.RequestBodyEncoding and its ArrayFormat
// (INDICES by default, as AWS does).
func transform(m map[string]any) (encoding, arrayFormat string) {
	t, _ := m["Transform"].(map[string]any)
	encoding, _ = t["RequestBodyEncoding"].(string)
	opts, _ := t["RequestEncodingOptions"].(map[string]any)
	arrayFormat, _ = opts["ArrayFormat"].(string)
	if arrayFormat == "" {
		arrayFormat = "INDICES"
	}
	return encoding, arrayFormat
}

// urlEncode form-encodes an object; nested objects use key[sub] names and
// arrays follow format: INDICES (a[0]=x), REPEAT (a=x&a=y), COMMAS (a=x,y)
// or BRACKETS (a[]=x).
func urlEncode(obj map[string]any, format string) string {
	q := url.Values{}
	var add func(name string, v any)
	add = func(name string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				add(name+"["+k+"]", e)
			}
		case []any:
			if format == "COMMAS" {
				parts := make([]string, len(x))
				for i, e := range x {
					parts[i] = scalar(e)
				}
				q.Add(name, strings.Join(parts, ","))
				return
			}
			for i, e := range x {
				switch format {
				case "REPEAT":
					add(name, e)
				case "BRACKETS":
					add(name+"[]", e)
				default:
					add(name+"["+strconv.Itoa(i)+"]", e)
				}
			}
		default:
			q.Add(name, scalar(x))
		}
	}
	for k, v := range obj {
		add(k, v)
	}
	return q.Encode()
}
