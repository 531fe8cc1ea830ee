//go:build race

package bench

// raceEnabled: under the race detector sync.Pool drops what it is given
// (the engine pools its executions), so allocation counts mean little.
const raceEnabled = true
