package kafka

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/resources"
)

// TestPropagateHeaders: the trace context of an input record (or the
// headers Options.PropagateHeaders names) is on its output record and on
// the HTTP request of its Task; other headers are not.
func TestPropagateHeaders(t *testing.T) {
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	in := []kgo.RecordHeader{{Key: "traceparent", Value: []byte(tp)}, {Key: "tracestate", Value: []byte("congo=t61rcWkgMzE")}, {Key: "X-Tenant", Value: []byte("acme")}}
	cases := []struct {
		name      string
		propagate []string
		want      map[string]string // header → value on the output and the request; "" must be absent
	}{
		{"default", nil, map[string]string{"traceparent": tp, "tracestate": "congo=t61rcWkgMzE", "X-Tenant": ""}},
		{"configured", []string{"x-tenant"}, map[string]string{"traceparent": "", "tracestate": "", "X-Tenant": "acme"}},
		{"none", []string{}, map[string]string{"traceparent": "", "tracestate": "", "X-Tenant": ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			var got http.Header
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				got = r.Header.Clone()
				mu.Unlock()
				w.Write([]byte(`{"site":"plant-1"}`))
			}))
			defer srv.Close()
			tg, err := resources.ParseTarget(srv.URL + "/enrich")
			if err != nil {
				t.Fatal(err)
			}
			inv, err := resources.New(resources.Config{Routes: map[string][]resources.Target{"enrich": {tg}}})
			if err != nil {
				t.Fatal(err)
			}
			wf, err := compile.Compile([]byte(`{"StartAt":"Enrich","States":{"Enrich":{"Type":"Task","Resource":"enrich","ResultPath":"$.device","End":true}}}`),
				compile.Options{Name: "wf", Invoker: inv})
			if err != nil {
				t.Fatal(err)
			}
			addrs := startCluster(t, 1, "in", "out", "dlq")
			produceAll(t, newClient(t, addrs), []*kgo.Record{{Topic: "in", Key: []byte("k"), Value: []byte(`{"deviceId":"d1"}`), Headers: in}})
			p, err := New(Options{Workflow: wf, Topics: []string{"in"}, Group: "g", OutputTopic: "out", DLQTopic: "dlq",
				PropagateHeaders: c.propagate, ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
			if err != nil {
				t.Fatal(err)
			}
			stop := runProcessor(t, p)
			waitFor(t, 30*time.Second, "the record finished", func() bool { return p.Stats().Finished.Load() >= 1 })
			stop()
			out := consumeN(t, addrs, 1, 10*time.Second, "out", "dlq")
			if len(out) != 1 || out[0].Topic != "out" {
				t.Fatalf("results %v", out)
			}
			mu.Lock()
			defer mu.Unlock()
			for k, v := range c.want {
				if h := header(out[0], k); h != v {
					t.Errorf("output record: %s %q, want %q", k, h, v)
				}
				if h := got.Get(k); h != v {
					t.Errorf("HTTP request: %s %q, want %q", k, h, v)
				}
			}
			if header(out[0], HeaderExecution) == "" || got.Get("Idempotency-Key") != "in/0/0/Enrich" {
				t.Errorf("output headers %v; request key %q", out[0].Headers, got.Get("Idempotency-Key"))
			}
		})
	}
}

// TestDeadLetterNamesDocumented: every error name the daemon gives a
// dead letter of its own is in docs/dead-letters.md.
func TestDeadLetterNamesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/dead-letters.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{ErrInvalidJSON, ErrRecordTooLarge, ErrOutputRejected, ErrTransactionTimeout,
		HeaderWorkflow, HeaderExecution, HeaderSourceTopic, HeaderSourcePartition, HeaderSourceOffset, HeaderKey,
		HeaderStatus, HeaderError, HeaderCause, HeaderTruncated, HeaderOriginalSize} {
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("docs/dead-letters.md does not name %s", name)
		}
	}
}
