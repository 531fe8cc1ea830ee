// Command faultsuite runs the fault-injection scenarios of package faults
// against the real express binary and prints a Markdown table of the
// results.
//
//	go run ./faults/cmd/faultsuite -full            # every scenario, full size
//	go run ./faults/cmd/faultsuite -run kill9,hung-http
//
// It exits 1 when a scenario broke an invariant.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/stepstream/express/faults"
)

func main() {
	full := flag.Bool("full", false, "run the Full size of each scenario (default: the Short size the tests run)")
	run := flag.String("run", "", "comma-separated scenario names (default: all)")
	quiet := flag.Bool("q", false, "no progress log on stderr")
	keep := flag.Bool("keep", false, "keep the working directory (daemon logs, definitions) and print its path")
	flag.Parse()

	var mu sync.Mutex
	logf := func(format string, args ...any) {
		if *quiet {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
	var list []faults.Scenario
	if *run == "" {
		list = faults.Scenarios
	} else {
		for _, n := range strings.Split(*run, ",") {
			s, ok := faults.Lookup(strings.TrimSpace(n))
			if !ok {
				fmt.Fprintf(os.Stderr, "faultsuite: no scenario %q\n", n)
				os.Exit(2)
			}
			list = append(list, s)
		}
	}
	root, err := faults.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "faultsuite:", err)
		os.Exit(2)
	}
	tmp, err := os.MkdirTemp("", "faultsuite-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faultsuite:", err)
		os.Exit(2)
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "faultsuite: working directory", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	bin, err := faults.Build(root, tmp)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faultsuite:", err)
		os.Exit(2)
	}
	env := &faults.Env{Bin: bin, Root: root, Logf: logf}
	t0 := time.Now()
	var outs []faults.Outcome
	for _, s := range list {
		dir, err := os.MkdirTemp(tmp, s.Name+"-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "faultsuite:", err)
			os.Exit(2)
		}
		logf("=== %s: %s", s.Name, s.About)
		o := faults.RunScenario(env, s, *full, dir)
		logf("=== %s: pass=%v in %v", s.Name, o.Pass(), o.Elapsed.Round(time.Millisecond))
		outs = append(outs, o)
	}
	size := "short"
	if *full {
		size = "full"
	}
	fmt.Printf("Fault suite, %s size, %s, %v in all.\n\n", size, time.Now().Format("2006-01-02 15:04 MST"), time.Since(t0).Round(time.Second))
	fmt.Print(faults.Markdown(outs))
	failed := false
	for _, o := range outs {
		if len(o.Failures) > 0 || len(o.Notes) > 0 {
			fmt.Printf("\n**%s**\n\n", o.Name)
		}
		for _, f := range o.Failures {
			failed = true
			fmt.Printf("- FAIL: %s\n", indent(f))
		}
		for _, n := range o.Notes {
			fmt.Printf("- %s\n", indent(n))
		}
	}
	if failed {
		os.Exit(1)
	}
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }
