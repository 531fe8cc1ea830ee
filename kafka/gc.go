package kafka

import (
	"os"
	"runtime/debug"
)

// DaemonGCPercent is the garbage collector target `express serve` runs
// with unless GOGC is set: the live heap is small (memory is bounded by the
// in-flight limits) while the allocation rate is high, so collecting less
// often trades a little memory for much less GC work per record.
const DaemonGCPercent = 200

// TuneGC applies DaemonGCPercent unless the GOGC environment variable is
// set. The daemon calls it at start; the benchmarks call it too, so that
// they measure the engine as the daemon runs it.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(DaemonGCPercent)
	}
}
