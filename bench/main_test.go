package bench

import (
	"context"
	"os"
	"testing"

	"github.com/stepstream/express/daemon"
)

// TestMain applies the daemon's GC setting (daemon.TuneGC: GOGC=200 and a
// 64 MiB heap floor, unless GOGC is set), so that the figures are those of
// the engine as `express serve` runs it. Run with GOGC=100 for Go's default.
func TestMain(m *testing.M) {
	daemon.TuneGC(context.Background())
	os.Exit(m.Run())
}
