package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/daemon/config"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
	"github.com/stepstream/express/mockconfig"
	"github.com/stepstream/express/resources"
	"github.com/stepstream/express/testcase"
)

// resolveFlags are the flags run and test share to find Task targets as
// serve does.
type resolveFlags struct {
	config        *string
	workflow      *string
	brokers       *string
	allowUnmapped *bool
	targets       listFlag
}

func addResolveFlags(fs *flag.FlagSet) *resolveFlags {
	r := &resolveFlags{}
	r.config = fs.String("config", "", "take Task resource mappings (and the definition) from a workflow of this serve config `FILE`")
	r.workflow = fs.String("workflow", "", "with --config: the workflow's `NAME` (default: the one whose definition is FILE, or the only one)")
	r.brokers = fs.String("brokers", "", "Kafka `host:port,...` for kafka: targets (default: the config's brokers)")
	r.allowUnmapped = fs.Bool("allow-unmapped", false, "let Tasks with no target fail when they run (States.TaskFailed) instead of refusing to start")
	fs.Var(&r.targets, "resource", "`RESOURCE=TARGET`: where a Task resource goes, as in serve: static:JSON, an http(s):// URL or kafka:TOPIC (repeatable; adds to the config's mappings)")
	return r
}

// resolver holds what the flags resolved to: the config file (given or
// made of the flags) and the chosen workflow, and the Kafka producer of
// kafka: targets (closed by close).
type resolver struct {
	file   *config.File
	index  int
	path   string // the config file, "" when made of flags
	client *kgo.Client
}

