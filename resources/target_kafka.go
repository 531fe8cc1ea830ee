package resources

import (
	"context"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// KindKafka targets, kafka:TOPIC, publish each message as a record to the
// topic with Config.Producer.
const KindKafka Kind = "kafka"

func init() { RegisterKind(kafkaKind{}) }

type kafkaKind struct{}

func (kafkaKind) Name() Kind { return KindKafka }

func (kafkaKind) Syntax() Syntax {
	return Syntax{Prefixes: []string{"kafka:"}, Form: "kafka:TOPIC"}
}

func (kafkaKind) Parse(s string, t *Target) error {
	topic := strings.TrimPrefix(s, "kafka:")
	if err := checkTopic(topic); err != nil {
		return err
	}
	t.Topic = topic
	t.Endpoint = kafkaTarget{topic: topic}
	return nil
}

type kafkaTarget struct{ topic string }

// Send produces msg synchronously: its Value, Key and Headers and the
// idempotency headers.
func (k kafkaTarget) Send(ctx context.Context, cfg *Config, req *express.TaskRequest, msg Message) (Reply, error) {
	var value []byte
	if b, ok := msg.Value.([]byte); ok {
		value = b
	} else {
		value = jsonv.AppendJSON(nil, msg.Value) // plain values or the engine's objects
	}
	rec := &kgo.Record{Topic: k.topic, Value: value, Key: msg.Key, Headers: msg.Headers}
	if err := produce(ctx, cfg, req, rec); err != nil {
		return Reply{}, err
	}
	return Reply{Published: true, Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset}, nil
}

// AcceptsObjects reports true: values are written with jsonv.
func (kafkaTarget) AcceptsObjects() bool { return true }

// produce publishes rec synchronously with the idempotency headers
// (Idempotency-Key: the call's key, express.TaskRequest.CallKey;
// express-attempt, express-workflow, express-state) and the headers
// passed on from the input record (TaskRequest.Headers).
func produce(ctx context.Context, cfg *Config, req *express.TaskRequest, rec *kgo.Record) error {
	if cfg.Producer == nil {
		return express.Errorf(express.ErrTaskFailed, "no Kafka producer is configured for topic %q", rec.Topic)
	}
	rec.Headers = append(rec.Headers,
		kgo.RecordHeader{Key: "Idempotency-Key", Value: []byte(req.CallKey())},
		kgo.RecordHeader{Key: "express-attempt", Value: attemptValue(req.Attempt)},
		kgo.RecordHeader{Key: "express-workflow", Value: []byte(req.Workflow)},
		kgo.RecordHeader{Key: "express-state", Value: []byte(req.State)},
	)
	for _, h := range req.Headers {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.KafkaTimeout)
	defer cancel()
	if err := cfg.Producer.ProduceSync(ctx, rec).FirstErr(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return express.Errorf(express.ErrTaskFailed, "publishing to %q: %v", rec.Topic, err)
	}
	return nil
}

func checkTopic(t string) error {
	if t == "" {
		return fmt.Errorf("empty topic name")
	}
	if len(t) > 249 {
		return fmt.Errorf("topic name longer than 249 characters")
	}
	if t == "." || t == ".." {
		return fmt.Errorf("topic name %q is not allowed", t)
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("topic name %q has %q (allowed: letters, digits, '.', '_', '-')", t, c)
		}
	}
	return nil
}

// CheckTopic reports whether t is a valid Kafka topic name.
func CheckTopic(t string) error { return checkTopic(t) }
