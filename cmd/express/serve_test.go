package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepstream/express/internal/testutil"
)

func TestServeFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--brokers", "127.0.0.1:1", "--topic", "in"}, 1, "/workflows/0/definition: required"},
		{[]string{"--brokers", "127.0.0.1:1", "--definition", "/nonexistent.json", "--topic", "in", "--ordering", "random"}, 1, `/workflows/0/ordering: "random" is not one of key, partition, unordered`},
		{[]string{"--definition", "x.json", "--resource", "novalue"}, 2, `--resource "novalue": want RESOURCE=TARGET`},
		{[]string{"--brokers", "127.0.0.1:1", "--demo"}, 2, "--demo produces into the embedded broker only"},
		{[]string{"--config", "x.yaml", "--topic", "in"}, 2, "--topic cannot be combined with --config"},
		{[]string{"--config", "/nonexistent.yaml"}, 1, "no such file"},
		{[]string{"--brokers", "127.0.0.1:1", "--demo", "--idempotency-key", "eventId"}, 2, "--demo"},
		{[]string{"--brokers", "127.0.0.1:1", "--definition", refDefinition, "--topic", "in"}, 1,
			`/States/Enrich/Resource: no target is configured for "arn:aws:lambda:eu-west-1:123456789012:function:enrich-device"`},
		{[]string{"--brokers", "127.0.0.1:1", "--definition", refDefinition, "--topic", "in",
			"--resource", "arn:aws:lambda:eu-west-1:123456789012:function:enrich-device=kafka:bad topic"}, 1, `/workflows/0/resources/arn:aws:lambda:eu-west-1:123456789012:function:enrich-device: "kafka:bad topic"`},
		{[]string{"--sasl-mechanism", "GSSAPI", "--brokers", "h:1", "--definition", refDefinition, "--topic", "in"}, 1, "/sasl/mechanism"},
		{[]string{"--brokers", "h:1", "--definition", refDefinition, "--topic", "in", "--txn-interval", "1s"}, 2, "go with --delivery exactly-once"},
		{[]string{"--brokers", "h:1", "--definition", refDefinition, "--topic", "in", "--delivery", "twice"}, 1, `/workflows/0/delivery: "twice" is not one of`},
		{[]string{"--brokers", "h:1", "--definition", refDefinition, "--topic", "in", "--delivery", "exactly-once",
			"--resource", "arn:aws:lambda:eu-west-1:123456789012:function:enrich-device=static:{}"}, 1, "exactly-once needs a transactional id"},
		{[]string{"--config", "x.yaml", "--delivery", "exactly-once"}, 2, "--delivery cannot be combined with --config"},
		{[]string{"--api-addr", "0.0.0.0:0", "--metrics-addr", ""}, 1, "/api/addr: 0.0.0.0:0 is not a loopback address and no credentials are set"},
		{[]string{"--api-addr", "127.0.0.1:0", "--api-credentials", "/nonexistent", "--metrics-addr", ""}, 1, "/api/credentials"},
		{[]string{"--api-addr", "127.0.0.1:0", "--api-account", "abc", "--metrics-addr", ""}, 1, "/api/account"},
		{[]string{"--metrics-addr", ""}, 1, "/workflows/0/definition: required"},
	} {
		var out, errb testutil.SyncBuffer
		code := serveMain(tc.args, &out, &errb, context.Background())
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("serve %v: code %d, stderr:\n%s\nwant code %d and %q", tc.args, code, errb.String(), tc.code, tc.want)
		}
	}
}

