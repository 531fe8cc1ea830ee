//go:build race

package jsonata

// raceEnabled: under the race detector sync.Pool drops what it is given,
// so regexp allocates a matcher per match and allocation counts mean little.
const raceEnabled = true
