package kafka

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestDLQValues: a dead letter's status, error and cause header values are
// written after the source headers' values in the slot's scratch buffer,
// which the next dead letter of the slot reuses without allocating; a long
// cause gets a buffer of its own, so slots do not keep large buffers.
func TestDLQValues(t *testing.T) {
	p := &Processor{wfName: []byte("wf")}
	s := &slot{p: p, scratch: make([]byte, 0, 64), rec: &kgo.Record{Topic: "in", Partition: 3, Offset: 42}, name: "in-3-42", status: "FAILED"}
	check := func(cause string) {
		t.Helper()
		h := s.sourceHeaders(nil)
		st, name, c := s.dlqValues("Reading.OutOfRange", cause)
		if string(st) != "FAILED" || string(name) != "Reading.OutOfRange" || string(c) != cause {
			t.Fatalf("values %q %q %q", st, name, c)
		}
		want := map[string]string{HeaderExecution: "in-3-42", HeaderSourceTopic: "in", HeaderSourcePartition: "3", HeaderSourceOffset: "42"}
		for _, x := range h {
			if w, ok := want[x.Key]; ok && string(x.Value) != w {
				t.Fatalf("%s = %q after the dead letter's values, want %q", x.Key, x.Value, w)
			}
		}
	}
	check("type or value outside the accepted range")
	if n := testing.AllocsPerRun(100, func() {
		s.hdrs = s.sourceHeaders(s.hdrs[:0])
		s.dlqValues("Reading.OutOfRange", "type or value outside the accepted range")
	}); n != 0 {
		t.Errorf("%v allocations per dead letter, want 0", n)
	}
	long := strings.Repeat("x", 4*dlqScratchMax)
	check(long)
	if cap(s.scratch) > 2*dlqScratchMax {
		t.Errorf("the slot kept a %d-byte buffer after a long cause", cap(s.scratch))
	}
	check("short again")
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
