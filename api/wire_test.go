package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stepstream/express/api"
	"github.com/stepstream/express/internal/apitest"
)

const listBody = `{}`

// rawRequest is a ListStateMachines request as bytes, with extra headers.
func rawRequest(proto, extra, body string) string {
	return "POST / " + proto + "\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n" +
		"X-Amz-Target: AWSStepFunctions.ListStateMachines\r\n" + extra +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// exchange writes req on a new connection to addr and reads every
// response until the server closes the connection (bounded: 10 s; every
// case ends with a request the server must close the connection after).
func exchange(t *testing.T, addr, req string) (resps []*http.Response, bodies [][]byte, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return resps, bodies, errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resps, bodies = append(resps, resp), append(bodies, b)
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

// TestWire sends requests as bytes: HTTP/1.0, Connection: close,
// keep-alive, chunked bodies and malformed requests, to both fronts.
func TestWire(t *testing.T) {
	for _, front := range []string{apitest.FrontFast, apitest.FrontStd} {
		t.Run(front, func(t *testing.T) {
			_, url := serve(t, api.Options{})
			addr := strings.TrimPrefix(url, "http://")
			for _, tc := range []struct {
				name   string
				req    string
				status []int // of each response, in order
				fast   bool  // only the fasthttp front (net/http differs)
			}{
				{name: "keep-alive", req: rawRequest("HTTP/1.1", "", listBody) + rawRequest("HTTP/1.1", "Connection: close\r\n", listBody), status: []int{200, 200}},
				{name: "Connection: close", req: rawRequest("HTTP/1.1", "Connection: close\r\n", listBody) + rawRequest("HTTP/1.1", "", listBody), status: []int{200}},
				{name: "HTTP/1.0", req: rawRequest("HTTP/1.0", "", listBody), status: []int{200}},
				{name: "HTTP/1.0 keep-alive", req: rawRequest("HTTP/1.0", "Connection: keep-alive\r\n", listBody) + rawRequest("HTTP/1.1", "Connection: close\r\n", listBody), status: []int{200, 200}},
				{name: "chunked", req: "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.ListStateMachines\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n", status: []int{200}},
				{name: "no target", req: strings.Replace(rawRequest("HTTP/1.1", "Connection: close\r\n", listBody), "X-Amz-Target: AWSStepFunctions.ListStateMachines\r\n", "", 1), status: []int{400}},
				{name: "malformed request line", req: "GARBAGE\r\n\r\n", status: []int{400}},
				{name: "malformed header", req: "POST / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", status: []int{400}},
				{name: "bad Content-Length", req: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", status: []int{400}},
				{name: "declared body far too large", req: "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.ListStateMachines\r\nContent-Length: 100000000\r\n\r\n{", status: []int{413}, fast: true},
				{name: "headers too large", req: "POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", api.MaxHeaderBytes) + "\r\n\r\n", status: []int{431}, fast: true},
			} {
				if tc.fast && front != apitest.FrontFast {
					continue // net/http answers otherwise
				}
				t.Run(tc.name, func(t *testing.T) {
					resps, bodies, closed := exchange(t, addr, tc.req)
					if len(resps) != len(tc.status) {
						t.Fatalf("%d responses, want %d: %q", len(resps), len(tc.status), bodies)
					}
					for i, r := range resps {
						if r.StatusCode != tc.status[i] {
							t.Errorf("response %d: status %d, want %d: %s", i, r.StatusCode, tc.status[i], bodies[i])
						}
						if front == apitest.FrontFast || r.StatusCode == 200 {
							// the fasthttp front answers every request with JSON
							if !json.Valid(bodies[i]) {
								t.Errorf("response %d: not JSON: %q", i, bodies[i])
							}
							if r.StatusCode != 200 && !bytes.Contains(bodies[i], []byte(`"__type"`)) {
								t.Errorf("response %d: no __type: %s", i, bodies[i])
							}
						}
					}
					if !closed {
						t.Fatal("the connection was not closed (the read timed out)")
					}
				})
			}
		})
	}
}

// TestSlowClient: a client that sends its request too slowly has its
// connection closed after ReadTimeout (slowloris).
func TestSlowClient(t *testing.T) {
	s, err := api.New(api.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := s.NewHTTPServer()
	api.SetReadTimeout(h, 200*time.Millisecond)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.Serve(ln) }()
	t.Cleanup(func() { _ = h.Close() })
	for _, part := range []string{"", "POST / HTTP/1.1\r\nHost: x\r\n", rawRequest("HTTP/1.1", "", listBody)[:60] + "\r\nContent-Length: 10\r\n\r\n{"} {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(c, part)
		// the server closes it long before this deadline
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = io.ReadAll(c)
		c.Close()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("%q: the connection stayed open", part)
		}
	}
}

// FuzzHTTPFront feeds arbitrary bytes to the fasthttp front as one
// connection's requests: whatever it answers is HTTP with a JSON body
// (an error document with __type unless 200), never a 5xx, and it never
// panics.
func FuzzHTTPFront(f *testing.F) {
	s, err := api.New(api.Options{})
	if err != nil {
		f.Fatal(err)
	}
	h := s.NewHTTPServer()
	f.Add([]byte(rawRequest("HTTP/1.1", "", listBody)))
	f.Add([]byte(rawRequest("HTTP/1.0", "Connection: keep-alive\r\n", `{"maxResults":1}`) + rawRequest("HTTP/1.1", "", `{`)))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.StartSyncExecution\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n0\r\n\r\n"))
	f.Add([]byte("GET /?a=b HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}"))
	f.Add([]byte("POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c := &bufConn{r: bytes.NewReader(in)}
		_ = h.ServeConn(c)
		br := bufio.NewReader(&c.w)
		for {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				if c.w.Len() > 0 && !errors.Is(err, io.EOF) {
					t.Fatalf("%q: unreadable answer %q: %v", in, c.w.Bytes(), err)
				}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode < 200 {
				continue
			}
			if resp.StatusCode >= 500 || !json.Valid(b) || resp.StatusCode != 200 && !bytes.Contains(b, []byte(`"__type"`)) {
				t.Fatalf("%q: status %d: %q", in, resp.StatusCode, b)
			}
		}
	})
}

// bufConn is a net.Conn reading from r and writing to w.
type bufConn struct {
	r *bytes.Reader
	w bytes.Buffer
}

func (c *bufConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *bufConn) Write(p []byte) (int, error)      { return c.w.Write(p) }
func (c *bufConn) Close() error                     { return nil }
func (c *bufConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (c *bufConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2} }
func (c *bufConn) SetDeadline(time.Time) error      { return nil }
func (c *bufConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bufConn) SetWriteDeadline(time.Time) error { return nil }
