package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stepstream/express/daemon"
	"github.com/stepstream/express/daemon/config"
	"github.com/stepstream/express/internal/testutil"
)

func TestLoadFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--rate", "-1"},
		{"--records", "-5"},
		{"--out-of-range", "101"},
		{"--mix", "all"},
		{"--topic", ""},
		{"--brokers", ""},
		{"extra"},
		{"--nope"},
		{"--cpuprofile", "/nonexistent-dir/cpu.pprof"},
	} {
		var out, errb bytes.Buffer
		if code := loadMain(args, &out, &errb, context.Background()); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := loadMain([]string{"-h"}, &out, &errb, context.Background()); code != 0 || !strings.Contains(errb.String(), "-payload-bytes") {
		t.Errorf("-h: exit %d\n%s", code, errb.String())
	}
}

// TestLoadCommand runs `express load` against the daemon of `express
// serve` on its embedded broker and checks the report, the CSV and the
// chart.
func TestLoadCommand(t *testing.T) {
	f := &config.File{Workflows: []config.Workflow{daemon.DemoWorkflow()}, DrainTimeout: config.Duration(5 * time.Second)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d, err := daemon.Start(ctx, f, daemon.Options{EmbeddedPartitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	addr := d.Brokers[0]
	dir := t.TempDir()
	csv, svg, prof := filepath.Join(dir, "load.csv"), filepath.Join(dir, "load.svg"), filepath.Join(dir, "cpu.pprof")
	var out, errb testutil.SyncBuffer
	code := loadMain([]string{"--brokers", addr, "--records", "2000", "--rate", "10000", "--interval", "50ms",
		"--csv", csv, "--chart", svg, "--cpuprofile", prof}, &out, &errb, context.Background())
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"records produced             2,000", "missing                      0", "duplicates                   0",
		"all back                     yes", "p99.9"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errb.String(), "back ") {
		t.Errorf("no progress line:\n%s", errb.String())
	}
	b, err := os.ReadFile(csv)
	if err != nil || !strings.HasPrefix(string(b), "seconds,in_per_s,") || strings.Count(string(b), "\n") < 2 {
		t.Errorf("csv %v:\n%s", err, b)
	}
	b, err = os.ReadFile(svg)
	if err != nil || !strings.HasPrefix(string(b), "<svg") || !strings.Contains(string(b), "<polyline") {
		t.Errorf("svg %v:\n%.300s", err, b)
	}
	// a CPU profile is a gzipped protocol buffer
	if b, err = os.ReadFile(prof); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("cpu profile %v: %d bytes", err, len(b))
	}
}

// TestLoadUsageCommandWorks: the serve command load -h shows names a
// definition that exists from the root of the repository, and with the
// resource it gives that definition runs (as `express run`).
func TestLoadUsageCommandWorks(t *testing.T) {
	def := regexp.MustCompile(`--definition (\S+)`).FindStringSubmatch(loadUsage)
	res := regexp.MustCompile(`--resource '([^']+)'`).FindStringSubmatch(loadUsage)
	if def == nil || res == nil {
		t.Fatalf("load's usage shows no serve command:\n%s", loadUsage)
	}
	path := filepath.Join("..", "..", def[1]) // the repository's root
	reading := `{"deviceId":"dev-1","ts":"2026-11-22T10:00:00Z","type":"temperature","value":21.5,"unit":"C","battery":0.9,"tags":[]}`
	code, out, errOut := runCLI(t, "", "run", path, "--input", reading, "--resource", res[1])
	if code != 0 || !strings.Contains(out, `"site":"plant-1"`) {
		t.Fatalf("%s --resource %s: exit %d, %q %q", def[1], res[1], code, out, errOut)
	}
	if config.DefaultName(def[1]) != strings.TrimPrefix(loadDefaultGroup, "express-") {
		t.Errorf("the serve command's group express-%s is not load's default %q", config.DefaultName(def[1]), loadDefaultGroup)
	}
}
