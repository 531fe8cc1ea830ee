package apitest

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"sync"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TestBodyClosedEarly sends a request as the SDK does (smithy-go builds
// the http.Request, the SDK's HTTP client sends it, the body is closed as
// soon as Do returns) with the order that made the SDK tests fail now and
// then under load forced: the Transport's last copy of the request body
// (see HTTPClient) comes after the SDK closed it. The request is written
// in full and the 5000-byte response read in full only with HTTPClient;
// the SDK's client as it is fails, which shows the test provokes the race.
func TestBodyClosedEarly(t *testing.T) {
	payload := bytes.Repeat([]byte("x"), 5000) // over the Transport's 4 KiB write buffer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		_, _ = w.Write(b) // an echo, as the contact form's message-too-long case
	}))
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		fixed bool
	}{
		{"SDK client", false},
		{"HTTPClient", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conns := &closeWatch{closed: make(chan struct{})}
			var c interface {
				Do(*http.Request) (*http.Response, error)
			} = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
				dial := tr.DialContext
				tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
					cn, err := dial(ctx, network, addr)
					return conns.watch(cn), err
				}
			})
			if tc.fixed {
				c = HTTPClient{c.(*awshttp.BuildableClient)}
			}

			// the SDK's request and body (smithyhttp.Request.Build)
			sr := smithyhttp.NewStackRequest().(*smithyhttp.Request)
			sr.Method, sr.URL = http.MethodPost, u
			sr, err := sr.SetStream(bytes.NewReader(payload))
			if err != nil {
				t.Fatal(err)
			}
			sr.ContentLength = int64(len(payload))
			wrote := make(chan error, 1)
			ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
				WroteRequest: func(i httptrace.WroteRequestInfo) { wrote <- i.Err }})
			req := sr.Build(ctx)
			sdkBody := req.Body
			if _, ok := sdkBody.(io.WriterTo); !ok {
				t.Fatalf("the SDK's body %T has no WriteTo: the race this guards against is gone", sdkBody)
			}
			g := &gate{body: sdkBody, left: len(payload), closed: make(chan struct{})}
			req.Body = g

			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			_ = sdkBody.Close() // as smithy-go's ClientHandler does once Do returns
			close(g.closed)

			var werr error
			select {
			case werr = <-wrote:
			case <-time.After(10 * time.Second):
				t.Fatal("the Transport did not finish writing the request")
			}
			if werr != nil {
				// the Transport closes the connection on a failed write: wait for it
				select {
				case <-conns.closed:
				case <-time.After(10 * time.Second):
					t.Fatal("the write failed and the connection stayed open")
				}
			}
			got, rerr := io.ReadAll(resp.Body)
			ok := werr == nil && rerr == nil && bytes.Equal(got, payload)
			if ok != tc.fixed {
				t.Fatalf("writing the request: %v; reading %d bytes of the response: %v", werr, len(got), rerr)
			}
			t.Logf("writing the request: %v; reading %d bytes of the response: %v", werr, len(got), rerr)
			if g.timedOut {
				t.Fatal("the Transport read the body again before it had the response: the order was not forced")
			}
		})
	}
}

// gate passes a request body through, but once its length has been read
// holds the next read (the Transport's copy to io.Discard, through Read or
// WriteTo) until closed is closed: until the SDK closed the body.
type gate struct {
	body     io.ReadCloser
	left     int
	closed   chan struct{}
	timedOut bool
}

func (g *gate) wait() {
	if g.left > 0 {
		return
	}
	select {
	case <-g.closed:
	case <-time.After(10 * time.Second):
		g.timedOut = true
	}
}

func (g *gate) Read(p []byte) (int, error) {
	g.wait()
	n, err := g.body.Read(p)
	g.left -= n
	return n, err
}

func (g *gate) WriteTo(w io.Writer) (int64, error) {
	g.wait()
	n, err := g.body.(io.WriterTo).WriteTo(w)
	g.left -= int(n)
	return n, err
}

func (g *gate) Close() error { return g.body.Close() }

// closeWatch tells when a connection of the Transport is closed.
type closeWatch struct {
	once   sync.Once
	closed chan struct{}
}

func (w *closeWatch) watch(c net.Conn) net.Conn {
	if c == nil {
		return nil
	}
	return &watchedConn{Conn: c, w: w}
}

type watchedConn struct {
	net.Conn
	w *closeWatch
}

func (c *watchedConn) Close() error {
	c.w.once.Do(func() { close(c.w.closed) })
	return c.Conn.Close()
}
