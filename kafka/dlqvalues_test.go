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
