package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// BenchmarkLeaderMoveStall measures how long outputs stay unacknowledged
// after one produce is refused with NOT_LEADER_FOR_PARTITION (a leader
// moved): the client retries after its next metadata refresh, which
// kgo.MetadataMinAge spaces. It reports stall-ms: from the refusal until
// every record consumed before it has finished. Compare the daemon's
// setting with franz-go's default:
//
//	go test -run '^$' -bench LeaderMoveStall -benchtime 3x ./kafka
func BenchmarkLeaderMoveStall(b *testing.B) {
	for _, tc := range []struct {
		name string
		age  time.Duration
	}{{"daemon", MetadataMinAge}, {"franz-go-default", 5 * time.Second}} {
		b.Run(tc.name, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				total += leaderMoveStall(b, tc.age)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "stall-ms")
		})
	}
}

func leaderMoveStall(b *testing.B, age time.Duration) time.Duration {
	c := startTxnCluster(b, 1, 6, "in", "out", "dlq")
	defer c.Close()
	addrs := c.ListenAddrs()
	p, err := New(Options{Workflow: fakeWorkflow("lm"), Topics: []string{"in"}, Group: "lm", OutputTopic: "out", DLQTopic: "dlq",
		Concurrency: 16, ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...), kgo.MetadataMinAge(age)}})
	if err != nil {
		b.Fatal(err)
	}
	cl := newClient(b, addrs)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { // about 1,000 records/s until stopped
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			cl.Produce(context.Background(), &kgo.Record{Topic: "in", Key: []byte(fmt.Sprintf("k%d", i%30)), Value: []byte(fmt.Sprintf(`{"i":%d}`, i))}, nil)
			if i%10 == 9 {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}()
	stopP := runProcessor(b, p)
	defer func() { close(stop); <-done; stopP() }()
	waitFor(b, 20*time.Second, "a first 500 results", func() bool { return p.Stats().Finished.Load() >= 500 })
	h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "out", Err: kerr.NotLeaderForPartition, Count: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Wait(ctx, 1); err != nil {
		b.Fatalf("the fault was not hit: %v", err)
	}
	t0 := time.Now()
	consumed := p.Stats().Consumed.Load()
	waitFor(b, 20*time.Second, "the records consumed before the refusal finished", func() bool { return p.Stats().Finished.Load() >= consumed })
	return time.Since(t0)
}
