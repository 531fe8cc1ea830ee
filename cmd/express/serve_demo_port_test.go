package main

import (
	"context"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stepstream/express/internal/testutil"
)

// TestServeDemoBusyMetricsPort: a second `serve --demo` whose metrics port
// is taken serves its metrics on a free port and says where, instead of
// exiting.
func TestServeDemoBusyMetricsPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb testutil.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- serveMain([]string{"--demo", "--embedded-port", "0", "--metrics-addr", taken.Addr().String(), "--progress", "0",
			"--demo-rate", "100", "--partitions", "1"}, &out, &errb, ctx)
	}()
	line := regexp.MustCompile(`express: metrics on http://(127\.0\.0\.1:\d+)/metrics \(` + regexp.QuoteMeta(taken.Addr().String()) + ` is busy`)
	var m []string
	waitServe(t, "fallback metrics line", &out, &errb, done, func() bool { m = line.FindStringSubmatch(out.String()); return m != nil })
	resp, err := http.Get("http://" + m[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || m[1] == taken.Addr().String() {
		t.Fatalf("metrics at %s: %d", m[1], resp.StatusCode)
	}
	stopServe(t, cancel, done, &errb)
	// without --demo a busy port is still an error: a daemon must be
	// found where it was configured
	code := serveMain([]string{"--definition", refDefinition, "--topic", "readings", "--embedded-port", "0", "--metrics-addr", taken.Addr().String(),
		"--resource", `arn:aws:lambda:eu-west-1:123456789012:function:enrich-device=static:{}`}, &out, &errb, context.Background())
	if code != 1 || !strings.Contains(errb.String(), "metrics_addr:") {
		t.Fatalf("busy port without --demo: exit %d, %s", code, errb.String())
	}
}
