package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepstream/express/internal/testutil"
)

// TestMain lets the test binary be the broker process too, as the harness
// re-executes itself (`e2e broker`).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "broker" {
		if err := broker(os.Args[2:]); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestHarness runs the whole harness on a few thousand readings: it
// builds express and the passthrough, starts the broker process, loads the
// realistic mix, and measures every kind of run; the daemon dead-letters
// about 60% of the records and the summary has both tables.
func TestHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs four programs")
	}
	var out testutil.SyncBuffer
	dir := t.TempDir()
	ms, err := run([]string{"-records", "3000", "-rounds", "2", "-partitions", "4", "-out", dir, "-profile", "-profile-seconds", "1"}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log(out.String())
	kinds := map[string]int{}
	for _, m := range ms {
		kinds[m.Kind]++
		if m.Rate <= 0 || m.CPUUs <= 0 {
			t.Errorf("%s round %d: %.0f rec/s, %.2f us CPU/record", m.Kind, m.Round, m.Rate, m.CPUUs)
		}
		if strings.HasPrefix(m.Kind, "daemon") && (m.DLQShare < 0.55 || m.DLQShare > 0.65) {
			t.Errorf("daemon round %d: %.3f dead-lettered, want about 0.60", m.Round, m.DLQShare)
		}
		var fetched float64
		if _, err := fmt.Sscanf(m.Kafka, "kafka bytes/record: fetched %f", &fetched); strings.HasPrefix(m.Kind, "daemon") &&
			(err != nil || fetched < 100 || fetched > 400) { // ~210-byte readings, each fetched once
			t.Errorf("daemon round %d: %q", m.Round, m.Kafka)
		}
		if strings.HasPrefix(m.Kind, "passthrough") && !strings.Contains(m.Self, `"records":3000`) {
			t.Errorf("passthrough's own report %q", m.Self)
		}
	}
	for k, want := range map[string]int{"produce-only (load)": 1, "consume-only": 2, "produce-only": 2, "passthrough": 2, "daemon": 2,
		"passthrough (profiled)": 1, "daemon (profiled)": 1} {
		if kinds[k] != want {
			t.Errorf("%d %q runs, want %d: %v", kinds[k], k, want, kinds)
		}
	}
	for _, f := range []string{"daemon.pprof", "passthrough.pprof"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("profile %s: %v", f, err)
		}
	}
	for _, want := range []string{"| passthrough |", "| daemon |", "| consume-only |", "| median |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}
