package kafka

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestOffsetName: the default execution name is topic/partition/offset,
// the same whether its start comes from the record's partition (the
// prefix formatted once when the partition is assigned) or is formatted
// from the record (slots made without a partition, the idempotency key's
// fallback); it costs one allocation, and the source headers' values are
// cut from it.
func TestOffsetName(t *testing.T) {
	p := &Processor{wfName: []byte("wf")}
	cases := []struct {
		topic  string
		part   int32
		offset int64
	}{
		{"in", 0, 0},
		{"readings", 11, 123456},
		{"readings-mixed", 2147483647, 9223372036854775807},
		{strings.Repeat("t", 249), 7, 1 << 40}, // Kafka's longest topic name
	}
	for _, c := range cases {
		want := fmt.Sprintf("%s/%d/%d", c.topic, c.part, c.offset)
		r := &kgo.Record{Topic: c.topic, Partition: c.part, Offset: c.offset}
		for _, withPart := range []bool{false, true} {
			s := newSlot(p)
			s.rec = r
			if withPart {
				s.part = newPartition(context.Background(), c.topic, c.part, true)
			}
			s.setOffsetName()
			if s.name != want || s.name[s.offSlash] != '/' || s.offSlash != len(c.topic)+1+len(strconv.Itoa(int(c.part))) {
				t.Fatalf("partition %v: name %q (second slash at %d), want %q", withPart, s.name, s.offSlash, want)
			}
			vals := map[string]string{}
			for _, h := range s.sourceHeaders(nil) {
				vals[h.Key] = string(h.Value)
			}
			if vals[HeaderExecution] != want || vals[HeaderSourceTopic] != c.topic || vals[HeaderSourcePartition] != strconv.Itoa(int(c.part)) ||
				vals[HeaderSourceOffset] != strconv.FormatInt(c.offset, 10) || vals[HeaderWorkflow] != "wf" {
				t.Errorf("partition %v: source headers %v", withPart, vals)
			}
			if withPart {
				if n := testing.AllocsPerRun(100, s.setOffsetName); n != 1 {
					t.Errorf("%v allocations per name, want 1", n)
				}
				if k := (&KeySource{recKey: true}).key(r, nil, s.part.prefix); k != want {
					t.Errorf("idempotency key of a record without a key %q, want %q", k, want)
				}
			}
		}
		// a name from a custom idempotency key: the coordinates are
		// formatted, the execution header is the name
		s := newSlot(p)
		s.rec, s.name = r, "event-"+c.topic
		vals := map[string]string{}
		for _, h := range s.sourceHeaders(nil) {
			vals[h.Key] = string(h.Value)
		}
		if vals[HeaderExecution] != s.name || vals[HeaderSourceTopic] != c.topic || vals[HeaderSourcePartition] != strconv.Itoa(int(c.part)) ||
			vals[HeaderSourceOffset] != strconv.FormatInt(c.offset, 10) {
			t.Errorf("custom name: source headers %v", vals)
		}
	}
}

// TestDLQValues: a dead letter's status, error and cause header values are
// the strings' own bytes (no copy, no allocation, however long the cause),
// and building the next dead letter of the slot leaves the values of the
// previous one as they were (the client may still be writing it).
func TestDLQValues(t *testing.T) {
	p := &Processor{wfName: []byte("wf")}
	s := newSlot(p)
	s.rec = &kgo.Record{Topic: "in", Partition: 3, Offset: 42, Key: []byte("k")}
	s.setOffsetName()
	s.status = "FAILED"
	values := func() map[string]string {
		m := map[string]string{}
		for _, h := range s.out.Headers {
			m[h.Key] = string(h.Value)
		}
		return m
	}
	long := strings.Repeat("x", 64<<10)
	for _, cause := range []string{"type or value outside the accepted range", long, ""} {
		s.deadLetter("dlq", "Reading.OutOfRange", cause)
		first := append([]kgo.RecordHeader(nil), s.out.Headers...) // the values themselves are not copied
		v := values()
		if v[HeaderStatus] != "FAILED" || v[HeaderError] != "Reading.OutOfRange" || v[HeaderCause] != cause || v[HeaderExecution] != "in/3/42" {
			t.Fatalf("dead letter headers %v", v)
		}
		if n := testing.AllocsPerRun(100, func() { s.deadLetter("dlq", "Reading.OutOfRange", cause) }); n != 0 {
			t.Errorf("cause of %d bytes: %v allocations per dead letter, want 0", len(cause), n)
		}
		s.status = "TIMED_OUT"
		s.deadLetter("dlq", "States.Timeout", "other")
		prev := map[string]string{}
		for _, h := range first {
			prev[h.Key] = string(h.Value)
		}
		for k, x := range v {
			if prev[k] != x {
				t.Errorf("%s changed to %q by the next dead letter", k, prev[k])
			}
		}
		s.status = "FAILED"
	}
}

