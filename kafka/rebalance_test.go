package kafka

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRebalance runs two processors in one group: the second joins
// mid-stream, the first leaves mid-stream; no record is lost and every
// offset ends up committed.
func TestRebalance(t *testing.T) {
	const parts, maxRecords = 6, 200000
	addrs := startCluster(t, parts, "in", "out", "dlq")
	newProc := func() *Processor {
		p, err := New(Options{Workflow: fakeWorkflow("rb"), Topics: []string{"in"}, Group: "rb", OutputTopic: "out", DLQTopic: "dlq",
			Concurrency: 16, CommitInterval: 100 * time.Millisecond, DrainTimeout: 5 * time.Second,
			ClientOpts: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cl := newClient(t, addrs)
	var mu sync.Mutex
	inputs := map[string]bool{}
	var wg sync.WaitGroup
	stopProd := make(chan struct{})
	prodDone := make(chan struct{})
	var produced int
	go func() {
		defer close(prodDone)
		for i := 0; i < maxRecords; i++ {
			select {
			case <-stopProd:
				wg.Wait()
				return
			default:
			}
			key := fmt.Sprintf("k%d", i%30)
			wg.Add(1)
			produced++
			cl.Produce(context.Background(), &kgo.Record{Topic: "in", Key: []byte(key), Value: []byte(fmt.Sprintf(`{"i":%d,"sleepMs":%d}`, i, i%2))},
				func(r *kgo.Record, err error) {
					defer wg.Done()
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					inputs[fmt.Sprintf("%d/%d", r.Partition, r.Offset)] = true
					mu.Unlock()
				})
			if i%30 == 29 {
				time.Sleep(10 * time.Millisecond) // about 3,000 records/s
			}
		}
		wg.Wait()
	}()

	a, b := newProc(), newProc()
	stopA := runProcessor(t, a)
	waitFor(t, 20*time.Second, "a to work", func() bool { return a.Stats().Finished.Load() >= 500 })
	stopB := runProcessor(t, b) // joins mid-stream
	waitFor(t, 30*time.Second, "b to work", func() bool { return b.Stats().Finished.Load() >= 300 })
	t.Logf("before stopping a: a finished %d, b finished %d", a.Stats().Finished.Load(), b.Stats().Finished.Load())
	stopA() // leaves mid-stream: its partitions drain, commit and move to b
	fromB := b.Stats().Finished.Load()
	t.Logf("a stopped: a finished %d, b finished %d", a.Stats().Finished.Load(), fromB)
	waitFor(t, 30*time.Second, "b to take over", func() bool { return b.Stats().Finished.Load() >= fromB+500 })
	close(stopProd)
	<-prodDone
	n := int64(produced)
	waitFor(t, 30*time.Second, "every record finished", func() bool {
		return a.Stats().Finished.Load()+b.Stats().Finished.Load() >= n
	})
	waitFor(t, 10*time.Second, "offsets committed", func() bool {
		var total int64
		for _, o := range committed(t, addrs, "rb", "in") {
			total += o
		}
		return total == n
	})
	stopB()
	out := consumeN(t, addrs, int(a.Stats().Output.Load()+b.Stats().Output.Load()), 10*time.Second, "out", "dlq")
	seen := map[string]int{}
	for _, r := range out {
		seen[header(r, HeaderSourcePartition)+"/"+header(r, HeaderSourceOffset)]++
	}
	dups := 0
	for k := range inputs {
		if seen[k] == 0 {
			t.Fatalf("record %s lost", k)
		}
		if seen[k] > 1 {
			dups++
		}
	}
	t.Logf("a finished %d, b finished %d, %d duplicates", a.Stats().Finished.Load(), b.Stats().Finished.Load(), dups)
}
