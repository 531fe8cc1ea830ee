package daemon

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stepstream/express/internal/testutil"
	"github.com/stepstream/express/kafka"
)

// TestKcat uses Debian's kcat (librdkafka) as a third-party producer and
// consumer against the daemon and its embedded broker, at least once and
// exactly once (read with isolation.level=read_committed: each result
// once, none from an aborted transaction).
func TestKcat(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		testutil.Missing(t, "kcat is not installed (apt-get update && apt-get install -y kcat): skipping the third-party client test")
	}
	for _, delivery := range []string{"at-least-once", "exactly-once"} {
		t.Run(delivery, func(t *testing.T) { testKcat(t, kcat, delivery) })
	}
}

func testKcat(t *testing.T, kcat, delivery string) {
	f := demoConfig()
	f.MetricsAddr = ""
	f.Workflows[0].IdempotencyKey = "$.eventId"
	var isolation []string
	if delivery == "exactly-once" {
		f.Workflows[0].Delivery, f.InstanceID = delivery, "kcat-test"
		isolation = []string{"-X", "isolation.level=read_committed"}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, f, Options{EmbeddedPartitions: 4, Ready: func(b []string, _ string) { ready <- b[0] }})
	}()
	var broker string
	select {
	case broker = <-ready:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(20 * time.Second):
		t.Fatal("not ready")
	}
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("Run did not return")
		}
	}()

	const n = 200
	var in strings.Builder
	for i := 0; i < n; i++ {
		v := 20 + i%10
		if i%10 == 0 {
			v = 900 // out of range: the workflow fails
		}
		fmt.Fprintf(&in, "dev-%d|{\"eventId\":\"e-%d\",\"deviceId\":\"dev-%d\",\"ts\":\"2026-11-22T10:00:00Z\",\"type\":\"temperature\",\"value\":%d,\"unit\":\"C\",\"battery\":0.5,\"tags\":[]}\n", i%7, i, i%7, v)
	}
	in.WriteString("dev-x|{not json\n")
	pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
	defer pcancel()
	prod := exec.CommandContext(pctx, kcat, "-P", "-b", broker, "-t", "readings", "-K", "|", "-H", "src=kcat", "-z", "snappy")
	prod.Stdin = strings.NewReader(in.String())
	if out, err := prod.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}

	read := func(topic string, until ...string) []string {
		cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
		defer ccancel()
		args := append([]string{"-C", "-b", broker, "-t", topic, "-o", "beginning", "-q", "-f", "%k|%h|%s\n"}, isolation...)
		out, err := exec.CommandContext(cctx, kcat, append(args, until...)...).Output()
		if err != nil {
			t.Fatalf("kcat -C %s: %v\n%s", topic, err, out)
		}
		return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	}
	consume := func(topic string, count int) []string {
		lines := read(topic, "-c", fmt.Sprint(count))
		if delivery == "exactly-once" {
			// the count arrived; read to the end: nothing more
			if all := read(topic, "-e"); len(all) != count {
				t.Fatalf("%s: %d records read to the end, want %d", topic, len(all), count)
			}
		}
		return lines
	}
	outs := consume("readings-out", n-n/10)
	seen := map[string]bool{}
	for _, line := range outs {
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 || !strings.HasPrefix(parts[0], "dev-") || !strings.Contains(parts[2], `"site":"plant-1"`) {
			t.Fatalf("output line %q", line)
		}
		id := headerOf(parts[1], kafka.HeaderExecution)
		if !strings.HasPrefix(id, "e-") || seen[id] {
			t.Fatalf("execution header %q (headers %s)", id, parts[1])
		}
		seen[id] = true
	}
	dlq := consume("readings-dlq", n/10+1)
	malformed := 0
	for _, line := range dlq {
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 || headerOf(parts[1], "src") != "kcat" || headerOf(parts[1], kafka.HeaderSourceTopic) != "readings" {
			t.Fatalf("DLQ line %q", line)
		}
		switch headerOf(parts[1], kafka.HeaderError) {
		case kafka.ErrInvalidJSON:
			malformed++
			if parts[2] != "{not json" || parts[0] != "dev-x" {
				t.Fatalf("malformed record changed: %q", line)
			}
		case "Reading.OutOfRange":
		default:
			t.Fatalf("DLQ error in %q", line)
		}
	}
	if malformed != 1 {
		t.Fatalf("%d malformed records in the DLQ", malformed)
	}
}

// headerOf finds k in kcat's "%h" output: k1=v1,k2=v2.
func headerOf(hs, k string) string {
	for _, kv := range strings.Split(hs, ",") {
		if kk, v, ok := strings.Cut(kv, "="); ok && kk == k {
			return v
		}
	}
	return ""
}
