package kafka

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (p *Processor) commitLoop(ctx context.Context) {
	t := time.NewTicker(p.o.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var parts []*partition
		p.eachPart(func(part *partition) { parts = append(parts, part) })
		p.commit(ctx, parts)
		p.trimSpare()
	}
}

// commit commits the watermark of every partition in parts that moved since
// its last commit. Commits are serialised, so a periodic commit cannot land
// after (and rewind) a revoked partition's final commit.
func (p *Processor) commit(ctx context.Context, parts []*partition) {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	var offsets map[string]map[int32]kgo.EpochOffset
	type pending struct {
		part *partition
		wm   int64
	}
	var pend []pending
	for _, part := range parts {
		part.mu.Lock()
		wm, ep := part.wm, part.wmEpoch
		moved := wm > part.done
		part.mu.Unlock()
		if !moved {
			continue
		}
		if offsets == nil {
			offsets = map[string]map[int32]kgo.EpochOffset{}
		}
		if offsets[part.topic] == nil {
			offsets[part.topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[part.topic][part.id] = kgo.EpochOffset{Epoch: ep, Offset: wm}
		pend = append(pend, pending{part, wm})
	}
	if offsets == nil {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	failed := map[tp]bool{}
	var cerr error
	p.cl.CommitOffsetsSync(cctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			cerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, pr := range t.Partitions {
				if e := kerr.ErrorForCode(pr.ErrorCode); e != nil {
					failed[tp{t.Topic, pr.Partition}] = true
					cerr = e
				}
			}
		}
	})
	if cerr != nil && ctx.Err() == nil {
		p.log.Warn("commit failed", "err", cerr)
	}
	ok := 0
	for _, pd := range pend {
		if cerr != nil && (len(failed) == 0 || failed[tp{pd.part.topic, pd.part.id}]) {
			continue
		}
		ok++
		pd.part.mu.Lock()
		if pd.wm > pd.part.done {
			pd.part.done = pd.wm
		}
		pd.part.mu.Unlock()
	}
	if ok > 0 {
		p.stats.Commits.Add(1)
	}
	if p.m != nil {
		if ok > 0 {
			p.m.commitsOK.Inc()
		}
		if cerr != nil {
			p.m.commitsFailed.Inc()
		}
	}
}
