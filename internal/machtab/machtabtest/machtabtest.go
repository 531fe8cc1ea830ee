// Package machtabtest helps the tests of machtab's users show that
// machines compiled again and again are not kept.
package machtabtest

import (
	"runtime"
	"weak"
)

// Recompile calls next n times (next(i) compiles a machine again and runs
// an execution of it, as an UpdateStateMachine followed by a
// StartExecution would, and returns what it made with the machine), then
// collects garbage, and returns how many of the machines but the first
// are still reachable. What next(0) made is returned, for the caller to
// run the first machine again after its table was dropped.
func Recompile[T, M any](n int, next func(i int) (T, *M)) (first T, alive int) {
	ws := make([]weak.Pointer[M], 0, n)
	for i := range n {
		v, m := next(i)
		if i == 0 {
			first = v
		} else {
			ws = append(ws, weak.Make(m))
		}
	}
	runtime.GC()
	for _, w := range ws {
		if w.Value() != nil {
			alive++
		}
	}
	return first, alive
}
