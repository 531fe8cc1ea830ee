package percpu

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestHistogramMatchesPrometheus: the same observations, from many
// goroutines at once, give the same buckets, count and sum as a
// prometheus.Histogram with the same bounds (bounds inclusive, a negative
// duration counted as 0).
func TestHistogramMatchesPrometheus(t *testing.T) {
	bounds := []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .3, .5, .7, 1, 1.1, 2.5, 5, 10, 30, 60, 300}
	h := NewHistogram(bounds)
	ph := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "x", Buckets: bounds})
	ds := []time.Duration{-time.Second, 0, 1, 99 * time.Microsecond, 100 * time.Microsecond, 100*time.Microsecond + 1,
		time.Millisecond, 3 * time.Millisecond, time.Second, 299 * time.Second, 300 * time.Second, 301 * time.Second, time.Hour}
	for _, b := range append(bounds, 0.3, 0.7, 1.1) { // every bound exactly, and a few that floats do not hold exactly
		ds = append(ds, time.Duration(math.Round(b*1e9)))
	}
	const workers, rounds = 8, 2000
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				for _, d := range ds {
					h.Observe(d)
					ph.Observe(max(d, 0).Seconds())
				}
			}
		}()
	}
	wg.Wait()
	var m dto.Metric
	if err := ph.Write(&m); err != nil {
		t.Fatal(err)
	}
	s := h.Snapshot()
	if want := m.Histogram.GetSampleCount(); s.Count != want || want != workers*rounds*uint64(len(ds)) {
		t.Errorf("count %d, prometheus %d", s.Count, want)
	}
	if want := m.Histogram.GetSampleSum(); s.Sum < want*0.999999 || s.Sum > want*1.000001 {
		t.Errorf("sum %v, prometheus %v", s.Sum, want)
	}
	for _, b := range m.Histogram.Bucket {
		if got := s.Cumulative[b.GetUpperBound()]; got != b.GetCumulativeCount() {
			t.Errorf("le %v: %d, prometheus %d", b.GetUpperBound(), got, b.GetCumulativeCount())
		}
	}
	if len(s.Cumulative) != len(bounds) {
		t.Errorf("%d buckets, want %d", len(s.Cumulative), len(bounds))
	}
}

// BenchmarkHistogram observes from every core at once, this histogram
// against a prometheus.Histogram:
//
//	go test -run '^$' -bench Histogram ./internal/percpu
func BenchmarkHistogram(b *testing.B) {
	bounds := []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}
	b.Run("percpu", func(b *testing.B) {
		h := NewHistogram(bounds)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h.Observe(40 * time.Microsecond)
			}
		})
	})
	b.Run("prometheus", func(b *testing.B) {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "x", Buckets: bounds})
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h.Observe((40 * time.Microsecond).Seconds())
			}
		})
	})
}
