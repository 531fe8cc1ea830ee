package kafka

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// TestReleasedMemoryIntact: the daemon hands each execution's memory, and
// its input document's, back for reuse once the result is written
// (releaseMemory). Every output, dead letter and execution name must still
// be the record's own: each output equals what the engine computes for
// its reading alone (no memory reused), and each result's execution name
// (a custom idempotency key read from the input, so it would point into
// the reused document if it were not copied) names its own reading.
func TestReleasedMemoryIntact(t *testing.T) {
	const n = 3000
	wf := referenceWorkflow(t)
	addrs := startCluster(t, 6, "readings", "out", "dlq")
	var rs []*kgo.Record
	want := make(map[string][]byte, n) // id → the output computed alone
	for i := range n {
		dev := "dev-" + strconv.Itoa(i%97)
		v := 15 + float64(i%20)/4
		if i%9 == 0 {
			v = 500 + float64(i) // out of range: a dead letter
		}
		val := []byte(fmt.Sprintf(`{"id":"reading-%06d","deviceId":%q,"ts":"2026-11-22T10:%02d:%02dZ","type":"temperature","value":%g,"unit":"C","battery":0.83,"tags":["t%d"]}`,
			i, dev, i/60%60, i%60, v, i))
		rs = append(rs, &kgo.Record{Topic: "readings", Key: []byte(dev), Value: val})
		in, err := jsonv.ParsePlain(val)
		if err != nil {
			t.Fatal(err)
		}
		res := wf.Execute(context.Background(), in, express.ExecOptions{RawOutput: true})
		if res.Status == express.Succeeded {
			want[fmt.Sprintf("reading-%06d", i)] = jsonv.AppendJSON(nil, res.Output)
		}
	}
	produceAll(t, newClient(t, addrs), rs)
	ks, err := ParseKeySource("$.id")
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{Workflow: wf, Topics: []string{"readings"}, Group: "rel", OutputTopic: "out", DLQTopic: "dlq",
		IdempotencyKey: ks, Concurrency: 64, ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
	if err != nil {
		t.Fatal(err)
	}
	stop := runProcessor(t, p)
	waitFor(t, 60*time.Second, "all records", func() bool { return p.Stats().Finished.Load() >= n })
	stop()
	out := consumeN(t, addrs, n, 10*time.Second, "out", "dlq")
	if len(out) != n {
		t.Fatalf("%d results, want %d", len(out), n)
	}
	seen := map[string]bool{}
	var dlq int
	for _, r := range out {
		id := header(r, HeaderExecution)
		if seen[id] {
			t.Fatalf("execution name %q twice", id)
		}
		seen[id] = true
		if r.Topic == "dlq" {
			dlq++
			if _, ok := want[id]; ok || header(r, HeaderError) != "Reading.OutOfRange" {
				t.Fatalf("dead letter of %q: error %q", id, header(r, HeaderError))
			}
			continue
		}
		w, ok := want[id]
		if !ok {
			t.Fatalf("output named %q, which is no succeeded reading: %s", id, r.Value)
		}
		if string(r.Value) != string(w) {
			t.Fatalf("output of %q\n%s\nwant\n%s", id, r.Value, w)
		}
	}
	if dlq != n-len(want) {
		t.Fatalf("%d dead letters, want %d", dlq, n-len(want))
	}
}