// resolve builds the serve config that run and test use: the --config
// file's workflow for definition (or the only one), or a workflow made of
// definition; --resource adds mappings. A Kafka client is made when a
// mapping has a kafka: target.
func (r *resolveFlags) resolve(definition string) (*resolver, error) {
	rs := &resolver{path: *r.config}
	if *r.config == "" {
		rs.file = &config.File{Workflows: []config.Workflow{{Name: baseName(definition), Definition: definition}}}
	} else {
		f, err := config.Load(*r.config)
		if err != nil {
			return nil, err
		}
		rs.file = f
		if rs.index, err = pickWorkflow(f, *r.workflow, definition); err != nil {
			return nil, err
		}
		if definition != "" {
			abs, err := filepath.Abs(definition)
			if err != nil {
				return nil, err
			}
			f.Workflows[rs.index].Definition = abs
		}
	}
	w := &rs.file.Workflows[rs.index]
	w.AllowUnmapped = w.AllowUnmapped || *r.allowUnmapped
	if w.Resources == nil {
		w.Resources = map[string]config.Targets{}
	}
	for _, t := range r.targets {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return nil, usageError(fmt.Sprintf("--resource %q: want RESOURCE=TARGET", t))
		}
		if _, fromFile := w.Resources[k]; fromFile && *r.config != "" {
			w.Resources[k] = nil // the flag replaces the file's mapping
		}
		w.Resources[k] = append(w.Resources[k], v)
	}
	if *r.brokers != "" {
		rs.file.Brokers = splitList(*r.brokers)
	}
	if kafkaTargets(w) {
		if len(rs.file.Brokers) == 0 {
			return nil, usageError("kafka: targets need a broker: give --brokers (or brokers in the config)")
		}
		opts, err := rs.file.ClientOpts()
		if err != nil {
			return nil, err
		}
		if rs.client, err = kgo.NewClient(opts...); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// usageError is a mistake in the flags (exit status 2).
type usageError string

func (e usageError) Error() string { return string(e) }

// pickWorkflow finds the config's workflow named name, else the one
// whose definition is definition, else the only one.
func pickWorkflow(f *config.File, name, definition string) (int, error) {
	var names []string
	for i := range f.Workflows {
		w := &f.Workflows[i]
		w.SetDefaults()
		names = append(names, w.Name)
		if name != "" && w.Name == name {
			return i, nil
		}
	}
	if name != "" {
		return 0, usageError(fmt.Sprintf("--workflow %q: the config has %s", name, strings.Join(names, ", ")))
	}
	if definition != "" {
		want, _ := filepath.Abs(definition)
		for i, w := range f.Workflows {
			got := w.Definition
			if !filepath.IsAbs(got) {
				got = filepath.Join(f.Dir, got)
			}
			if abs, _ := filepath.Abs(got); abs == want {
				return i, nil
			}
		}
	}
	if len(f.Workflows) == 1 {
		return 0, nil
	}
	return 0, usageError(fmt.Sprintf("the config has %d workflows (%s): pick one with --workflow", len(f.Workflows), strings.Join(names, ", ")))
}

// kafkaTargets reports whether a mapping of w has a kafka: target.
func kafkaTargets(w *config.Workflow) bool {
	for _, ts := range w.Resources {
		for _, s := range ts {
			if t, err := resources.ParseTarget(s); err == nil && t.Kind == resources.KindKafka {
				return true
			}
		}
	}
	return false
}

// check resolves the chosen workflow with the code serve uses
// (config.CheckWorkflow): its mappings, definition and Tasks.
func (rs *resolver) check() (*config.Resolved, error) {
	var co config.CompileOptions
	if rs.client != nil {
		co.Producer = rs.client
	}
	return config.CheckWorkflow(rs.file, rs.index, co)
}

func (rs *resolver) close() {
	if rs.client != nil {
		rs.client.Close()
	}
}

// printProblem prints a resolution error: a config's problems as
// serve prints them; those of a workflow made of flags without the
// config pointers (--resource K, or the definition's own pointers).
func (rs *resolver) printProblem(w io.Writer, prefix string, err error) {
	ps, ok := err.(config.Problems)
	if !ok || rs.path != "" {
		printProblems(w, prefix+": "+rs.path, err)
		return
	}
	for _, p := range ps {
		ptr, msg := p.Pointer, p.Message
		if r, ok := strings.CutPrefix(ptr, "/workflows/0/resources/"); ok {
			fmt.Fprintf(w, "%s: --resource %s: %s\n", prefix, strings.ReplaceAll(strings.ReplaceAll(r, "~1", "/"), "~0", "~"), msg)
		} else {
			fmt.Fprintf(w, "%s: %s\n", prefix, msg)
		}
	}
}

func runCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", runUsage, stderr)
	input := fs.String("input", "{}", "execution input: JSON text, @file, or - for standard input")
	name := fs.String("name", "", "execution name (idempotency key)")
	history := fs.Bool("history", false, "print the execution's event history after its result, as GetExecutionHistory's {\"events\":[...]}")
	rf := addResolveFlags(fs)
	// Allow the definition file before or after the flags.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if file == "" && *rf.config == "" {
		fs.Usage()
		return 2
	}
	in, err := readInput(*input, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "express run: --input: %v\n", err)
		return 2
	}
	rs, err := rf.resolve(file)
	if err != nil {
		return exitFor(stderr, "express run", err)
	}
	defer rs.close()
	r, err := rs.check()
	if err != nil {
		rs.printProblem(stderr, "express run", err)
		return 1
	}
	printWarnings(stderr, cmpOr(rs.path, "--resource"), r)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var hist *express.History
	if *history {
		hist = &express.History{}
		defer printHistory(stdout, hist)
	}
	res := r.Workflow.Execute(ctx, in, express.ExecOptions{Name: *name, History: hist})
	if res.Status != express.Succeeded {
		fmt.Fprintf(stderr, "%s\nerror: %s\ncause: %s\n", res.Status, res.Error, res.Cause)
		return 1
	}
	fmt.Fprintln(stdout, jsonv.Marshal(res.Output))
	return 0
}

