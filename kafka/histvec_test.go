package kafka

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestDurationHistogramsExposition: express_execution_duration_seconds and
// express_task_duration_seconds (per-P histograms read at scrape time)
// expose exactly what the prometheus.HistogramVecs they replace exposed
// for the same observations: names, help, labels, buckets and counts, and
// the sum to within float rounding.
func TestDurationHistogramsExposition(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	durBuckets := []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}
	ref := prometheus.NewRegistry()
	refExec := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "express_execution_duration_seconds",
		Help: "Execution duration.", Buckets: durBuckets}, []string{"workflow"})
	refTask := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "express_task_duration_seconds",
		Help: "Task invocation latency, per attempt.", Buckets: durBuckets}, []string{"workflow", "resource"})
	ref.MustRegister(refExec, refTask)

	hooks := m.Hooks("w")
	exec := m.duration.with("w")
	ds := []time.Duration{0, 40 * time.Microsecond, 100 * time.Microsecond, 100*time.Microsecond + 1, 3 * time.Millisecond,
		time.Second, 300 * time.Second, time.Hour}
	for i := range 1000 {
		d := ds[i%len(ds)]
		exec.Observe(d)
		refExec.WithLabelValues("w").Observe(d.Seconds())
		res := []string{"arn:a", "arn:b"}[i%2]
		hooks.TaskDone(nil, "S", res, d, nil)
		refTask.WithLabelValues("w", res).Observe(d.Seconds())
	}
	names := []string{"express_execution_duration_seconds", "express_task_duration_seconds"}
	got, want := familiesText(t, reg, names...), familiesText(t, ref, names...)
	gotSums, wantSums := sums(t, &got), sums(t, &want)
	if got != want {
		t.Errorf("exposition:\n%s\nwant:\n%s", got, want)
	}
	if len(gotSums) != 3 || len(gotSums) != len(wantSums) {
		t.Fatalf("sums %v, want %v", gotSums, wantSums)
	}
	for i := range gotSums {
		if math.Abs(gotSums[i]-wantSums[i]) > 1e-9*wantSums[i] {
			t.Errorf("sum %d: %v, want %v", i, gotSums[i], wantSums[i])
		}
	}
}

// sums cuts the _sum lines out of text and returns their values.
func sums(t *testing.T, text *string) []float64 {
	t.Helper()
	var out []float64
	var keep []string
	for _, l := range strings.SplitAfter(*text, "\n") {
		if name, _, _ := strings.Cut(l, "{"); strings.HasSuffix(name, "_sum") {
			v, err := strconv.ParseFloat(strings.TrimSpace(l[strings.LastIndexByte(l, ' ')+1:]), 64)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
			continue
		}
		keep = append(keep, l)
	}
	*text = strings.Join(keep, "")
	return out
}
