package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// fakeWorkflow is a one-state workflow standing in for a compiled one: it
// echoes its input with "processed": true and the execution name added,
// fails with Test.Fail when the input has "fail": true, and sleeps
// "sleepMs" milliseconds first when present.
func fakeWorkflow(name string) *express.Workflow {
	m := &express.Machine{Blocking: true, States: []*express.State{{
		Name: "Echo", Type: "Task",
		Exec: func(s *express.Scope, in any) (any, int, error) {
			// Records are parsed into engine objects; a hand-built state
			// reads them as plain maps.
			obj, ok := jsonv.Plain(in).(map[string]any)
			if !ok {
				return nil, 0, express.NewError("Test.NotObject", "input is not an object")
			}
			if ms, ok := obj["sleepMs"].(int64); ok && ms > 0 {
				if err := s.Sleep(time.Duration(ms) * time.Millisecond); err != nil {
					return nil, 0, err
				}
			}
			if f, _ := obj["fail"].(bool); f {
				return nil, 0, express.NewError("Test.Fail", "asked to fail")
			}
			out := make(map[string]any, len(obj)+2)
			for k, v := range obj {
				out[k] = v
			}
			out["processed"] = true
			out["execution"] = s.Execution().Name
			return out, express.End, nil
		},
	}}}
	return express.NewWorkflow(m, express.Options{Name: name})
}

func startCluster(t testing.TB, partitions int32, topics ...string) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...), kfake.AllowAutoTopicCreation(),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func newClient(t testing.TB, addrs []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func produceAll(t testing.TB, cl *kgo.Client, rs []*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, r := range rs {
		wg.Add(1)
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				first = err
				mu.Unlock()
			}
			wg.Done()
		})
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

// consumeN reads topics from the start until n records arrived or timeout.
func consumeN(t testing.TB, addrs []string, n int, timeout time.Duration, topics ...string) []*kgo.Record {
	t.Helper()
	cl := newClient(t, addrs, kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// committed returns the group's committed offsets of topic (none before
// its first commit).
func committed(t testing.TB, addrs []string, group, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := CommittedOffsets(ctx, newClient(t, addrs), group, topic)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatal(err)
	}
	return out
}

func header(r *kgo.Record, k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

// runProcessor starts p and returns a function that stops it and waits.
func runProcessor(t testing.TB, p *Processor) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Error(err)
				}
			case <-time.After(60 * time.Second):
				t.Error("processor did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func reading(i int, key string) []byte {
	return []byte(fmt.Sprintf(`{"deviceId":%q,"seq":%d,"value":%d}`, key, i, i%100))
}
