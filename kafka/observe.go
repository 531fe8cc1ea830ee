package kafka

import (
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/express"
)

// Observer watches a Processor's executions for a console. Its methods are
// called on the processor's workers and must be fast and safe for
// concurrent use; records, headers and results passed to them are valid
// only during the call (copy what you keep: a result's Output and the
// values in it are reused once the output is written, see
// express.Result.Release) and must not be modified (header values may be
// the bytes of strings).
type Observer interface {
	// Sample is called before each execution: it returns the History the
	// execution records (a rate-limited sample), or nil (most of them).
	Sample() *express.History
	// Executed is called after every execution that recorded a History
	// and every one that did not succeed (h is then nil unless sampled),
	// with the record it ran on.
	Executed(rec *kgo.Record, res *express.Result, h *express.History)
	// DeadLettered is called when the broker acknowledged a dead letter:
	// dl is the record written to the dead-letter topic (the source
	// record's key, value and headers plus the x-express-* headers).
	DeadLettered(dl *kgo.Record)
}

// sample asks the Observer, if any, whether the next execution records its
// history.
func (p *Processor) sample() *express.History {
	if p.o.Observer == nil {
		return nil
	}
	return p.o.Observer.Sample()
}

// observe hands a sampled or failed execution to the Observer.
func (p *Processor) observe(r *kgo.Record, res *express.Result, h *express.History) {
	if p.o.Observer != nil && (h != nil || res.Status != express.Succeeded) {
		p.o.Observer.Executed(r, res, h)
	}
}

// observeDLQ hands an acknowledged dead letter to the Observer.
func (p *Processor) observeDLQ(s *slot) {
	if p.o.Observer != nil {
		p.o.Observer.DeadLettered(&s.out)
	}
}
