package main

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/ohler55/ojg/oj"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/kafka"
	"github.com/stepstream/express/load/readings"
)

func TestTransform(t *testing.T) {
	for _, tc := range []struct {
		parser, in string
		err        bool
	}{
		{"ojg", `{"deviceId":"dev-1","value":21.5,"tags":["a"]}`, false},
		{"encoding/json", `{"deviceId":"dev-1","value":21.5,"tags":["a"]}`, false},
		{"ojg", `[1,2]`, true},
		{"ojg", `{"deviceId":`, true},
		{"encoding/json", `{"deviceId":`, true},
	} {
		var p oj.Parser
		out, err := transform(&p, tc.parser, []byte(tc.in))
		if (err != nil) != tc.err {
			t.Errorf("%s %s: error %v", tc.parser, tc.in, err)
			continue
		}
		if tc.err {
			continue
		}
		var got, want map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: output %s: %v", tc.parser, out, err)
		}
		_ = json.Unmarshal([]byte(tc.in), &want)
		want["processed"] = true
		if b1, b2 := mustJSON(got), mustJSON(want); b1 != b2 {
			t.Errorf("%s: got %s, want %s", tc.parser, b1, b2)
		}
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestModes runs the three modes against an in-process kfake: produce
// loads the readings, the passthrough forwards every one of them keyed,
// with the field added, and commits; consume reads them all.
func TestModes(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "in", "out", "out2"),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") }))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seeds := kgo.SeedBrokers(c.ListenAddrs()...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 2000
	res, err := produce(ctx, seeds, "in", n, readings.MixRealistic, 1)
	if err != nil || res.Records != n || res.Mode != "produce" || res.CPUSeconds <= 0 {
		t.Fatalf("produce: %+v, %v", res, err)
	}
	for _, parser := range []string{"ojg", "encoding/json"} {
		res, err = consume(ctx, ctx, seeds, "passthrough", "in", "out", "g-"+parser, n, parser, false)
		if err != nil || res.Records != n || res.Parser != parser || res.FetchedRecords != n || res.FetchedBytesPerRecord < 100 {
			t.Fatalf("passthrough %s: %+v, %v", parser, res, err)
		}
	}
	res, err = consume(ctx, ctx, seeds, "consume", "in", "", "g-consume", n, "ojg", false)
	if err != nil || res.Records != n || res.Parser != "" {
		t.Fatalf("consume: %+v, %v", res, err)
	}

	// every reading came out twice (two parsers), keyed by its device, with
	// the field added; every group committed the whole input
	cl, err := kgo.NewClient(seeds, kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seen := map[float64]int{}
	for got := 0; got < 2*n; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of %d outputs", got, 2*n)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got++
			var m map[string]any
			if err := json.Unmarshal(r.Value, &m); err != nil || m["processed"] != true || m["deviceId"] != string(r.Key) {
				t.Fatalf("output %s key %s: %v", r.Value, r.Key, err)
			}
			seen[m["seq"].(float64)]++
		})
	}
	for i := range n {
		if seen[float64(i)] != 2 {
			t.Fatalf("reading %d came out %d times", i, seen[float64(i)])
		}
	}
	for _, g := range []string{"g-ojg", "g-encoding/json", "g-consume"} {
		committed, err := kafka.CommittedOffsets(ctx, cl, g, "in")
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, o := range committed {
			sum += o
		}
		if sum != n {
			t.Errorf("group %s committed %d of %d", g, sum, n)
		}
	}

	// -records 0 with -source-headers: it runs until stopped, and every
	// output carries its input's coordinates, as the daemon's do
	stop, stopNow := context.WithCancel(ctx)
	type ended struct {
		res Result
		err error
	}
	end := make(chan ended, 1)
	go func() {
		res, err := consume(ctx, stop, seeds, "passthrough", "in", "out2", "g-forever", 0, "ojg", true)
		end <- ended{res, err}
	}()
	cl2, err := kgo.NewClient(seeds, kgo.ConsumeTopics("out2"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	coords := map[string]bool{}
	for got := 0; got < n; {
		fs := cl2.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of %d outputs of the endless passthrough", got, n)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got++
			var src [3]string
			for _, h := range r.Headers {
				switch h.Key {
				case kafka.HeaderSourceTopic:
					src[0] = string(h.Value)
				case kafka.HeaderSourcePartition:
					src[1] = string(h.Value)
				case kafka.HeaderSourceOffset:
					src[2] = string(h.Value)
				}
			}
			if src[0] != "in" || src[1] == "" || src[2] == "" {
				t.Fatalf("output %s: source headers %q", r.Value, src)
			}
			coords[src[1]+"/"+src[2]] = true
		})
	}
	if len(coords) != n {
		t.Errorf("%d distinct source coordinates for %d outputs", len(coords), n)
	}
	stopNow()
	e := <-end
	if e.err != nil || e.res.Records != n {
		t.Fatalf("stopped passthrough: %+v, %v", e.res, e.err)
	}
}
