package main

import (
	"fmt"
	"io"
)

// loadCmd runs the load generator (see package load).
func loadCmd(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "express load: not implemented yet")
	return 2
}