// TestRecordHeaders: the output record and the dead letter carry the same
// source headers whether the execution is named by its offset (the
// values are then cut from the name's bytes) or by an idempotency key
// (formatted), and on a warm slot neither allocates: a dead letter costs
// no more allocations than an output.
func TestRecordHeaders(t *testing.T) {
	p := &Processor{wfName: []byte("wf")}
	for _, named := range []string{"", "order-17"} {
		s := newSlot(p)
		s.rec = &kgo.Record{Topic: "readings", Partition: 11, Offset: 123456, Key: []byte("k"), Value: []byte(`{"a":1}`),
			Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-x")}}}
		s.status = "FAILED"
		exec := named
		if named == "" {
			s.setOffsetName()
			exec = "readings/11/123456"
		} else {
			s.name = named
		}
		if s.name != exec {
			t.Fatalf("name %q, want %q", s.name, exec)
		}
		want := map[string]string{HeaderWorkflow: "wf", HeaderExecution: exec, HeaderSourceTopic: "readings", HeaderSourcePartition: "11", HeaderSourceOffset: "123456"}
		check := func(what string, r *kgo.Record, extra map[string]string) {
			t.Helper()
			got := map[string]string{}
			for _, h := range r.Headers {
				got[h.Key] = string(h.Value)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s (name %q): %s = %q, want %q", what, named, k, got[k], v)
				}
			}
			for k, v := range extra {
				if got[k] != v {
					t.Errorf("%s (name %q): %s = %q, want %q", what, named, k, got[k], v)
				}
			}
		}
		val := []byte(`{"a":1,"processed":true}`)
		s.outputRecord("out", val)
		check("output", &s.out, nil)
		s.deadLetter("dlq", "Reading.OutOfRange", "type or value outside the accepted range")
		check("dead letter", &s.out, map[string]string{HeaderKey: "k", HeaderStatus: "FAILED", HeaderError: "Reading.OutOfRange",
			HeaderCause: "type or value outside the accepted range", "traceparent": "00-x"})
		if string(s.out.Value) != `{"a":1}` {
			t.Errorf("dead letter value %q", s.out.Value)
		}
		// an output refused, then sent as a dead letter, then again as output
		s.outputRecord("out", val)
		check("output again", &s.out, nil)
		out := testing.AllocsPerRun(200, func() { s.outputRecord("out", val) })
		dl := testing.AllocsPerRun(200, func() {
			s.deadLetter("dlq", "Reading.OutOfRange", "type or value outside the accepted range")
		})
		if out != 0 || dl != 0 {
			t.Errorf("name %q: %v allocations per output record, %v per dead letter; want 0", named, out, dl)
		}
	}
}

// TestSlotLayout: what admission, the worker and the acknowledgement of
// every record touch is in a slot's first two cache lines.
func TestSlotLayout(t *testing.T) {
	var s slot
	hot := map[string]uintptr{"p": unsafe.Offsetof(s.p), "part": unsafe.Offsetof(s.part), "rec": unsafe.Offsetof(s.rec),
		"hash": unsafe.Offsetof(s.hash), "t0": unsafe.Offsetof(s.t0), "size": unsafe.Offsetof(s.size), "done": unsafe.Offsetof(s.done),
		"phase": unsafe.Offsetof(s.phase), "owner": unsafe.Offsetof(s.owner), "keyHeld": unsafe.Offsetof(s.keyHeld),
		"name": unsafe.Offsetof(s.name), "status": unsafe.Offsetof(s.status), "ack": unsafe.Offsetof(s.ack)}
	for f, off := range hot {
		if off >= 128 {
			t.Errorf("slot.%s at byte %d, beyond the first two cache lines", f, off)
		}
	}
}

// BenchmarkSlotPath is the kafka package's own per-record work around an
// execution, on as many slots as the default MaxInFlight (so that, as in
// the daemon, a slot is taken up again long after it was last touched):
// the execution's name, the output record (40%) or the dead letter (60%,
// issue 16's mixed stream) with their headers, and the slot's reset. It
// leaves out the execution and the client.
func BenchmarkSlotPath(b *testing.B) {
	p := &Processor{wfName: []byte("iot-reference")}
	const n = DefaultMaxInFlight
	parts := make([]*partition, 12)
	for i := range parts {
		parts[i] = newPartition(context.Background(), "readings-mixed", int32(i), true)
	}
	recs := make([]kgo.Record, n)
	slots := make([]*slot, n)
	for i := range recs {
		recs[i] = kgo.Record{Topic: "readings-mixed", Partition: int32(i % 12), Offset: int64(1_000_000 + i),
			Key: []byte("device-" + strconv.Itoa(i%5000)), Value: []byte(`{"deviceId":"device-1","type":"co2","value":412.5}`)}
		slots[i] = newSlot(p)
	}
	out := []byte(`{"key":"device-1/co2/1733400000","deviceId":"device-1","site":"plant-1","status":"OK"}`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		k := i % n
		s := slots[k]
		s.part, s.rec = parts[k%12], &recs[k]
		s.setOffsetName()
		if i%5 < 3 {
			s.status = "FAILED"
			s.deadLetter("dlq", "Reading.Rejected", "type or value outside the accepted range")
		} else {
			s.outputRecord("out", out)
		}
		if len(s.out.Headers) < 5 {
			b.Fatal("headers missing")
		}
		s.reset()
	}
}
