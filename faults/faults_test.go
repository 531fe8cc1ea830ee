package faults

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	env       *Env
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// testEnv builds cmd/express once for every scenario of the test binary.
func testEnv(t *testing.T) *Env {
	t.Helper()
	buildOnce.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "faults-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		t0 := time.Now()
		bin, err := Build(root, dir)
		if err != nil {
			buildErr = err
			return
		}
		env = &Env{Bin: bin, Root: root}
		t.Logf("built %s in %v", bin, time.Since(t0).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatalf("the express binary: %v", buildErr)
	}
	return env
}

// TestFaults runs the Short size of every scenario against the real
// binary. Scenarios run two at a time (t.Parallel, bounded by -parallel,
// which defaults to GOMAXPROCS).
func TestFaults(t *testing.T) {
	e := testEnv(t)
	for _, s := range Scenarios {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			te := *e
			te.Logf = t.Logf
			o := RunScenario(&te, s, false, t.TempDir())
			t.Logf("%s: %d records, %d results, %d lost, %d duplicates, in-flight after %v, health ok %v, max RSS %s, %v",
				o.Name, o.Records, o.Results, o.Lost, o.Duplicates, o.MaxInflight, o.HealthOK, MiB(o.MaxRSS), o.Elapsed.Round(time.Millisecond))
			for _, n := range o.Notes {
				t.Logf("note: %s", n)
			}
			if !o.Pass() {
				t.Errorf("%s broke %d invariant(s):\n  %s", o.Name, len(o.Failures), strings.Join(o.Failures, "\n  "))
			}
		})
	}
}

func TestMetricSum(t *testing.T) {
	body := "# HELP express_inflight_records x\nexpress_inflight_records{workflow=\"a\"} 3\nexpress_inflight_records{workflow=\"b\"} 4\nexpress_inflight_records_other 9\n"
	v, err := metricSum(body, "express_inflight_records")
	if err != nil || v != 7 {
		t.Fatalf("metricSum = %v, %v; want 7", v, err)
	}
	if _, err := metricSum(body, "express_missing"); err == nil {
		t.Fatal("a missing metric was found")
	}
}
