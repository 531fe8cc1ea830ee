// Command express runs Amazon States Language workflows: as a Kafka stream
// processor (serve), once (run), against test cases (test); it checks
// definitions and serve configs (validate), draws state machines (graph),
// measures a daemon end to end (load) and prints its version (version).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
	"github.com/stepstream/express/mockconfig"
	"github.com/stepstream/express/resources"
	"github.com/stepstream/express/testcase"
)

const usage = `express: Step Functions Express workflows at Kafka speed

Usage:
  express serve [flags]                 run workflows over Kafka (see express serve -h)
  express validate FILE...              check state machine definitions
  express validate --config FILE        check a serve config and its definitions
  express run FILE [--input JSON|@file|-] [--resource RESOURCE=TARGET]...
                                        run one execution, print its output
  express test PATH...                  run workflow test cases (files or directories)
  express graph [--format mermaid|dot] FILE
                                        render a state machine as a graph
  express load [flags]                  produce IoT readings into a topic and measure the daemon end to end
  express version
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
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "check a serve config file and every definition in it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *config != "" {
		return validateConfigCmd(*config)
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: express validate FILE... | --config FILE")
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

func runCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	input := fs.String("input", "{}", "execution input: JSON text, @file, or - for standard input")
	name := fs.String("name", "", "execution name (idempotency key)")
	history := fs.Bool("history", false, "print the execution's event history after its result, as GetExecutionHistory's {\"events\":[...]}")
	var targets listFlag
	fs.Var(&targets, "resource", "RESOURCE=TARGET: where a Task resource goes, as in serve: static:JSON, an http(s):// URL (repeatable; kafka: targets need serve)")
	// Allow the definition file before or after the flags.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if file == "" {
		fmt.Fprintln(stderr, "usage: express run FILE [--input JSON|@file|-] [--resource RESOURCE=TARGET]...")
		return 2
	}
	in, err := readInput(*input, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "express run: --input: %v\n", err)
		return 2
	}
	// the targets are parsed and run by the same code as serve's
	routes := map[string][]resources.Target{}
	for _, r := range targets {
		res, spec, ok := strings.Cut(r, "=")
		if !ok || res == "" {
			fmt.Fprintf(stderr, "express run: --resource %q: want RESOURCE=TARGET\n", r)
			return 2
		}
		t, err := resources.ParseTarget(spec)
		if err != nil {
			fmt.Fprintf(stderr, "express run: --resource %q: %v\n", r, err)
			return 2
		}
		if t.Kind == resources.KindKafka {
			fmt.Fprintf(stderr, "express run: --resource %q: kafka: targets need a broker: use express serve\n", r)
			return 2
		}
		routes[res] = append(routes[res], t)
	}
	inv, err := resources.New(resources.Config{Routes: routes})
	if err != nil {
		fmt.Fprintf(stderr, "express run: --resource: %v\n", err)
		return 2
	}
	wf, err := compile.CompileFile(file, compile.Options{Name: baseName(file), Invoker: inv, CheckResource: inv.CheckResource})
	if err != nil {
		printCompileError(stderr, file, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var hist *express.History
	if *history {
		hist = &express.History{}
		defer printHistory(stdout, hist)
	}
	res := wf.Execute(ctx, in, express.ExecOptions{Name: *name, History: hist})
	if res.Status != express.Succeeded {
		fmt.Fprintf(stderr, "%s\nerror: %s\ncause: %s\n", res.Status, res.Error, res.Cause)
		return 1
	}
	fmt.Fprintln(stdout, jsonv.Marshal(res.Output))
	return 0
}

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

// printHistory writes a history as the Step Functions API's
// GetExecutionHistory answer, one event per line.
func printHistory(w io.Writer, h *express.History) {
	fmt.Fprintln(w, `{"events":[`)
	ev := h.Events()
	for i, e := range ev {
		b, _ := e.MarshalJSON()
		sep := ","
		if i == len(ev)-1 {
			sep = ""
		}
		fmt.Fprintf(w, "  %s%s\n", b, sep)
	}
	fmt.Fprintln(w, "]}")
}

func testCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("v", false, "print a line for every case, not only failures")
	mockFile := fs.String("mock-config", "", "a Step Functions Local mock configuration (MockConfigFile.json): cases with \"mockTestCase\" take their Task results from it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var opts testcase.RunOptions
	if *mockFile != "" {
		mc, err := mockconfig.Load(*mockFile)
		if err != nil {
			fmt.Fprintf(stderr, "express test: --mock-config %v\n", err)
			return 2
		}
		opts.MockConfig = mc
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: express test [-v] PATH...")
		return 2
	}
	files, err := testcase.Collect(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "express test: %v\n", err)
		return 2
	}
	passed, failed := 0, 0
	for _, f := range files {
		c, err := testcase.Load(f)
		if errors.Is(err, testcase.ErrMockConfig) {
			continue
		}
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL %s: %v\n", f, err)
			continue
		}
		opts.History = *verbose
		o := c.RunWith(context.Background(), opts)
		if o.Passed {
			passed++
			if *verbose {
				fmt.Fprintf(stdout, "ok   %s\n", c.Name)
			}
			continue
		}
		failed++
		fmt.Fprintf(stdout, "FAIL %s (%s): %s\n", c.Name, f, o.Problem)
		if *verbose && o.History != nil {
			printHistory(stdout, o.History)
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}
