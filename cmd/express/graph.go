package main

import (
	"fmt"
	"io"
)

// graphCmd renders a state machine as Mermaid or DOT (see package graph).
func graphCmd(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "express graph: not implemented yet")
	return 2
}
