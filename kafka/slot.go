package kafka

import (
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
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
	// ErrTransactionTimeout: exactly once, a record whose transaction
	// (of that record alone) Kafka aborted at its transaction timeout
	// loneAbortLimit times is dead-lettered instead of run again
	// (see txnState.lone).
	ErrTransactionTimeout = "Express.TransactionTimeout"
)

const (
	phaseNone = iota
	phaseOutput
	phaseDLQ
)

// slot carries one record from admission to the acknowledgement of its
// result. Slots are pooled: the produced record, its headers and the output
// buffer are reused (and the number scratch space of a custom idempotency
// key's headers).
type slot struct {
	// The fields are in the order the daemon touches them: the first two
	// cache lines hold what admission, the worker and the acknowledgement
	// (complete) read and write, so that a slot taken up again long after
	// it was last touched (as many records in flight as MaxInFlight) costs
	// fewer cache misses (TestSlotLayout).
	p             *Processor
	part          *partition
	rec           *kgo.Record
	hash          uint64
	next          *slot // the next record of the same key, waiting for this one
	t0            int64 // admission time (monoNow)
	size          int64 // len(rec.Value), counted in the in-flight bytes
	chained       bool  // ordered behind earlier records of its key (or partition)
	done          bool  // guarded by part.mu
	phase         uint8
	owner         bool // owns its dedup entry
	parsed        bool
	handedOff     bool
	rerun         bool // a waiting duplicate whose owner was abandoned
	heldDiscarded bool // the deferred finish is a discard
	// keyHeld is 2 while the worker that produced s has not handed its key
	// on yet (beforeProduce): the acknowledgement may come first, and the
	// last of the two finishes s (deferFinish, afterProduce).
	keyHeld  atomic.Int32
	waitRefs atomic.Int32
	name     string // execution name (idempotency key)
	offSlash int    // > 0: name is topic/partition/offset (setOffsetName), its second '/' here
	status   string
	ack      func(*kgo.Record, error)
	xl       *slotLog // execution logging state, made on first use

	val      any
	inLease  jsonv.Lease // the memory val was parsed into (release)
	errName  string
	cause    string
	attempts int // produces of the result that failed
	refusals int // produces of a dead letter refused as too large (truncateDLQ)

	out     kgo.Record
	hdrs    []kgo.RecordHeader
	scratch []byte
	buf     []byte           // the serialised output
	prop    []express.Header // the record's headers to propagate (propagated)
}

func newSlot(p *Processor) *slot {
	s := &slot{p: p, hdrs: make([]kgo.RecordHeader, 0, 10)}
	s.ack = s.onAck
	return s
}

func (s *slot) reset() {
	s.part, s.rec, s.hash, s.chained, s.next, s.done, s.size = nil, nil, 0, false, nil, false, 0
	s.val, s.parsed, s.handedOff, s.name, s.owner, s.rerun, s.offSlash = nil, false, false, "", false, false, 0
	s.inLease = jsonv.Lease{} // not released: the collector's
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

// outputRecord makes s.out the output record: value val, the record's key,
// its propagated headers and the source headers. It does not allocate once
// the slot's buffers have grown to fit (TestRecordHeaders).
func (s *slot) outputRecord(topic string, val []byte) {
	h := s.hdrs[:0]
	for _, x := range s.prop {
		h = append(h, kgo.RecordHeader{Key: x.Key, Value: x.Value})
	}
	s.hdrs = s.sourceHeaders(h)
	s.out = kgo.Record{Topic: topic, Key: s.rec.Key, Value: val, Headers: s.hdrs}
}

// deadLetter makes s.out the dead letter: the record's key, value and
// headers unchanged, the source headers and the key, status, error name and
// cause. The last three values are the strings' own bytes (readOnly): no
// copy. Like outputRecord it does not allocate on a warm slot.
func (s *slot) deadLetter(topic, name, cause string) {
	r := s.rec
	h := append(s.hdrs[:0], r.Headers...)
	h = s.sourceHeaders(h)
	h = append(h,
		kgo.RecordHeader{Key: HeaderKey, Value: r.Key},
		kgo.RecordHeader{Key: HeaderStatus, Value: readOnly(s.status)},
		kgo.RecordHeader{Key: HeaderError, Value: readOnly(name)},
		kgo.RecordHeader{Key: HeaderCause, Value: readOnly(cause)},
	)
	s.hdrs = h
	s.out = kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: h}
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

// readOnly returns the bytes of str without copying them, for header
// values: the client and the Observer only read them (writing to them is
// not allowed: a string's bytes may be read-only memory). Strings are
// immutable, and the slice keeps str's bytes alive as long as it is used.
func readOnly(str string) []byte {
	return unsafe.Slice(unsafe.StringData(str), len(str))
}

// setOffsetName names the execution topic/partition/offset (the default
// idempotency key) in one allocation: the partition's prefix (topic/id/,
// formatted once per partition) and the offset. sourceHeaders cuts the
// source coordinates' header values from the name's bytes instead of
// formatting them again.
func (s *slot) setOffsetName() {
	var pre []byte
	if s.part != nil {
		pre = s.part.prefix
	}
	s.name, s.offSlash = offsetName(s.rec, pre)
}

// offsetName returns r's name topic/partition/offset and the index of its
// second '/'. pre, when not nil, is r's partition's prefix (partitionPrefix).
func offsetName(r *kgo.Record, pre []byte) (string, int) {
	var num [20]byte
	off := strconv.AppendInt(num[:0], r.Offset, 10)
	if pre == nil {
		var b [64]byte
		pre = partitionPrefix(b[:0], r.Topic, r.Partition)
	}
	var b strings.Builder
	b.Grow(len(pre) + len(off))
	b.Write(pre)
	b.Write(off)
	return b.String(), len(pre) - 1
}

// partitionPrefix appends topic/id/ to b: the start of the name of each
// record of the partition.
func partitionPrefix(b []byte, topic string, id int32) []byte {
	b = append(b, topic...)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(id), 10)
	return append(b, '/')
}

// sourceHeaders appends the headers naming the workflow, execution and
// source coordinates. The execution and topic values are the strings' own
// bytes (readOnly); partition and offset are cut from an offset name
// (setOffsetName), else formatted in s.scratch, reused with the slot.
func (s *slot) sourceHeaders(h []kgo.RecordHeader) []kgo.RecordHeader {
	r := s.rec
	exec, topic := readOnly(s.name), readOnly(r.Topic)
	var part, off []byte
	if s.offSlash > 0 {
		part, off = exec[len(r.Topic)+1:s.offSlash:s.offSlash], exec[s.offSlash+1:]
	} else {
		b := strconv.AppendInt(s.scratch[:0], int64(r.Partition), 10)
		n := len(b)
		b = strconv.AppendInt(b, r.Offset, 10)
		s.scratch = b
		part, off = b[:n:n], b[n:len(b):len(b)]
	}
	return append(h,
		kgo.RecordHeader{Key: HeaderWorkflow, Value: s.p.wfName},
		kgo.RecordHeader{Key: HeaderExecution, Value: exec},
		kgo.RecordHeader{Key: HeaderSourceTopic, Value: topic},
		kgo.RecordHeader{Key: HeaderSourcePartition, Value: part},
		kgo.RecordHeader{Key: HeaderSourceOffset, Value: off},
	)
}
