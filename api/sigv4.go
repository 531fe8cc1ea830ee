package api

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Credentials maps access key ids to their secret access keys.
type Credentials map[string]string

// ReadCredentials reads access keys from a file in the AWS shared
// credentials format (the one `aws configure` writes):
//
//	[default]
//	aws_access_key_id = AKIDEXAMPLE
//	aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
//
// Every section's key pair is accepted. A file with no complete pair is
// an error.
func ReadCredentials(path string) (Credentials, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	creds := Credentials{}
	var id, secret string
	flush := func() {
		if id != "" && secret != "" {
			creds[id] = secret
		}
		id, secret = "", ""
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			flush()
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("%s:%d: want key = value", path, n)
			}
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "aws_access_key_id":
				id = strings.TrimSpace(v)
			case "aws_secret_access_key":
				secret = strings.TrimSpace(v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	flush()
	if len(creds) == 0 {
		return nil, fmt.Errorf("%s: no aws_access_key_id with its aws_secret_access_key", path)
	}
	return creds, nil
}

// maxSkew is how far a request's X-Amz-Date may be from the server's
// clock, as AWS allows.
const maxSkew = 15 * time.Minute

func errSignature(format string, args ...any) *Error {
	return &Error{Type: "InvalidSignatureException", Message: fmt.Sprintf(format, args...), Namespace: nsCoral, Status: 400}
}

// verify checks a request's AWS Signature Version 4 (Authorization header,
// AWS4-HMAC-SHA256) against the configured credentials: the credential
// scope's key must be known (else UnrecognizedClientException), the service
// states, the date within maxSkew, and the signature recomputed over the
// canonical request must match (else InvalidSignatureException). An
// unsigned request is MissingAuthenticationTokenException.
func (s *Server) verify(r signedRequest, body []byte) error {
	auth := r.header("Authorization")
	if auth == "" {
		return &Error{Type: "MissingAuthenticationTokenException", Message: "Missing Authentication Token", Namespace: nsCoral, Status: 400}
	}
	const alg = "AWS4-HMAC-SHA256"
	rest, ok := strings.CutPrefix(auth, alg+" ")
	if !ok {
		return &Error{Type: "IncompleteSignatureException", Message: "Unsupported authorization type: only " + alg + " is accepted", Namespace: nsCoral}
	}
	var cred, signed, sig string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			sig = v
		}
	}
	scope := strings.Split(cred, "/")
	if len(scope) != 5 || signed == "" || sig == "" || scope[4] != "aws4_request" {
		return &Error{Type: "IncompleteSignatureException", Message: "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters, and a credential scope KEY/DATE/REGION/SERVICE/aws4_request", Namespace: nsCoral}
	}
	secret, known := s.o.Credentials[scope[0]]
	if !known {
		return &Error{Type: "UnrecognizedClientException", Message: "The security token included in the request is invalid.", Namespace: nsCoral}
	}
	amzDate := r.header("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return &Error{Type: "IncompleteSignatureException", Message: "X-Amz-Date is missing or not of the form YYYYMMDDTHHMMSSZ", Namespace: nsCoral}
	}
	if d := s.o.now().Sub(t); d > maxSkew || d < -maxSkew {
		return errSignature("Signature expired: %s is now earlier or later than %s by more than 15 minutes", amzDate, s.o.now().UTC().Format("20060102T150405Z"))
	}
	if scope[1] != amzDate[:8] {
		return errSignature("Credential should be scoped to a valid date: %s, not %s", amzDate[:8], scope[1])
	}
	if scope[3] != "states" {
		return errSignature("Credential should be scoped to correct service: 'states'.")
	}
	creq := canonicalRequest(r, signed, body)
	sum := sha256.Sum256([]byte(creq))
	sts := alg + "\n" + amzDate + "\n" + strings.Join(scope[1:], "/") + "\n" + hex.EncodeToString(sum[:])
	key := hmacSHA256([]byte("AWS4"+secret), scope[1])
	key = hmacSHA256(key, scope[2])
	key = hmacSHA256(key, scope[3])
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, sts))
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(sig))) != 1 {
		return errSignature("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// signedRequest is what a signature covers of a request, whichever front
// read it.
type signedRequest interface {
	method() string
	// escapedPath is the request's path as sent ("/" when empty).
	escapedPath() string
	query() url.Values
	host() string
	// contentLength is the Content-Length header's value, -1 when absent.
	contentLength() int64
	// header is a header's first value, "" when absent.
	header(name string) string
	// headerValues are all of a header's values (a new slice).
	headerValues(name string) []string
}

// stdRequest is a net/http request's signedRequest.
type stdRequest struct{ r *http.Request }

func (q stdRequest) method() string         { return q.r.Method }
func (q stdRequest) escapedPath() string    { return q.r.URL.EscapedPath() }
func (q stdRequest) query() url.Values      { return q.r.URL.Query() }
func (q stdRequest) host() string           { return q.r.Host }
func (q stdRequest) contentLength() int64   { return q.r.ContentLength }
func (q stdRequest) header(n string) string { return q.r.Header.Get(n) }
func (q stdRequest) headerValues(n string) []string {
	return append([]string(nil), q.r.Header.Values(n)...)
}

// canonicalRequest builds SigV4's canonical request from the request and
// its signed header names (semicolon-separated, lowercase).
func canonicalRequest(r signedRequest, signed string, body []byte) string {
	var b strings.Builder
	b.WriteString(r.method())
	b.WriteByte('\n')
	path := r.escapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(path)
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.query()))
	b.WriteByte('\n')
	for _, name := range strings.Split(signed, ";") {
		var vals []string
		switch name {
		case "host":
			vals = []string{r.host()}
		case "content-length":
			vals = []string{strconv.FormatInt(r.contentLength(), 10)}
		default:
			vals = r.headerValues(name)
		}
		for i, v := range vals {
			vals[i] = strings.Join(strings.Fields(v), " ")
		}
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(strings.Join(vals, ","))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(signed)
	b.WriteByte('\n')
	if h := r.header("X-Amz-Content-Sha256"); h != "" {
		b.WriteString(h)
	} else {
		sum := sha256.Sum256(body)
		b.WriteString(hex.EncodeToString(sum[:]))
	}
	return b.String()
}

func canonicalQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	var parts []string
	for k, vs := range q {
		for _, v := range vs {
			parts = append(parts, sigEscape(k)+"="+sigEscape(v))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "&")
}

// sigEscape is SigV4's URI encoding: every byte but A-Z a-z 0-9 - _ . ~.
func sigEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
