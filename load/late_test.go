package load

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// TestTrackerNotBack: records without a result are late when the group has
// not committed past them, lost (missing) when it has.
func TestTrackerNotBack(t *testing.T) {
	tr := newTracker(time.Unix(1000, 0))
	for off := int64(0); off < 10; off++ {
		tr.acked(0, off, time.Unix(1000, 0))
		tr.acked(1, off, time.Unix(1000, 0))
	}
	tr.result(0, 2, time.Unix(1001, 0), false)
	tr.acked(0, chunkSize+1, time.Unix(1000, 0)) // a second chunk
	late, lost := tr.notBack(map[int32]int64{0: 5})
	// partition 0: 0,1,3,4 lost; 5..9 and chunkSize+1 late; partition 1 (nothing committed): 10 late
	if lost != 4 || late != 16 {
		t.Fatalf("late %d, lost %d", late, lost)
	}
}

// TestLateIsNotMissing: with no daemon consuming, nothing comes back by
// the end of the drain: the records are late (the group committed nothing),
// not missing; once the group has committed past them without results
// they are missing.
func TestLateIsNotMissing(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "in", "out", "in-dlq"),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") }))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	opts := Options{ClientOpts: []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}, Topic: "in", OutputTopic: "out", DLQTopic: "in-dlq",
		Group: "express-in", Records: 100, Drain: 100 * time.Millisecond, Interval: 50 * time.Millisecond}
	rep, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	var tbl bytes.Buffer
	rep.WriteTable(&tbl)
	if rep.Late != 100 || rep.Missing != 0 || rep.AllBack() ||
		!strings.Contains(tbl.String(), "late                         100 (not processed by the daemon when --drain ended: not lost)") ||
		!strings.Contains(tbl.String(), "NO: 0 missing, 0 not produced, 100 late") {
		t.Fatalf("late %d, missing %d:\n%s", rep.Late, rep.Missing, tbl.String())
	}

	// the group commits past every record: their results were lost
	// an OffsetCommit by topic name (before topic ids, Kafka 4.1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.MaxVersions(kversion.V3_0_0()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.Generation = "express-in", -1
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = "in"
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = 0, 1_000_000
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("commit: %v %+v", err, resp)
	}
	rep, err = Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Late != 0 || rep.Missing != 100 {
		t.Fatalf("after the commit: late %d, missing %d", rep.Late, rep.Missing)
	}
	// without a group nothing tells them apart: all missing
	opts.Group = ""
	if rep, err = Run(context.Background(), opts); err != nil || rep.Late != 0 || rep.Missing != 100 {
		t.Fatalf("no group: %v, late %d, missing %d", err, rep.Late, rep.Missing)
	}
}
