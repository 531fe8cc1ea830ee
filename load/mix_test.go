package load

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/load/readings"
)

// TestRunRealisticMix: with Options.Mix realistic the daemon running the
// reference workflow dead-letters about 60% of the records (issue 16).
func TestRunRealisticMix(t *testing.T) {
	addr := startDaemon(t, "key")
	const n = 3000
	rep, err := Run(context.Background(), Options{ClientOpts: []kgo.Opt{kgo.SeedBrokers(addr)}, Topic: "readings",
		OutputTopic: "readings-out", DLQTopic: "readings-dlq", Records: n, Rate: 20000, Devices: 50,
		OutOfRangePercent: readings.RealisticOutOfRangePercent, Mix: readings.MixRealistic, Drain: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Produced != n || rep.Output+rep.DLQ != n || !rep.AllBack() {
		t.Fatalf("produced %d, output %d, dlq %d, missing %d", rep.Produced, rep.Output, rep.DLQ, rep.Missing)
	}
	// the standard deviation of the share over 3000 records is 0.009
	if share := float64(rep.DLQ) / n; math.Abs(share-0.60) > 0.04 {
		t.Errorf("%d dead letters of %d (%.3f), want about 60%%", rep.DLQ, n, share)
	}
}
