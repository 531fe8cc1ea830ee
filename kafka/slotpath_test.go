package kafka

import (
	"context"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

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
