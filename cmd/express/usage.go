package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// Usages of the subcommands: the synopsis and what the command does; -h
// prints one followed by the flags.
const (
	validateUsage = `Usage: express validate FILE...
       express validate --config express.yaml [--allow-unmapped]

Checks state machine definitions (JSON or YAML) and prints every problem with
the JSON pointer of the field at fault; warnings do not fail the check.
With --config, checks a serve config: every field, every definition, and
every Task against the resource mappings (a Task with no target is an error,
a mapping no Task uses a warning). Exits 1 when there is an error.
`
	runUsage = `Usage: express run FILE [flags]
       express run [FILE] --config express.yaml [--workflow NAME] [flags]

Runs one execution of a state machine and prints its output JSON; a failed
execution prints its status, error and cause on stderr and exits 1.
Task resources are resolved as express serve resolves them: --resource
RESOURCE=TARGET (static:JSON, an http(s):// URL, kafka:TOPIC with --brokers),
or the resources of a workflow of a serve config (--config; FILE defaults to
that workflow's definition, --resource adds to its mappings). A Task with no
target is an error before the execution starts, unless --allow-unmapped.
--history prints the execution's event history after its result.
`
	testUsage = `Usage: express test [-v] [--config express.yaml [--workflow NAME]] [--mock-config MockConfigFile.json] PATH...

Runs workflow test cases (docs/testcase-format.md): files, or directories
walked for *.json (not *.asl.json). Task states answer from the case's mocks;
with --config (or a case's own "resources"), Task states without a mock call
the mapped targets, and a Task with neither mock nor target fails the case
before it runs, unless --allow-unmapped. With --mock-config (Step Functions
Local's mock configuration), cases naming a "mockTestCase" take their Task
results from it. -v also prints a failing case's event history.
`
	graphUsage = `Usage: express graph [--format mermaid|dot] FILE

Renders a state machine as a Mermaid or Graphviz DOT graph on stdout.
`
)

// newFlagSet is a subcommand's flag set whose -h prints usage and then
// the flags.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; done is true when the command is over (after -h,
// with status 0, or a flag error, status 2).
func parseFlags(fs *flag.FlagSet, args []string) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, true
		}
		return 2, true
	}
	return 0, false
}
