package api

import (
	"net"
	"time"

	"github.com/stepstream/express/express"
)

// VirtualTime makes every execution of a server made with o run on a
// virtual clock (Retry and Wait do not sleep).
func VirtualTime(o *Options) {
	o.clock = func() express.Clock { return express.NewVirtualClock(time.Now().UTC().Truncate(time.Millisecond)) }
}

// SetNow sets the clock of dates and signature checks.
func SetNow(o *Options, now func() time.Time) { o.now = now }

// ServeConn answers the requests read from c (fuzzing without sockets).
func (h *HTTPServer) ServeConn(c net.Conn) error { return h.fs.ServeConn(c) }

// SetReadTimeout changes the HTTPServer's ReadTimeout (before Serve).
func SetReadTimeout(h *HTTPServer, d time.Duration) { h.fs.ReadTimeout = d }
