package daemon

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestJanitorKeepsUncommittedInput: an input topic holding far more than
// the retention keeps every record its group has not committed; once the
// group commits, exactly the committed records are deleted. An output
// topic keeps the size retention.
func TestJanitorKeepsUncommittedInput(t *testing.T) {
	const retention = 256 << 10
	c, err := StartEmbedded(Embedded{Partitions: 1, RetentionBytes: retention}, "in", "out")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	jan, err := newJanitor(ctx, c, map[string][]string{"in": {"g1", "g2"}}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer jan.close()
	cl := rawClient(t, c, 64<<10)
	defer cl.Close()
	produceRandom(ctx, t, cl, 128, 16<<10, "in", "out") // 2 MiB per topic: eight times the retention
	start := func(topic string) int64 { return listOffset(ctx, t, cl, topic, 0, -2) }
	meta := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("in")
	meta.Topics = append(meta.Topics, mt)
	mresp, err := meta.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	commit := func(group string, off int64) {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Group, req.Generation = group, -1 // a group without members
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic, rt.TopicID = "in", mresp.Topics[0].TopicID // newer versions name topics by ID
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Offset = off
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if err := kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode); err != nil {
			t.Fatalf("commit %s: %v", group, err)
		}
	}
	step := func() {
		if err := jan.trim(ctx); err != nil {
			t.Fatal(err)
		}
		c.ApplyRetention()
	}

	step()
	if s := start("in"); s != 0 {
		t.Fatalf("nothing committed: input start offset %d, want 0", s)
	}
	if s := start("out"); s == 0 {
		t.Fatal("the output topic kept everything: size retention did not apply")
	}
	commit("g1", 100)
	step()
	if s := start("in"); s != 0 {
		t.Fatalf("g2 has not committed: input start offset %d, want 0", s)
	}
	commit("g2", 40)
	step()
	if s := start("in"); s != 40 {
		t.Fatalf("input start offset %d, want 40 (the lowest commit)", s)
	}
}

// TestGenerateBackpressure: the demo generator produces nothing while the
// backlog is over DemoMaxBacklog, and produces once it is not.
func TestGenerateBackpressure(t *testing.T) {
	c, err := StartEmbedded(Embedded{Partitions: 1}, "demo")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl := rawClient(t, c, 1<<20)
	defer cl.Close()
	end := func() int64 {
		if err := cl.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		return listOffset(context.Background(), t, cl, "demo", 0, -1)
	}
	gen := func(rate int, backlog int64) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		Generate(ctx, cl, "demo", rate, func() int64 { return backlog })
	}
	for _, rate := range []int{0, 5000} {
		before := end()
		gen(rate, DemoMaxBacklog+1)
		if n := end() - before; n != 0 {
			t.Errorf("rate %d: %d records produced over the backlog limit", rate, n)
		}
		gen(rate, DemoMaxBacklog)
		if n := end() - before; n < 100 {
			t.Errorf("rate %d: %d records produced under the backlog limit", rate, n)
		}
	}
}
