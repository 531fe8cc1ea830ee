package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/stepstream/express/daemon/config"
)

// validateConfig implements `express validate --config FILE`: it checks
// the config and compiles every definition in it without connecting,
// checks every Task against the resource mappings, prints each problem
// with the field at fault, and returns 0 when there is no error.
func validateConfig(path string, allowUnmapped bool, stdout, stderr io.Writer) int {
	f, err := config.Load(path)
	if err != nil {
		printProblems(stderr, path, err)
		return 1
	}
	for i := range f.Workflows {
		f.Workflows[i].AllowUnmapped = f.Workflows[i].AllowUnmapped || allowUnmapped
	}
	ws, err := config.Check(f, config.CompileOptions{})
	if err != nil {
		printProblems(stderr, path, err)
		return 1
	}
	for _, w := range ws {
		fmt.Fprintf(stdout, "%s: workflow %q OK (%d states; topics %v → output %q, DLQ %q)\n", path, w.Config.Name,
			len(w.Workflow.Machine.States), w.Options.Topics, w.Options.OutputTopic, w.Options.DLQTopic)
		printWarnings(stdout, path, w)
		for _, p := range w.ConfigWarnings.Sorted() {
			fmt.Fprintf(stdout, "  warning: %s\n", p)
		}
	}
	return 0
}

// printWarnings prints a resolved workflow's warnings: the config's (at
// /workflows/…) after the config file's path, the definition's after the
// definition's.
func printWarnings(w io.Writer, path string, r *config.Resolved) {
	for _, p := range r.Warnings.Sorted() {
		if strings.HasPrefix(p.Pointer, "/workflows/") {
			fmt.Fprintf(w, "  %s: %s\n", path, p)
		} else {
			fmt.Fprintf(w, "  %s: %s\n", r.Config.Definition, p)
		}
	}
}
