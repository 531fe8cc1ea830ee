package readings_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/daemon"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
	"github.com/stepstream/express/load/readings"
)

// referenceWorkflow is the reference IoT workflow (the daemon's embedded
// copy of ../shared/bench/iot-reference.asl.json) with its Enrich task
// answering as the benchmarks' static resource does.
func referenceWorkflow(t *testing.T) *express.Workflow {
	t.Helper()
	enrich := express.InlineFunc(func(context.Context, *express.TaskRequest) (any, error) {
		return map[string]any{"site": "plant-1", "threshold": int64(30)}, nil
	})
	wf, err := compile.Compile(daemon.DemoDefinition, compile.Options{Name: "iot-reference", Invoker: enrich})
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

// TestMixThroughReferenceWorkflow runs generated readings through the
// compiled reference workflow and checks the share that ends in its
// Rejected Fail state: about 60% for the realistic mix (issue 16), the
// out-of-range share for the all-valid one; and that Next's "bad" is
// exactly the out-of-range readings.
func TestMixThroughReferenceWorkflow(t *testing.T) {
	wf := referenceWorkflow(t)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	const n = 20_000
	for _, tc := range []struct {
		mix        readings.Mix
		outOfRange float64
		want       float64 // expected rejected share
		types      int
	}{
		{readings.MixValid, 2, 0.02, 2},
		{readings.MixValid, 0, 0, 2},
		{readings.MixRealistic, readings.RealisticOutOfRangePercent, 0.60, 5},
		{readings.MixRealistic, 0, 0.58, 5},
	} {
		t.Run(fmt.Sprintf("%s-%g", tc.mix, tc.outOfRange), func(t *testing.T) {
			if got := readings.RejectedShare(tc.mix, tc.outOfRange); math.Abs(got-tc.want) > 0.005 {
				t.Errorf("RejectedShare = %.4f, want %.2f", got, tc.want)
			}
			g := readings.NewGenerator(7, 1000, 0, tc.outOfRange)
			g.Mix = tc.mix
			rejected, alerts, bad := 0, 0, 0
			types := map[string]int{}
			for i := range n {
				_, v, out := g.Next(nil, nil, int64(i), now)
				in, err := jsonv.Parse(v)
				if err != nil {
					t.Fatalf("%s: %v", v, err)
				}
				typ, _ := jsonv.Plain(in).(map[string]any)["type"].(string)
				types[typ]++
				if out {
					bad++
				}
				res := wf.Execute(context.Background(), in, express.ExecOptions{Name: "mix"})
				switch {
				case res.Status == express.Failed && res.Error == "Reading.OutOfRange":
					rejected++
					if !out && (typ == "temperature" || typ == "humidity") {
						t.Fatalf("in-range %s rejected: %s", typ, v)
					}
				case res.Status == express.Succeeded:
					if out {
						t.Fatalf("out-of-range reading accepted: %s", v)
					}
					if jsonv.Plain(res.Output).(map[string]any)["status"] == "ALERT" {
						alerts++
					}
				default:
					t.Fatalf("status %s %s %s for %s", res.Status, res.Error, res.Cause, v)
				}
			}
			share := float64(rejected) / n
			// 20,000 draws: the standard deviation of a share near 0.6 is
			// 0.0035; 0.015 is over 4 of them.
			if math.Abs(share-tc.want) > 0.015 {
				t.Errorf("%d of %d rejected (%.3f), want about %.2f", rejected, n, share, tc.want)
			}
			if math.Abs(float64(bad)/n-tc.outOfRange/100) > 0.01 {
				t.Errorf("%d of %d out of range, want about %g%%", bad, n, tc.outOfRange)
			}
			if len(types) != tc.types {
				t.Errorf("types %v, want %d of them", types, tc.types)
			}
			for typ, c := range types {
				if c < n/(tc.types+2) {
					t.Errorf("only %d %s readings: %v", c, typ, types)
				}
			}
			if accepted := n - rejected; alerts < accepted/4 || alerts > accepted*3/4 {
				t.Errorf("%d alerts of %d accepted, want about half", alerts, accepted)
			}
		})
	}
}

// TestMixValidUnchanged: the default stream is the one every earlier
// figure was measured on; adding the realistic mix must not change it.
// The readings below were produced by the generator before MixRealistic.
func TestMixValidUnchanged(t *testing.T) {
	g := readings.NewGenerator(1, 1000, 0, 2)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	want := map[int]string{
		0:       `dev-527 {"deviceId":"dev-527","ts":"2026-11-22T10:00:00.000Z","type":"humidity","value":31.1,"unit":"%","battery":0.58,"tags":["roof","north"],"seq":0}`,
		1:       `dev-644 {"deviceId":"dev-644","ts":"2026-11-22T10:00:00.000Z","type":"humidity","value":31,"unit":"%","battery":0.79,"tags":["roof","north"],"seq":1}`,
		2:       `dev-690 {"deviceId":"dev-690","ts":"2026-11-22T10:00:00.000Z","type":"temperature","value":41.9,"unit":"C","battery":0.52,"tags":["roof","north"],"seq":2}`,
		199_999: `dev-394 {"deviceId":"dev-394","ts":"2026-11-22T10:00:00.000Z","type":"temperature","value":35.8,"unit":"C","battery":0.84,"tags":["roof","north"],"seq":199999}`,
	}
	for i := range 200_000 {
		k, v, _ := g.Next(nil, nil, int64(i), now)
		if w, ok := want[i]; ok && string(k)+" "+string(v) != w {
			t.Fatalf("reading %d:\n got %s %s\nwant %s", i, k, v, w)
		}
	}
}

func TestParseMix(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want readings.Mix
		err  bool
	}{{"valid", readings.MixValid, false}, {"realistic", readings.MixRealistic, false}, {"", 0, true}, {"Realistic", 0, true}} {
		got, err := readings.ParseMix(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseMix(%q) = %v, %v", tc.in, got, err)
		}
		if err == nil && got.String() != tc.in {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
}
