package main

import (
	"fmt"
	"io"
	"os"

	"github.com/stepstream/express/daemon/config"
)

// validateConfigCmd implements `express validate --config FILE`: it checks
// the config and compiles every definition in it without connecting, prints
// each problem with the field at fault, and returns 0 when there is none.
func validateConfigCmd(path string) int {
	return validateConfig(path, os.Stdout, os.Stderr)
}

func validateConfig(path string, stdout, stderr io.Writer) int {
	f, err := config.Load(path)
	if err != nil {
		printProblems(stderr, path, err)
		return 1
	}
	ws, err := config.Check(f, config.CompileOptions{})
	if err != nil {
		printProblems(stderr, path, err)
		return 1
	}
	for _, w := range ws {
		fmt.Fprintf(stdout, "%s: workflow %q OK (%d states; topics %v → output %q, DLQ %q)\n", path, w.Config.Name,
			len(w.Workflow.Machine.States), w.Options.Topics, w.Options.OutputTopic, w.Options.DLQTopic)
		for _, p := range w.Warnings.Sorted() {
			fmt.Fprintf(stdout, "  %s: %s\n", w.Config.Definition, p)
		}
		for _, p := range w.ConfigWarnings.Sorted() {
			fmt.Fprintf(stdout, "  warning: %s\n", p)
		}
	}
	return 0
}
