package kafka

import (
	"sync"
	"time"
)

// A topic deleted and created again (or a broker restarted empty on the
// same address) has a new topic id. franz-go keeps the id it first saw and
// stalls on UNKNOWN_TOPIC_ID instead of adopting the new one; purging the
// topic from the client and adding it back is its documented way out.
// Without it a daemon consumes nothing, for ever, after such a restart.

// recreateAfter is how long UNKNOWN_TOPIC_ID must last before the topic is
// taken as recreated (Kafka answers it briefly for a topic just created),
// and recreateEvery the least time between two purges of one topic.
const (
	recreateAfter = 3 * time.Second
	recreateEvery = 10 * time.Second
)

// recreated tracks the topics whose id the brokers no longer know.
type recreated struct {
	mu     sync.Mutex
	since  map[string]time.Time // first UNKNOWN_TOPIC_ID of the current run of them
	purged map[string]time.Time
}

// due records an UNKNOWN_TOPIC_ID for topic at now and reports whether to
// purge and re-add it now.
func (r *recreated) due(topic string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.since == nil {
		r.since, r.purged = map[string]time.Time{}, map[string]time.Time{}
	}
	first, ok := r.since[topic]
	if !ok {
		r.since[topic] = now
		return false
	}
	if now.Sub(first) < recreateAfter || now.Sub(r.purged[topic]) < recreateEvery {
		return false
	}
	r.purged[topic] = now
	delete(r.since, topic)
	return true
}

// topicIDUnknown handles an UNKNOWN_TOPIC_ID of topic (fetched when
// consumed, produced otherwise): once it lasts, the topic is purged from
// the client and, if consumed, added back, so that the client learns its
// new id; the group then resumes it from its committed offsets.
func (p *Processor) topicIDUnknown(topic string, consumed bool) {
	if !p.recreated.due(topic, time.Now()) {
		return
	}
	p.log.Warn("the brokers no longer know this topic's id (deleted and created again, or a broker restarted empty): reading its metadata anew",
		"topic", topic, "consumed", consumed)
	go func() {
		if consumed {
			// what this process holds of the old topic is dropped
			// uncommitted: its offsets mean nothing in the new one
			var ids []int32
			p.eachPart(func(part *partition) {
				if part.topic == topic {
					ids = append(ids, part.id)
				}
			})
			p.release(p.base, map[string][]int32{topic: ids}, true)
			p.cl.PurgeTopicsFromClient(topic)
			p.cl.AddConsumeTopics(topic)
			return
		}
		p.cl.PurgeTopicsFromProducing(topic)
	}()
}