// TestServeDemo runs `express serve --demo` (embedded broker, generator,
// progress line) until the progress line shows records flowing.
func TestServeDemo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb testutil.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- serveMain([]string{"--demo", "--embedded-port", "0", "--metrics-addr", "127.0.0.1:0", "--progress", "200ms",
			"--demo-rate", "2000", "--partitions", "3"}, &out, &errb, ctx)
	}()
	waitServe(t, "progress line", &out, &errb, done, func() bool {
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		last := lines[len(lines)-1]
		return strings.Contains(last, "rec/s") && !strings.HasSuffix(last, "total in 0")
	})
	stopServe(t, cancel, done, &errb)
	for _, want := range []string{"embedded Kafka broker on 127.0.0.1:", `workflow "iot-reference" consuming [readings]`, "demo generator", "express: stopped:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestValidateConfig(t *testing.T) {
	dir := t.TempDir()
	def, err := os.ReadFile(refDefinition)
	if err != nil {
		testutil.Missing(t, "%v", err)
	}
	os.WriteFile(filepath.Join(dir, "iot.asl.json"), def, 0o644)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte(`
workflows:
  - name: iot
    definition: iot.asl.json
    topics: [readings]
    group: g
    output_topic: out
    dlq_topic: dlq
    resources:
      arn:aws:lambda:eu-west-1:123456789012:function:enrich-device: http://127.0.0.1:8080/enrich
`), 0o644)
	var out, errb testutil.SyncBuffer
	if code := validateConfig(good, false, &out, &errb); code != 0 || !strings.Contains(out.String(), `workflow "iot" OK`) ||
		strings.Contains(out.String(), "warning") {
		t.Fatalf("code %d\n%s\n%s", code, out.String(), errb.String())
	}
	// the same exactly once: its HTTP target is warned of
	eos := filepath.Join(dir, "eos.yaml")
	b, _ := os.ReadFile(good)
	os.WriteFile(eos, append([]byte("instance_id: a\n"), strings.Replace(string(b), "    dlq_topic: dlq\n", "    dlq_topic: dlq\n    delivery: exactly-once\n", 1)...), 0o644)
	var out4, errb4 testutil.SyncBuffer
	if code := validateConfig(eos, false, &out4, &errb4); code != 0 ||
		!strings.Contains(out4.String(), "warning: /workflows/0/resources/arn:aws:lambda:eu-west-1:123456789012:function:enrich-device: an HTTP target is called at least once") {
		t.Fatalf("exactly once: code %d\n%s\n%s", code, out4.String(), errb4.String())
	}
	os.WriteFile(filepath.Join(dir, "loop.asl.json"), []byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}}`), 0o644)
	loop := filepath.Join(dir, "loop.yaml")
	os.WriteFile(loop, []byte(`
workflows:
  - name: loop
    definition: loop.asl.json
    topics: [in]
    group: g
    dlq_topic: dlq
`), 0o644)
	var out3, errb3 testutil.SyncBuffer
	if code := validateConfig(loop, false, &out3, &errb3); code != 0 || !strings.Contains(out3.String(), "loop.asl.json: /States/") ||
		!strings.Contains(out3.String(), "warning:") {
		t.Fatalf("loop: code %d\n%s\n%s", code, out3.String(), errb3.String())
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(`
workflows:
  - name: iot
    definition: iot.asl.json
    topics: [readings]
    group: g
    dlq_topic: dlq
    ordering: sideways
`), 0o644)
	var out2, errb2 testutil.SyncBuffer
	if code := validateConfig(bad, false, &out2, &errb2); code != 1 || !strings.Contains(errb2.String(), "/workflows/0/ordering") ||
		!strings.Contains(errb2.String(), "/States/Enrich/Resource") {
		t.Fatalf("code %d\n%s", code, errb2.String())
	}
}

// refDefinition is the reference IoT workflow (a copy of the bench file).
const refDefinition = "../../kafka/testdata/iot-reference.asl.json"

// stopServe cancels a serveMain running in a goroutine (its exit status
// comes on done) and waits, bounded, for it to exit 0.
// waitServe waits (30 s at the most) until cond holds of serve's output,
// failing if serve exits first.
func waitServe(t *testing.T, what string, out, errb *testutil.SyncBuffer, done <-chan int, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s:\n%s\n%s", what, out.String(), errb.String())
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d:\n%s\n%s", code, out.String(), errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func stopServe(t *testing.T, cancel func(), done <-chan int, errb *testutil.SyncBuffer) {
	t.Helper()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}