// exitFor prints a resolution error and returns its exit status: 2 for
// a usage mistake, 1 otherwise.
func exitFor(stderr io.Writer, prefix string, err error) int {
	if _, ok := err.(usageError); ok {
		fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
		return 2
	}
	printProblems(stderr, prefix, err)
	return 1
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
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
	fs := newFlagSet("test", testUsage, stderr)
	verbose := fs.Bool("v", false, "print a line for every case, not only failures, and a failing case's event history")
	mockFile := fs.String("mock-config", "", "a Step Functions Local mock configuration (MockConfigFile.json): cases with \"mockTestCase\" take their Task results from it")
	rf := addResolveFlags(fs)
	if code, done := parseFlags(fs, args); done {
		return code
	}
	var mc *mockconfig.File
	if *mockFile != "" {
		var err error
		if mc, err = mockconfig.Load(*mockFile); err != nil {
			fmt.Fprintf(stderr, "express test: --mock-config %v\n", err)
			return 2
		}
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	files, err := testcase.Collect(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "express test: %v\n", err)
		return 2
	}
	var base *resolver // the config's workflow, whose mappings every case gets
	if *rf.config != "" || len(rf.targets) > 0 {
		if base, err = rf.resolve(""); err != nil {
			return exitFor(stderr, "express test", err)
		}
		defer base.close()
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
		ro, err := caseOptions(c, base, *rf.allowUnmapped)
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL %s (%s): %v\n", c.Name, f, err)
			continue
		}
		ro.MockConfig, ro.History = mc, *verbose
		o := c.RunWith(context.Background(), ro)
		if o.Passed {
			passed++
			if *verbose {
				fmt.Fprintf(stdout, "ok   %s\n", c.Name)
			}
			continue
		}
		failed++
		fmt.Fprintf(stdout, "FAIL %s (%s): %s\n", c.Name, f, o.Problem)
		if o.History != nil {
			printHistory(stdout, o.History)
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// caseOptions is how a case's unmocked Task states are answered: by the
// targets of the config's workflow (base, nil without --config) and the
// case's own "resources" (which win), resolved as serve resolves them, and
// checked before the run (config.CheckMappings, mocked states exempt).
// A case with neither keeps the plain rule: every Task needs a mock.
func caseOptions(c *testcase.Case, base *resolver, allowUnmapped bool) (testcase.RunOptions, error) {
	if base == nil && len(c.Resources) == 0 {
		return testcase.RunOptions{}, nil
	}
	var cfg resources.Config
	cfg.Routes = map[string][]resources.Target{}
	if base != nil {
		w := base.file.Workflows[base.index]
		allowUnmapped = allowUnmapped || w.AllowUnmapped
		cfg.HTTPTimeout = time.Duration(w.HTTPTimeout)
		if base.client != nil {
			cfg.Producer = base.client
		}
		if err := addRoutes(cfg.Routes, w.Resources, "config"); err != nil {
			return testcase.RunOptions{}, err
		}
	}
	own := map[string]config.Targets{}
	for k, v := range c.Resources {
		own[k] = v
		delete(cfg.Routes, k)
	}
	if err := addRoutes(cfg.Routes, own, "resources"); err != nil {
		return testcase.RunOptions{}, err
	}
	for _, ts := range cfg.Routes {
		if cfg.Producer == nil && slices.ContainsFunc(ts, func(t resources.Target) bool { return t.Kind == resources.KindKafka }) {
			return testcase.RunOptions{}, fmt.Errorf("kafka: targets need a broker: give --brokers")
		}
	}
	inv, err := resources.New(cfg)
	if err != nil {
		return testcase.RunOptions{}, err
	}
	ro := testcase.RunOptions{Invoker: inv}
	if !allowUnmapped {
		ro.Check = func(tasks []compile.TaskRef, mocked func(string) bool) diag.Problems {
			errs, _ := config.CheckMappings(tasks, cfg.Routes, inv, mocked)
			return errs
		}
	}
	return ro, nil
}

// addRoutes parses targets into routes; where names the source in errors.
func addRoutes(routes map[string][]resources.Target, targets map[string]config.Targets, where string) error {
	for _, k := range slices.Sorted(maps.Keys(targets)) {
		for _, s := range targets[k] {
			t, err := resources.ParseTarget(s)
			if err != nil {
				return fmt.Errorf("%s: %s: %v", where, k, err)
			}
			routes[k] = append(routes[k], t)
		}
	}
	return nil
}
