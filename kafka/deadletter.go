package kafka

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Headers of a dead letter whose value was cut to fit the topic.
const (
	HeaderTruncated    = "express-truncated"     // "true": the value is the record's first bytes
	HeaderOriginalSize = "express-original-size" // the record value's size in bytes
)

// Truncation leaves this much of a topic's limit for the record batch and
// record framing around key, value and headers.
const batchOverhead = 512

// maxTruncatedCause bounds the cause header of a truncated dead letter (a
// cause can quote the record).
const maxTruncatedCause = 4096

// tooLarge reports whether err says a record does not fit: refused by the
// broker or by the client's own batch limit.
func tooLarge(err error) bool {
	return errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge)
}

// truncateDLQ sends again a dead letter that was refused as too large, so
// that its offset can be committed instead of being retried forever. The
// topic's limit is asked again (at most once a second): when it went down,
// the producer's batches are rebuilt for it. A record that fits the limit
// was refused with the others of its batch and is sent again as it is.
// Otherwise the largest form that fits is sent: every header with the
// value's first bytes, or only the express-* headers; when nothing fits (a
// huge key) the record is given up: logged, counted and committed with no
// dead letter.
func (p *Processor) truncateDLQ(s *slot, cause error) {
	r := s.rec
	s.refusals++
	limit := p.recordLimit(s.out.Topic) - batchOverhead
	if size := recordBytes(r.Key, s.out.Value, s.out.Headers); size <= limit {
		p.resend(s, min(time.Duration(s.refusals)*100*time.Millisecond, 2*time.Second))
		return
	}
	errCause := s.cause
	if len(errCause) > maxTruncatedCause {
		errCause = errCause[:maxTruncatedCause]
	}
	express := func(h []kgo.RecordHeader) []kgo.RecordHeader {
		h = s.sourceHeaders(h)
		return append(h,
			kgo.RecordHeader{Key: HeaderKey, Value: r.Key},
			kgo.RecordHeader{Key: HeaderStatus, Value: []byte(s.status)},
			kgo.RecordHeader{Key: HeaderError, Value: []byte(s.errName)},
			kgo.RecordHeader{Key: HeaderCause, Value: []byte(errCause)},
			kgo.RecordHeader{Key: HeaderTruncated, Value: []byte("true")},
			kgo.RecordHeader{Key: HeaderOriginalSize, Value: strconv.AppendInt(nil, int64(len(r.Value)), 10)},
		)
	}
	var value []byte
	h := express(append([]kgo.RecordHeader(nil), r.Headers...))
	if room := limit - recordBytes(r.Key, nil, h); room > 0 {
		value = r.Value[:min(room, len(r.Value))]
	} else if h = express(nil); recordBytes(r.Key, nil, h) > limit {
		p.log.Error("dead letter refused as too large even without its value and source headers: giving up on it, its offset will be committed with no dead letter",
			"topic", s.out.Topic, "source_topic", r.Topic, "source_partition", r.Partition, "source_offset", r.Offset,
			"value_bytes", len(r.Value), "key_bytes", len(r.Key), "limit", limit, "error", s.errName, "err", cause)
		if p.m != nil {
			p.m.dlqGaveUp.Inc()
		}
		p.complete(s)
		return
	}
	p.log.Warn("dead letter refused as too large: sending it truncated",
		"topic", s.out.Topic, "source_topic", r.Topic, "source_partition", r.Partition, "source_offset", r.Offset,
		"value_bytes", len(r.Value), "sent_bytes", len(value), "limit", limit, "err", cause)
	if p.m != nil && s.refusals == 1 {
		p.m.dlqTruncated.Inc()
	}
	s.hdrs = h
	s.out = kgo.Record{Topic: s.out.Topic, Key: r.Key, Value: value, Headers: h}
	p.resend(s, 0)
}

// recordBytes is what the client counts of a record against its batch
// limit, plus a little framing per header.
func recordBytes(key, value []byte, h []kgo.RecordHeader) int {
	n := len(key) + len(value)
	for _, x := range h {
		n += len(x.Key) + len(x.Value) + 4
	}
	return n
}

// defaultRecordLimit is Kafka's default max.message.bytes, and franz-go's
// default batch limit.
const defaultRecordLimit = 1_000_012

// batchLimit is the producer's batch limit for topic: the topic's
// max.message.bytes when known (asked when the processor starts), so that
// one large record cannot make the broker refuse a whole batch of small
// ones with it.
func (p *Processor) batchLimit(topic string) int32 {
	limit := defaultRecordLimit
	if v, ok := p.topicLimits.Load(topic); ok {
		limit = min(v.(topicLimit).bytes, 1<<30)
	}
	return int32(max(limit, 512))
}

// recordLimit is the largest record the topic takes: the smaller of its
// max.message.bytes (asked again once limitMaxAge old) and the client's
// batch limit. When the topic's limit went down, the producer's batches
// are rebuilt for it.
func (p *Processor) recordLimit(topic string) int {
	limit := defaultRecordLimit
	if fn, ok := p.cl.OptValue(kgo.ProducerBatchMaxBytesFn).(func(string) int32); ok && fn != nil {
		limit = int(fn(topic))
	}
	v, cached := p.topicLimits.Load(topic)
	old, _ := v.(topicLimit)
	if cached && time.Since(old.at) < limitMaxAge {
		return min(limit, old.bytes)
	}
	n, ok := p.askRecordLimit(p.base, topic)
	switch {
	case !ok && cached:
		return min(limit, old.bytes)
	case ok && cached && n < old.bytes:
		p.log.Warn("the topic's max.message.bytes went down: rebuilding its producer batches", "topic", topic, "was", old.bytes, "now", n)
		p.cl.PurgeTopicsFromProducing(topic)
	}
	return min(limit, n)
}

// topicLimit is a topic's max.message.bytes and when it was read.
type topicLimit struct {
	bytes int
	at    time.Time
}

// limitMaxAge is how long a topic's max.message.bytes is used before a
// record refused as too large makes the processor ask again.
const limitMaxAge = time.Second

// askRecordLimit asks the brokers for topic's max.message.bytes and caches
// it; it returns defaultRecordLimit and false when they do not answer.
func (p *Processor) askRecordLimit(ctx context.Context, topic string) (int, bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req := kmsg.NewPtrDescribeConfigsRequest()
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType = kmsg.ConfigResourceTypeTopic
	res.ResourceName = topic
	res.ConfigNames = []string{"max.message.bytes"}
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctx, p.cl)
	if err != nil {
		return defaultRecordLimit, false
	}
	for _, rr := range resp.Resources {
		for _, c := range rr.Configs {
			if c.Name == "max.message.bytes" && c.Value != nil {
				if n, err := strconv.Atoi(*c.Value); err == nil && n > 0 {
					p.topicLimits.Store(topic, topicLimit{n, time.Now()})
					return n, true
				}
			}
		}
	}
	return defaultRecordLimit, false
}
