package load

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/daemon"
	"github.com/stepstream/express/daemon/config"
)

// startDaemon runs `express serve`'s daemon with the reference workflow on
// its embedded broker (127.0.0.1, any port) and returns the broker address.
func startDaemon(t *testing.T, ordering string) string {
	t.Helper()
	w := daemon.DemoWorkflow()
	w.Ordering = ordering
	f := &config.File{Workflows: []config.Workflow{w}, DrainTimeout: config.Duration(5 * time.Second)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d, err := daemon.Start(ctx, f, daemon.Options{EmbeddedPartitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	return d.Brokers[0]
}

// TestRunAgainstDaemon produces a few thousand readings into the daemon and
// checks that the report accounts for every one of them.
func TestRunAgainstDaemon(t *testing.T) {
	addr := startDaemon(t, "key")
	const n = 3000
	var samples int
	rep, err := Run(context.Background(), Options{ClientOpts: []kgo.Opt{kgo.SeedBrokers(addr)}, Topic: "readings",
		OutputTopic: "readings-out", DLQTopic: "readings-dlq", Group: "express-iot-reference",
		Records: n, Rate: 20000, Devices: 50, OutOfRangePercent: 5, Drain: 30 * time.Second,
		Interval: 100 * time.Millisecond, Progress: func(Sample, *Report) { samples++ }})
	if err != nil {
		t.Fatal(err)
	}
	var tbl bytes.Buffer
	rep.WriteTable(&tbl)
	t.Log(tbl.String())
	if rep.Produced != n || rep.Output+rep.DLQ != n || rep.Missing != 0 || rep.Duplicates != 0 || rep.Foreign != 0 || !rep.AllBack() {
		t.Fatalf("produced %d, output %d, dlq %d, missing %d, duplicates %d, foreign %d", rep.Produced, rep.Output, rep.DLQ, rep.Missing, rep.Duplicates, rep.Foreign)
	}
	// 5% out of range: the Fail path; the rest succeeds
	if rep.DLQ < n/50 || rep.DLQ > n/10 {
		t.Errorf("%d dead letters of %d, want about 5%%", rep.DLQ, n)
	}
	if rep.P99 < rep.P50 || rep.P999 < rep.P99 || rep.Max < rep.P999 {
		t.Errorf("latency p50 %s p99 %s p99.9 %s max %s", rep.P50, rep.P99, rep.P999, rep.Max)
	}
	if samples == 0 || len(rep.Series) != samples {
		t.Errorf("%d progress calls, %d samples", samples, len(rep.Series))
	}
	if !strings.Contains(tbl.String(), "all back                     yes") {
		t.Errorf("table:\n%s", tbl.String())
	}

	// A second run on the same topics counts only its own records.
	rep2, err := Run(context.Background(), Options{ClientOpts: []kgo.Opt{kgo.SeedBrokers(addr)}, Topic: "readings",
		OutputTopic: "readings-out", DLQTopic: "readings-dlq", Records: 500, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Produced != 500 || rep2.Output+rep2.DLQ != 500 || rep2.Foreign != 0 || rep2.PeakLag != -1 {
		t.Fatalf("second run: %+v", rep2)
	}
}

func TestTrackerDuplicatesAndEarlyResults(t *testing.T) {
	base := time.Unix(1000, 0)
	tr := newTracker(base)
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	tr.acked(0, 5, at(0))
	tr.result(0, 5, at(3), false)
	tr.result(0, 5, at(9), false) // duplicate
	tr.result(1, 7, at(4), true)  // before its acknowledgement
	tr.result(1, 7, at(5), true)  // and again
	tr.acked(1, 7, at(1))
	tr.result(2, 0, at(1), false) // not ours
	tr.acked(3, 0, at(0))         // never comes back
	for off := int64(0); off < 3*chunkSize; off++ {
		tr.acked(4, off, at(0))
		tr.result(4, off, at(2), false)
	}
	tr.result(4, 10, at(20), false) // duplicate in a freed chunk
	if tr.produced != 3+3*chunkSize || tr.output != 1+3*chunkSize || tr.dlq != 1 || tr.duplicates != 3 || tr.foreign() != 1 {
		t.Fatalf("produced %d output %d dlq %d duplicates %d foreign %d", tr.produced, tr.output, tr.dlq, tr.duplicates, tr.foreign())
	}
	if c := tr.parts[4].chunks[0]; c.in != nil {
		t.Error("the first chunk of partition 4 kept its timestamps")
	}
	if q := tr.total.quantile(0.5); q != 2*time.Millisecond {
		t.Errorf("p50 %s", q)
	}
	if q := tr.total.quantile(1); q != 3*time.Millisecond {
		t.Errorf("max %s", q)
	}
}

func TestSVGAndCSV(t *testing.T) {
	r := &Report{Produced: 10, Output: 9, DLQ: 1, Series: []Sample{
		{At: time.Second, InRate: 1000, OutRate: 900, P50: 2 * time.Millisecond, P99: 9 * time.Millisecond, Lag: 10, Outstanding: 5},
		{At: 2 * time.Second, InRate: 1200, OutRate: 1300, P50: 3 * time.Millisecond, P99: 12 * time.Millisecond, Lag: -1},
	}}
	var svg, csv bytes.Buffer
	if err := r.WriteSVG(&svg, "a <title>"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(svg.String(), "<svg") || strings.Count(svg.String(), "<polyline") != 6 || !strings.Contains(svg.String(), "a &lt;title&gt;") {
		t.Errorf("svg:\n%s", svg.String())
	}
	if err := r.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	want := "seconds,in_per_s,out_per_s,p50_ms,p99_ms,lag,outstanding\n1.000,1000,900,2,9,10,5\n2.000,1200,1300,3,12,-1,0\n"
	if csv.String() != want {
		t.Errorf("csv:\n%s", csv.String())
	}
	if group(1234567) != "1,234,567" || group(-1000) != "-1,000" || group(12) != "12" {
		t.Error("group")
	}
}

func TestTrackerWarmup(t *testing.T) {
	base := time.Unix(1000, 0)
	tr := newTracker(base)
	tr.warmup = 100
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	tr.acked(0, 0, at(50)) // in the warm-up
	tr.result(0, 0, at(550), false)
	tr.acked(0, 1, at(200))
	tr.result(0, 1, at(205), false)
	if tr.output != 2 || tr.total.n != 1 || tr.total.quantile(1) != 5*time.Millisecond || tr.interval.n != 2 {
		t.Fatalf("output %d, total %d (max %s), interval %d", tr.output, tr.total.n, tr.total.quantile(1), tr.interval.n)
	}
}
