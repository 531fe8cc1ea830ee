package daemon

import (
	"context"
	_ "embed"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/daemon/config"
	"github.com/stepstream/express/load/readings"
	"github.com/stepstream/express/resources"
)

// DemoDefinition is the reference IoT workflow the demo runs.
//
//go:embed iot-reference.asl.json
var DemoDefinition []byte

// DemoWorkflow is the reference workflow as `express serve --demo` runs it:
// from "readings" to "readings-out" (dead letters to "readings-dlq") in
// group express-iot-reference, with DemoResources.
func DemoWorkflow() config.Workflow {
	w := config.Workflow{Name: "iot-reference", Definition: "(embedded iot-reference.asl.json)", DefinitionBytes: DemoDefinition,
		Topics: []string{"readings"}, Group: "express-iot-reference", OutputTopic: "readings-out", DLQTopic: "readings-dlq",
		Resources: map[string]config.Targets{}}
	for k, v := range DemoResources {
		w.Resources[k] = config.Targets{v}
	}
	return w
}

// DemoResources are the demo's Task targets: the Enrich Lambda returns a
// fixed site and threshold.
var DemoResources = map[string]string{
	"arn:aws:lambda:eu-west-1:123456789012:function:enrich-device": `static:{"site":"plant-1","threshold":30}`,
}

// DemoTargets are DemoResources resolved, for what runs the reference
// workflow without a config (the API's tests and benchmarks).
func DemoTargets() (*resources.Resources, error) {
	routes := map[string][]resources.Target{}
	for k, v := range DemoResources {
		t, err := resources.ParseTarget(v)
		if err != nil {
			return nil, err
		}
		routes[k] = []resources.Target{t}
	}
	return resources.New(resources.Config{Routes: routes})
}

// DemoMaxBacklog is the backlog (records produced and not yet committed by
// the daemon) above which the demo generator waits: the embedded broker
// keeps unprocessed input in memory, so a generator running ahead of the
// daemon would grow it without bound.
const DemoMaxBacklog = 200_000

// Generate produces IoT readings into topic at rate records/s (0: as fast
// as the producer takes them) until ctx is done, pausing while backlog
// (when not nil) reports more than DemoMaxBacklog. About 2% of the readings
// are out of range (their executions fail and go to the DLQ) and 0.1% are
// not JSON.
func Generate(ctx context.Context, cl *kgo.Client, topic string, rate int, backlog func() int64) {
	if cl == nil {
		return
	}
	g := readings.NewGenerator(1, 1000, 0, 2)
	g.InvalidPercent, g.EventIDs = 0.1, true
	one := func(i int) *kgo.Record {
		k, v, _ := g.Next(make([]byte, 0, 8), make([]byte, 0, 256), int64(i), time.Now())
		return &kgo.Record{Topic: topic, Key: k, Value: v}
	}
	// wait reports whether the generator should hold back now, sleeping a
	// little if so.
	wait := func() bool {
		if backlog == nil || backlog() <= DemoMaxBacklog {
			return false
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
		return true
	}
	i := 0
	if rate <= 0 {
		for ctx.Err() == nil {
			if i%1000 == 0 && wait() {
				continue
			}
			cl.Produce(ctx, one(i), nil)
			i++
		}
		return
	}
	const tick = 10 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	start, base := time.Now(), 0 // i is due to reach base + rate x time since start
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if wait() {
			start, base = time.Now(), i // the schedule restarts without the missed records
			continue
		}
		due := base + int(time.Since(start).Seconds()*float64(rate))
		for ; i < due && ctx.Err() == nil; i++ {
			cl.Produce(ctx, one(i), nil)
		}
	}
}
