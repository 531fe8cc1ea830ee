package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Limits of an HTTPServer's connections.
const (
	// ReadTimeout bounds reading one request, its line, headers and body,
	// from its first byte (a new connection: from its opening), so that a
	// client sending slowly (slowloris) holds a connection that long at
	// most.
	ReadTimeout = 30 * time.Second
	// IdleTimeout is how long a keep-alive connection waits for its next
	// request.
	IdleTimeout = 2 * time.Minute
	// MaxHeaderBytes bounds a request's line and headers (a signed AWS SDK
	// request has about 1 KiB of them).
	MaxHeaderBytes = 16 << 10
)

// bodySlack is how much over MaxRequestBytes a body is still read, to
// answer it 413 with AWS's error document: fasthttp refuses a larger one
// from its Content-Length, before reading it, and closes the connection,
// so a client still sending it sees the connection reset rather than the
// answer (as net/http's server does past a body's first 256 KiB unread).
const bodySlack = 256 << 10

// HTTPServer serves a Server's API on listeners with
// github.com/valyala/fasthttp, the HTTP/1.1 server `express serve` uses
// for --api-addr: it answers what ServeHTTP answers (the same core reads
// the same things of a request), with less work per request than
// net/http. Bodies over MaxRequestBytes are answered 413, requests it
// cannot parse 400, headers over MaxHeaderBytes 431, each with AWS's
// error document, and the connection is closed. HTTP/1.0 and
// "Connection: close" close the connection after the answer.
//
// Executions of StartSyncExecution run under the HTTPServer's context: a
// client that goes away does not stop its execution (as on AWS); Close
// and a Shutdown that runs out of time stop them.
type HTTPServer struct {
	s      *Server
	fs     *fasthttp.Server
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	lns    []net.Listener
}

// NewHTTPServer makes the fasthttp front of s. Serve it on a listener.
func (s *Server) NewHTTPServer() *HTTPServer {
	h := &HTTPServer{s: s}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.fs = &fasthttp.Server{
		Handler:                      h.handle,
		ErrorHandler:                 h.readFailed,
		ReadTimeout:                  ReadTimeout,
		IdleTimeout:                  IdleTimeout,
		ReadBufferSize:               MaxHeaderBytes,
		MaxRequestBodySize:           MaxRequestBytes + bodySlack,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
		Logger:                       fastLogger{s},
	}
	return h
}

// Serve answers the connections of ln until Shutdown or Close (then it
// returns nil).
func (h *HTTPServer) Serve(ln net.Listener) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	h.lns = append(h.lns, ln)
	h.mu.Unlock()
	err := h.fs.Serve(ln)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits for the requests being
// answered until ctx is done; then it stops the executions still running
// (their callers are answered FAILED) and returns ctx's error.
func (h *HTTPServer) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	err := h.fs.ShutdownWithContext(ctx)
	if err != nil {
		h.cancel()
	}
	// a Serve that had not yet handed its listener to fasthttp
	h.mu.Lock()
	for _, ln := range h.lns {
		_ = ln.Close()
	}
	h.mu.Unlock()
	return err
}

// Close stops the running executions, then the server (waiting at most
// a second for their answers).
func (h *HTTPServer) Close() error {
	h.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

var (
	ctJSON       = []byte("application/x-amz-json-1.0")
	hdrRequestID = []byte("X-Amzn-Requestid")
	hdrErrorType = []byte("X-Amzn-Errortype")
)

// handle answers one request.
func (h *HTTPServer) handle(c *fasthttp.RequestCtx) {
	req := &c.Request
	method := "POST"
	if !req.Header.IsPost() {
		method = string(req.Header.Method())
	}
	target := req.Header.Peek("X-Amz-Target") // nil when absent
	body := req.Body()
	var readErr error
	if len(body) > MaxRequestBytes {
		readErr = errTooLarge
		c.SetConnectionClose()
	}
	status, typ, out := h.s.answer(h.ctx, method, target, fastRequest{req}, body, readErr)
	h.write(c, status, typ, out)
}

// write writes an answer. out is not modified afterwards (it is new, or
// a constant).
func (h *HTTPServer) write(c *fasthttp.RequestCtx, status int, typ string, out []byte) {
	resp := &c.Response
	resp.SetStatusCode(status)
	resp.Header.SetContentTypeBytes(ctJSON)
	var id [36]byte
	resp.Header.SetCanonical(hdrRequestID, appendUUID(id[:0]))
	if typ != "" {
		resp.Header.SetCanonical(hdrErrorType, []byte(typ))
	}
	resp.SetBodyRaw(out)
}

// readFailed answers a request fasthttp could not read: too large, too
// long headers, malformed or too slow. fasthttp closes the connection
// afterwards.
func (h *HTTPServer) readFailed(c *fasthttp.RequestCtx, err error) {
	var e *Error
	var tooLarge *fasthttp.ErrSmallBuffer
	var timeout interface{ Timeout() bool }
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		e = errTooLarge
	case errors.As(err, &tooLarge):
		e = &Error{Type: "SerializationException", Message: fmt.Sprintf("the request's line and headers are over %d bytes", MaxHeaderBytes), Namespace: nsCoral, Status: 431}
	case errors.As(err, &timeout) && timeout.Timeout():
		// RequestTimeoutException is among the transient error codes
		// botocore retries (botocore/retries/standard.py, data/_retry.json)
		e = &Error{Type: "RequestTimeoutException", Message: fmt.Sprintf("the request was not read within %s", ReadTimeout), Namespace: nsCoral, Status: 408}
	default:
		e = errSerialization("malformed HTTP request: %v", err)
	}
	h.s.metrics.request("unknown", e.Type)
	h.write(c, e.status(), e.Type, appendError(nil, e))
}

// fastRequest is a fasthttp request's signedRequest.
type fastRequest struct{ r *fasthttp.Request }

func (q fastRequest) method() string      { return string(q.r.Header.Method()) }
func (q fastRequest) escapedPath() string { return string(q.r.URI().PathOriginal()) }
func (q fastRequest) host() string        { return string(q.r.Host()) }
func (q fastRequest) header(n string) string {
	return string(q.r.Header.Peek(n))
}

func (q fastRequest) query() url.Values {
	v, _ := url.ParseQuery(string(q.r.URI().QueryString()))
	return v
}

func (q fastRequest) contentLength() int64 {
	if n := q.r.Header.ContentLength(); n >= 0 {
		return int64(n)
	}
	return -1
}

func (q fastRequest) headerValues(n string) []string {
	all := q.r.Header.PeekAll(n)
	out := make([]string, len(all))
	for i, v := range all {
		out[i] = string(v)
	}
	return out
}

// fastLogger logs fasthttp's own messages (connections that failed) at
// debug level.
type fastLogger struct{ s *Server }

func (l fastLogger) Printf(format string, args ...any) {
	l.s.o.Logger.Debug("api: http: " + fmt.Sprintf(format, args...))
}
