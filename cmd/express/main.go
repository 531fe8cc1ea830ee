// Command express runs Amazon States Language workflows: as a Kafka stream
// processor (serve), once (run), against test cases (test); it checks
// definitions and serve configs (validate), draws state machines (graph),
// measures a daemon end to end (load) and prints its version (version).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/internal/jsonv"
)

const usage = `express: Step Functions Express workflows at Kafka speed

Usage:
  express serve [flags]                 run workflows over Kafka (see express serve -h)
  express validate FILE...              check state machine definitions
  express validate --config FILE        check a serve config and its definitions
  express run FILE [--input JSON|@file|-] [--resource RESOURCE=TARGET]... [--config FILE]
                                        run one execution, print its output
  express test [--config FILE] PATH...  run workflow test cases (files or directories)
  express graph [--format mermaid|dot] FILE
                                        render a state machine as a graph
  express load [flags]                  produce IoT readings into a topic and measure the daemon end to end
  express version

Every command prints its usage and flags with -h.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serveCmd(args[1:])
	case "validate":
		return validateCmd(args[1:], stdout, stderr)
	case "run":
		return runCmd(args[1:], stdin, stdout, stderr)
	case "test":
		return testCmd(args[1:], stdout, stderr)
	case "graph":
		return graphCmd(args[1:], stdout, stderr)
	case "load":
		return loadCmd(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "express", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "express: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func validateCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("validate", validateUsage, stderr)
	config := fs.String("config", "", "check a serve config `FILE` and every definition in it")
	allowUnmapped := fs.Bool("allow-unmapped", false, "with --config: report Tasks with no target as warnings, as serve --allow-unmapped runs them")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if *config != "" {
		return validateConfig(*config, *allowUnmapped, stdout, stderr)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	bad := 0
	for _, f := range fs.Args() {
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", f, err)
			bad++
			continue
		}
		probs := compile.Check(b) // warnings do not fail the check
		switch errs := len(probs.Errors()); {
		case len(probs) == 0:
			fmt.Fprintf(stdout, "%s: ok\n", f)
			continue
		case errs == 0:
			fmt.Fprintf(stdout, "%s: ok, %d warning(s)\n", f, len(probs))
		default:
			bad++
			fmt.Fprintf(stdout, "%s: %d problem(s)\n", f, errs)
		}
		for _, p := range probs.Sorted() {
			fmt.Fprintf(stdout, "  %s\n", p)
		}
	}
	if bad > 0 {
		return 1
	}
	return 0
}

// listFlag collects a repeatable flag.
type listFlag []string

func (m *listFlag) String() string     { return strings.Join(*m, ",") }
func (m *listFlag) Set(v string) error { *m = append(*m, v); return nil }

func printCompileError(w io.Writer, file string, err error) {
	var probs diag.Problems
	if errors.As(err, &probs) {
		fmt.Fprintf(w, "%s: %d problem(s)\n", file, len(probs))
		for _, p := range probs.Sorted() {
			fmt.Fprintf(w, "  %s\n", p)
		}
		return
	}
	fmt.Fprintf(w, "%v\n", err)
}

func baseName(file string) string {
	b := file
	if i := strings.LastIndexAny(b, "/\\"); i >= 0 {
		b = b[i+1:]
	}
	for _, ext := range []string{".asl.json", ".json", ".asl.yaml", ".yaml", ".yml"} {
		if s, ok := strings.CutSuffix(b, ext); ok {
			return s
		}
	}
	return b
}

func readInput(spec string, stdin io.Reader) (any, error) {
	var b []byte
	var err error
	switch {
	case spec == "-":
		b, err = io.ReadAll(stdin)
	case strings.HasPrefix(spec, "@"):
		b, err = os.ReadFile(spec[1:])
	default:
		b = []byte(spec)
	}
	if err != nil {
		return nil, err
	}
	v, err := jsonv.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	return v, nil
}
