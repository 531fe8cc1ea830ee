package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/graph"
)

// graphCmd renders a state machine as Mermaid or DOT (see package graph).
func graphCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("graph", graphUsage, stderr)
	format := fs.String("format", "mermaid", "output format: mermaid or dot")
	// Allow the definition file before or after the flags.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		file = ""
	}
	if file == "" {
		fs.Usage()
		return 2
	}
	render := graph.Mermaid
	switch *format {
	case "mermaid":
	case "dot":
		render = graph.DOT
	default:
		fmt.Fprintf(stderr, "express graph: --format %q: want mermaid or dot\n", *format)
		return 2
	}
	b, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "express graph: %v\n", err)
		return 1
	}
	def, err := compile.Parse(b)
	if err != nil {
		fmt.Fprintf(stderr, "express graph: %s: %v\n", file, err)
		return 1
	}
	out, err := render(def)
	if err != nil {
		// The compiler's problems that leave the shape unknown.
		fmt.Fprint(stderr, "express graph: ")
		printCompileError(stderr, file, err)
		return 1
	}
	fmt.Fprint(stdout, out)
	return 0
}
