//go:build race

package uuid

// raceEnabled: the race detector makes allocations of its own.
const raceEnabled = true
