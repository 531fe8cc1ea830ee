package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
	"github.com/stepstream/express/internal/testutil"
)

// releaseRecords makes n readings, one in nine out of range, each with
// its own "id", and returns them with the output the engine computes for
// each succeeded one alone (no memory reused), by id.
func releaseRecords(t *testing.T, wf *express.Workflow, n int) ([]*kgo.Record, map[string][]byte) {
	t.Helper()
	var rs []*kgo.Record
	want := make(map[string][]byte, n)
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
	return rs, want
}

// releaseSetup starts a cluster with the given partitions and produces n
// readings (releaseRecords) into it.
func releaseSetup(t *testing.T, n int, partitions int32) (*express.Workflow, []string, map[string][]byte) {
	t.Helper()
	wf := referenceWorkflow(t)
	addrs := startCluster(t, partitions, "readings", "out", "dlq")
	rs, want := releaseRecords(t, wf, n)
	produceAll(t, newClient(t, addrs), rs)
	return wf, addrs, want
}

// runReleaseProcessor runs records through a Processor keyed by "$.id"
// (a custom idempotency key read from the input) until every one has
// finished, then stops it.
func runReleaseProcessor(t *testing.T, addrs []string, wf *express.Workflow, n int, xl *ExecutionLog) *Processor {
	t.Helper()
	ks, err := ParseKeySource("$.id")
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{Workflow: wf, Topics: []string{"readings"}, Group: "rel", OutputTopic: "out", DLQTopic: "dlq",
		IdempotencyKey: ks, Concurrency: 64, ExecutionLog: xl, ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
	if err != nil {
		t.Fatal(err)
	}
	stop := runProcessor(t, p)
	waitFor(t, 60*time.Second, "all records", func() bool { return p.Stats().Finished.Load() >= int64(n) })
	stop()
	return p
}

// TestReleasedMemoryIntact: the daemon hands each execution's memory, and
// its input document's, back for reuse once the result is written
// (releaseMemory). Every output, dead letter and execution name must still
// be the record's own: each output equals what the engine computes for
// its reading alone, and each result's execution name (a custom
// idempotency key read from the input, so it would point into the reused
// document if it were not copied) names its own reading.
func TestReleasedMemoryIntact(t *testing.T) {
	const n = 3000
	wf, addrs, want := releaseSetup(t, n, 6)
	runReleaseProcessor(t, addrs, wf, n, nil)
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

// gatedWriter blocks every write until open is closed, then writes to w.
type gatedWriter struct {
	open chan struct{}
	w    io.Writer
}

func (g gatedWriter) Write(b []byte) (int, error) {
	<-g.open
	return g.w.Write(b)
}

// TestReleaseKeepsLoggedOutputs: an execution log that writes outputs
// reads them on its own goroutine, later: the daemon must not release
// those executions' memory. The log's writer is held until every record
// has finished (so every logged output waits in the queue while later
// executions run), then each logged output must be its reading's.
func TestReleaseKeepsLoggedOutputs(t *testing.T) {
	const n = 400
	wf, addrs, want := releaseSetup(t, n, 3)
	var buf testutil.SyncBuffer
	gate := gatedWriter{open: make(chan struct{}), w: &buf}
	xl, err := NewExecutionLog(slog.NewJSONHandler(gate, nil), ExecutionLogOptions{Level: LogAll, IncludeData: true, MaxPerSecond: -1, QueueSize: 1 << 16})
	if err != nil {
		t.Fatal(err)
	}
	runReleaseProcessor(t, addrs, wf, n, xl)
	close(gate.open)
	xl.Close()
	if xl.Dropped() != 0 {
		t.Fatalf("%d log lines dropped", xl.Dropped())
	}
	var checked int
	for _, ln := range jsonLines(t, &buf) {
		if ln["type"] != "ExecutionSucceeded" {
			continue
		}
		id, _ := ln["execution"].(string)
		w, ok := want[id]
		if !ok {
			t.Fatalf("logged output of %q, which is no succeeded reading: %v", id, ln)
		}
		var wv any
		if err := json.Unmarshal(w, &wv); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ln["output"], wv) {
			t.Fatalf("logged output of %q\n%v\nwant\n%s", id, ln["output"], w)
		}
		checked++
	}
	if checked != len(want) {
		t.Fatalf("%d logged outputs, want %d", checked, len(want))
	}
}
