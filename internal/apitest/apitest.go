// Package apitest serves the Step Functions API (package api) to tests and
// benchmarks, and makes AWS SDK for Go v2 clients of it.
package apitest

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stepstream/express/api"
)

// The fronts of an api.Server.
const (
	FrontFast = "fasthttp" // (*api.Server).NewHTTPServer, what `express serve` uses
	FrontStd  = "net-http" // (*api.Server).ServeHTTP under a net/http server
)

// Serve serves s with the given front on 127.0.0.1 (a free port) and
// returns the address it listens on ("127.0.0.1:PORT") and a function
// that stops serving. Closing s is the caller's.
func Serve(tb testing.TB, s *api.Server, front string) (addr string, stop func()) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var close func() error
	switch front {
	case FrontStd:
		hs := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = hs.Serve(ln) }()
		close = hs.Close
	case FrontFast:
		hs := s.NewHTTPServer()
		go func() { _ = hs.Serve(ln) }()
		close = hs.Close
	default:
		ln.Close()
		tb.Fatalf("apitest: no front %q", front)
	}
	return ln.Addr().String(), func() { _ = close() }
}

// SDK is an SDK client of the server at url, signing with the key and
// secret, with no retries (a test sees every failure) and the SDK's own
// HTTP client but for the request bodies it hands to net/http (see
// HTTPClient).
//
// StartSyncExecution (and TestState) prefix the endpoint's host with
// "sync-", which no local address resolves: the prefix is turned off, as
// any user of a local endpoint must.
func SDK(url, key, secret string) *sfn.Client {
	return sfn.New(sfn.Options{Region: api.DefaultRegion, BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""), Retryer: aws.NopRetryer{},
		HTTPClient: HTTPClient{awshttp.NewBuildableClient()},
		APIOptions: []func(*middleware.Stack) error{NoHostPrefix}})
}

// NoHostPrefix turns off an operation's endpoint host prefix ("sync-").
func NoHostPrefix(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("NoHostPrefix",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
		}), middleware.Before)
}

// HTTPClient sends the SDK's requests with C, their bodies stripped of
// their WriteTo method.
//
// Why: smithy-go's ClientHandler closes a request's body as soon as Do
// returns, that is once the response's headers arrived. net/http's
// Transport may not be done with the body then: after writing
// Content-Length bytes it copies the body once more to io.Discard, to
// find bytes beyond the length (transferWriter.writeBody). A request
// (headers and body) over the Transport's 4 KiB write buffer has the tail
// of its body written straight to the socket, so the server can answer
// before that last copy. The copy goes
// through the body's WriteTo when it has one, and smithy-go's closed
// body (safeWriteToReadCloser) answers WriteTo with io.EOF: the
// Transport takes it for a failed write and closes the connection under
// the response body being read, and the SDK fails with "deserialization
// failed, failed to decode response body, read tcp ...: use of closed
// network connection" on a 200 response (aws/aws-sdk-go-v2#2737 and
// #1825; the SDK's answer was to retry net.ErrClosed, which a test's
// NopRetryer does not). Its Read, which the copy uses when there is no
// WriteTo, answers (0, io.EOF) once closed: no error, nothing lost.
type HTTPClient struct{ C aws.HTTPClient }

// Do sends r with C.
func (c HTTPClient) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = readCloser{r.Body}
	}
	return c.C.Do(r)
}

// readCloser hides every method of a body but Read and Close.
type readCloser struct{ io.ReadCloser }
