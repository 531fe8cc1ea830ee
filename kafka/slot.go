package kafka

import (
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/express"
)

// Header names set on output and dead-letter records.
const (
	HeaderWorkflow        = "express-workflow"
	HeaderExecution       = "express-execution" // the idempotency key
	HeaderSourceTopic     = "express-source-topic"
	HeaderSourcePartition = "express-source-partition"
	HeaderSourceOffset    = "express-source-offset"
	HeaderKey             = "express-key" // the source record's key (DLQ)
	HeaderError           = "express-error"
	HeaderCause           = "express-cause"
	HeaderStatus          = "express-status" // SUCCEEDED, FAILED, TIMED_OUT, ABORTED, REJECTED
)

// Error names of records rejected before any execution.
const (
	ErrInvalidJSON    = "Express.InvalidJSON"
	ErrRecordTooLarge = "Express.RecordTooLarge"
	ErrOutputRejected = "Express.OutputRejected"
)

const (
	phaseNone = iota
	phaseOutput
	phaseDLQ
)

// slot carries one record from admission to the acknowledgement of its
// result. Slots are pooled: the produced record, its headers, the number
// scratch space and the output buffer are reused.
type slot struct {
	p       *Processor
	part    *partition
	rec     *kgo.Record
	hash    uint64
	chained bool  // ordered behind earlier records of its key (or partition)
	next    *slot // the next record of the same key, waiting for this one
	done    bool  // guarded by part.mu

	t0        int64 // admission time, unix nanoseconds
	attempts  int   // produces of the result that failed
	refusals  int   // produces of a dead letter refused as too large (truncateDLQ)
	size      int64 // len(rec.Value), counted in the in-flight bytes
	val       any
	parsed    bool
	handedOff bool
	name      string // execution name (idempotency key)
	owner     bool   // owns its dedup entry
	rerun     bool   // a waiting duplicate whose owner was abandoned
	waitRefs  atomic.Int32
	phase     uint8
	status    string
	errName   string
	cause     string

	out     kgo.Record
	hdrs    []kgo.RecordHeader
	scratch []byte
	buf     []byte           // the serialised output
	prop    []express.Header // the record's headers to propagate (propagated)
	ack     func(*kgo.Record, error)
	xl      *slotLog // execution logging state, made on first use
}

func newSlot(p *Processor) *slot {
	s := &slot{p: p, hdrs: make([]kgo.RecordHeader, 0, 10), scratch: make([]byte, 0, 64)}
	s.ack = s.onAck
	return s
}

func (s *slot) reset() {
	s.part, s.rec, s.hash, s.chained, s.next, s.done, s.size = nil, nil, 0, false, nil, false, 0
	s.val, s.parsed, s.handedOff, s.name, s.owner, s.rerun = nil, false, false, "", false, false
	s.phase, s.status, s.errName, s.cause, s.attempts, s.refusals = phaseNone, "", "", "", 0, 0
	clear(s.prop)
	s.prop = s.prop[:0]
	hdrs, scratch := s.hdrs[:0], s.scratch[:0]
	clear(s.hdrs[:cap(s.hdrs)])
	s.out = kgo.Record{}
	s.hdrs, s.scratch = hdrs, scratch
	if cap(s.buf) > 64<<10 {
		s.buf = nil // do not keep a rare large output's buffer
	}
}

func (s *slot) onAck(_ *kgo.Record, err error) {
	if err != nil {
		s.p.produceFailed(s, err)
		return
	}
	s.p.complete(s)
}

// propagated returns the headers of the record named in names (compared
// without regard to case), in the record's order, for its execution and
// its output record. They refer to the record's own bytes.
func (s *slot) propagated(names []string) []express.Header {
	s.prop = s.prop[:0]
	for _, h := range s.rec.Headers {
		for _, n := range names {
			if strings.EqualFold(h.Key, n) {
				s.prop = append(s.prop, express.Header{Key: h.Key, Value: h.Value})
				break
			}
		}
	}
	return s.prop
}

// sourceHeaders appends the headers naming the workflow, execution and
// source coordinates. Numbers are formatted into s.scratch, which must not
// grow afterwards (the headers point into it).
// dlqScratchMax bounds what a dead letter's status, error and cause may
// add to the slot's scratch buffer: slots are many (one per record in
// flight) and live long, so a long cause gets a buffer of its own.
const dlqScratchMax = 512

// dlqValues returns the dead letter's status, error name and cause header
// values, written after the source headers' values in the slot's scratch
// buffer (reused with the slot: no allocation per dead letter) unless they
// are long. Call it after sourceHeaders.
func (s *slot) dlqValues(name, cause string) (status, errName, causeV []byte) {
	n := len(s.status) + len(name) + len(cause)
	b := s.scratch
	if n > dlqScratchMax || cap(b)-len(b) < n && cap(b)+n > 2*dlqScratchMax {
		all := make([]byte, 0, n)
		all = append(append(append(all, s.status...), name...), cause...)
		n1, n2 := len(s.status), len(s.status)+len(name)
		return all[:n1:n1], all[n1:n2:n2], all[n2:]
	}
	n0 := len(b)
	b = append(b, s.status...)
	n1 := len(b)
	b = append(b, name...)
	n2 := len(b)
	b = append(b, cause...)
	s.scratch = b
	return b[n0:n1:n1], b[n1:n2:n2], b[n2:len(b):len(b)]
}

func (s *slot) sourceHeaders(h []kgo.RecordHeader) []kgo.RecordHeader {
	r := s.rec
	need := 42 + len(s.name) + len(r.Topic)
	b := s.scratch[:0]
	if cap(b) < need {
		b = make([]byte, 0, need+32)
	}
	b = append(b, s.name...)
	n1 := len(b)
	b = append(b, r.Topic...)
	n2 := len(b)
	b = strconv.AppendInt(b, int64(r.Partition), 10)
	n3 := len(b)
	b = strconv.AppendInt(b, r.Offset, 10)
	n4 := len(b)
	s.scratch = b
	h = append(h,
		kgo.RecordHeader{Key: HeaderWorkflow, Value: s.p.wfName},
		kgo.RecordHeader{Key: HeaderExecution, Value: b[:n1:n1]},
		kgo.RecordHeader{Key: HeaderSourceTopic, Value: b[n1:n2:n2]},
		kgo.RecordHeader{Key: HeaderSourcePartition, Value: b[n2:n3:n3]},
		kgo.RecordHeader{Key: HeaderSourceOffset, Value: b[n3:n4:n4]},
	)
	return h
}
