package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/stepstream/express/internal/testutil"
	"github.com/stepstream/express/kafka"
)

func buildExpress(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "express")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cmd/express does not build:\n%s", out)
	}
	return bin
}

func crashCluster(t *testing.T) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(6, "in", "out", "dlq"), kfake.GroupMinSessionTimeout(time.Second),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// TestCrashRestart runs the daemon as a subprocess, kills it with SIGKILL
// mid-stream and starts it again: every input record gets a result, and
// only records past the committed offsets at the crash (in flight) get two.
func TestCrashRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	t0 := time.Now()
	bin := buildExpress(t)
	t.Logf("built in %v", time.Since(t0))
	broker := crashCluster(t)
	dir := t.TempDir()
	def, err := os.ReadFile(refDefinition)
	if err != nil {
		testutil.Missing(t, "%v", err)
	}
	defPath := filepath.Join(dir, "iot.asl.json")
	if err := os.WriteFile(defPath, def, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"serve", "--brokers", broker, "--definition", defPath, "--topic", "in", "--group", "crash",
		"--output-topic", "out", "--dlq-topic", "dlq", "--metrics-addr", "", "--progress", "0", "--drain-timeout", "5s", "--session-timeout", "2s",
		"--resource", `arn:aws:lambda:eu-west-1:123456789012:function:enrich-device=static:{"site":"plant-1","threshold":30}`}
	start := func() (*exec.Cmd, *bytes.Buffer) {
		var out bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(broker))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	// Produce 30,000 readings over about 3 seconds.
	const n = 30000
	var mu sync.Mutex
	inputs := map[string]bool{}
	var pwg sync.WaitGroup
	prodDone := make(chan struct{})
	go func() {
		defer close(prodDone)
		for i := 0; i < n; i++ {
			dev := "dev-" + strconv.Itoa(i%50)
			v := 20 + i%10
			if i%20 == 0 {
				v = 999
			}
			r := &kgo.Record{Topic: "in", Key: []byte(dev), Value: []byte(fmt.Sprintf(
				`{"deviceId":%q,"ts":"2026-11-22T10:00:00Z","type":"temperature","value":%d,"unit":"C","battery":0.5,"tags":[],"i":%d}`, dev, v, i))}
			pwg.Add(1)
			cl.Produce(context.Background(), r, func(r *kgo.Record, err error) {
				defer pwg.Done()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				inputs[fmt.Sprintf("%d/%d", r.Partition, r.Offset)] = true
				mu.Unlock()
			})
			if i%100 == 99 {
				time.Sleep(10 * time.Millisecond)
			}
		}
		pwg.Wait()
	}()

	d1, out1 := start()
	// Kill it once it has produced some results, mid-stream.
	deadline := time.Now().Add(30 * time.Second)
	for countResults(t, cl) < 3000 || sum(committedOffsets(t, cl, "crash", "in")) == 0 {
		if time.Now().After(deadline) {
			d1.Process.Kill()
			t.Fatalf("first daemon produced nothing:\n%s", out1)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // between two commits
	t.Logf("%d results before the kill", countResults(t, cl))
	if err := d1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	d1.Wait()
	atCrash := committedOffsets(t, cl, "crash", "in")
	t.Logf("committed at the crash: %v", atCrash)

	t.Logf("killed after %v", time.Since(t0))
	d2, out2 := start()
	<-prodDone
	deadline = time.Now().Add(60 * time.Second)
	for {
		res := readResults(t, broker)
		missing := 0
		mu.Lock()
		for k := range inputs {
			if res[k] == 0 {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			d2.Process.Kill()
			t.Fatalf("%d records without a result\n%s", missing, out2)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("all results after %v", time.Since(t0))
	if err := d2.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d2.Wait(); err != nil {
		t.Fatalf("second daemon: %v\n%s", err, out2)
	}
	res := readResults(t, broker)
	dups := 0
	for k, c := range res {
		if !inputs[k] {
			t.Fatalf("result for unknown source %s", k)
		}
		if c > 1 {
			dups++
			var p int32
			var o int64
			fmt.Sscanf(k, "%d/%d", &p, &o)
			if o < atCrash[p] {
				t.Errorf("record %s has %d results but was committed (partition %d committed %d) before the crash", k, c, p, atCrash[p])
			}
		}
	}
	final := committedOffsets(t, cl, "crash", "in")
	var total int64
	for _, o := range final {
		total += o
	}
	if total != n {
		t.Fatalf("committed %d offsets in all, want %d: %v", total, n, final)
	}
	t.Logf("%d inputs, %d results, %d duplicated (in flight at the crash)", len(inputs), len(res), dups)
}

func sum(m map[int32]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

func countResults(t *testing.T, cl *kgo.Client) int64 {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	for _, topic := range []string{"out", "dlq"} {
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		for p := int32(0); p < 6; p++ {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition, rp.Timestamp = p, -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			n += p.Offset
		}
	}
	return n
}

func committedOffsets(t *testing.T, cl *kgo.Client, group, topic string) map[int32]int64 {
	t.Helper()
	out, err := kafka.CommittedOffsets(context.Background(), cl, group, topic)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatal(err)
	}
	return out
}

// readResults reads out and dlq from the start and counts results per
// source partition/offset.
func readResults(t *testing.T, broker string) map[string]int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.ConsumeTopics("out", "dlq"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	total := countResults(t, cl)
	res := map[string]int{}
	var got int64
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for got < total && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			got++
			var p, o string
			for _, h := range r.Headers {
				switch h.Key {
				case kafka.HeaderSourcePartition:
					p = string(h.Value)
				case kafka.HeaderSourceOffset:
					o = string(h.Value)
				}
			}
			res[p+"/"+o]++
		})
	}
	return res
}
