package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/stepstream/express/kafka"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// janitor keeps the embedded broker's memory bounded without dropping
// records the daemon has not processed. The workflows' input topics get no
// size or time retention; instead what every consumer group reading a
// topic has committed is deleted (DeleteRecords up to the lowest committed
// offset of those groups, partition by partition). The other topics
// (outputs, dead letters, Task topics) keep the size and time retention.
type janitor struct {
	c      *kfake.Cluster
	cl     *kgo.Client
	inputs map[string][]string // input topic → the groups that read it
	log    *slog.Logger
}

// janitorInterval is how often committed input is deleted and retention
// applied.
const janitorInterval = 5 * time.Second

// newJanitor connects to the embedded broker and turns retention off for
// the input topics.
func newJanitor(ctx context.Context, c *kfake.Cluster, inputs map[string][]string, log *slog.Logger) (*janitor, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		return nil, err
	}
	j := &janitor{c: c, cl: cl, inputs: inputs, log: log}
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	for _, t := range slices.Sorted(maps.Keys(inputs)) {
		r := kmsg.NewIncrementalAlterConfigsRequestResource()
		r.ResourceType = kmsg.ConfigResourceTypeTopic
		r.ResourceName = t
		for _, name := range []string{"retention.bytes", "retention.ms"} {
			c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			c.Name, c.Value = name, kmsg.StringPtr("-1")
			r.Configs = append(r.Configs, c)
		}
		req.Resources = append(req.Resources, r)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err == nil {
		for _, r := range resp.Resources {
			if err = kerr.ErrorForCode(r.ErrorCode); err != nil {
				err = fmt.Errorf("topic %q: %w", r.ResourceName, err)
				break
			}
		}
	}
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("embedded broker: keeping input topics: %w", err)
	}
	return j, nil
}

func (j *janitor) close() { j.cl.Close() }

// run deletes committed input and applies retention every interval until
// ctx is done.
func (j *janitor) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := j.trim(ctx); err != nil && ctx.Err() == nil {
			j.log.Warn("embedded broker: deleting committed input", "err", err)
		}
		j.c.ApplyRetention()
	}
}

// trim deletes, in each input partition, the records below the lowest
// offset committed by the groups that read it. A partition that one of
// them has not committed yet is left alone.
func (j *janitor) trim(ctx context.Context) error {
	del := kmsg.NewPtrDeleteRecordsRequest()
	del.TimeoutMillis = 5000
	for _, topic := range slices.Sorted(maps.Keys(j.inputs)) {
		low := map[int32]int64{}
		for i, group := range j.inputs[topic] {
			committed, err := kafka.CommittedOffsets(ctx, j.cl, group, topic)
			if errors.Is(err, kerr.GroupIDNotFound) {
				committed, err = nil, nil // nothing committed yet
			}
			if err != nil {
				return err
			}
			if i == 0 {
				low = committed
				continue
			}
			for p, off := range low {
				c, ok := committed[p]
				if !ok {
					delete(low, p)
				} else {
					low[p] = min(off, c)
				}
			}
		}
		if len(low) == 0 {
			continue
		}
		t := kmsg.NewDeleteRecordsRequestTopic()
		t.Topic = topic
		for _, p := range slices.Sorted(maps.Keys(low)) {
			rp := kmsg.NewDeleteRecordsRequestTopicPartition()
			rp.Partition, rp.Offset = p, low[p]
			t.Partitions = append(t.Partitions, rp)
		}
		del.Topics = append(del.Topics, t)
	}
	if len(del.Topics) == 0 {
		return nil
	}
	resp, err := del.RequestWith(ctx, j.cl)
	if err != nil {
		return err
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("%s/%d: %w", t.Topic, p.Partition, err)
			}
		}
	}
	return nil
}
