// Package readings generates IoT sensor readings shaped like the reference
// workflow's input (../shared/bench/iot-reading.json), for `express load`,
// the demo generator of `express serve --demo` and the benchmarks.
package readings

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// Generator builds IoT readings shaped like ../shared/bench/iot-reading.json
// with varying values: temperature or humidity, a device out of Devices, a
// value in range (about half above the reference workflow's alert
// threshold of 30) and, for OutOfRangePercent of the readings, a value out
// of range, which the reference workflow's Validate Choice rejects into its
// Fail state. A Generator is not safe for concurrent use.
type Generator struct {
	// Devices is the number of distinct device ids (dev-0 ... dev-N-1); the
	// record key is the device id. Default 1000.
	Devices int
	// PayloadBytes pads each reading with a "note" field to about this
	// size; 0 or less than the natural size (~190 bytes) adds nothing.
	PayloadBytes int
	// OutOfRangePercent of the readings carry a value outside the accepted
	// range.
	OutOfRangePercent float64
	// InvalidPercent of the records are not JSON (a reading cut short):
	// the daemon dead-letters them without an execution.
	InvalidPercent float64
	// EventIDs adds a unique "eventId" (for an idempotency key of $.eventId).
	EventIDs bool

	rnd *rand.Rand
}

// NewGenerator returns a Generator with a deterministic random sequence
// derived from seed.
func NewGenerator(seed uint64, devices, payloadBytes int, outOfRangePercent float64) *Generator {
	if devices <= 0 {
		devices = 1000
	}
	return &Generator{Devices: devices, PayloadBytes: payloadBytes, OutOfRangePercent: outOfRangePercent,
		rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Next appends the next reading to value and its device id to key and
// returns both, and whether the reading is out of range (or not JSON). seq
// is written into the reading as "seq"; now is its timestamp.
func (g *Generator) Next(key, value []byte, seq int64, now time.Time) ([]byte, []byte, bool) {
	dev := g.rnd.IntN(g.Devices)
	key = append(key, "dev-"...)
	key = strconv.AppendInt(key, int64(dev), 10)
	devID := key[len(key)-len(strconv.Itoa(dev))-4:]
	if g.InvalidPercent > 0 && g.rnd.Float64()*100 < g.InvalidPercent {
		value = append(value, `{"deviceId":"`...)
		value = append(value, devID...)
		return key, append(value, `", broken`...), true
	}
	typ, unit := "temperature", "C"
	v := 15 + g.rnd.Float64()*30 // 15..45 C: about half over the threshold of 30
	if g.rnd.IntN(2) == 0 {
		typ, unit = "humidity", "%"
		v = 10 + g.rnd.Float64()*40 // 10..50 %
	}
	bad := g.OutOfRangePercent > 0 && g.rnd.Float64()*100 < g.OutOfRangePercent
	if bad {
		v = 500 + g.rnd.Float64()*100
	}
	start := len(value)
	value = append(value, '{')
	if g.EventIDs {
		value = append(value, `"eventId":"`...)
		value = strconv.AppendInt(value, now.UnixNano(), 36)
		value = append(value, '-')
		value = strconv.AppendInt(value, seq, 10)
		value = append(value, `",`...)
	}
	value = append(value, `"deviceId":"`...)
	value = append(value, devID...)
	value = append(value, `","ts":"`...)
	value = now.UTC().AppendFormat(value, "2006-01-02T15:04:05.000Z")
	value = append(value, `","type":"`...)
	value = append(value, typ...)
	value = append(value, `","value":`...)
	value = strconv.AppendFloat(value, float64(int64(v*10))/10, 'f', -1, 64)
	value = append(value, `,"unit":"`...)
	value = append(value, unit...)
	value = append(value, `","battery":`...)
	value = strconv.AppendFloat(value, float64(50+g.rnd.IntN(50))/100, 'f', -1, 64)
	value = append(value, `,"tags":["roof","north"],"seq":`...)
	value = strconv.AppendInt(value, seq, 10)
	if pad := g.PayloadBytes - (len(value) - start) - len(`,"note":""}`); pad > 0 {
		value = append(value, `,"note":"`...)
		for range pad {
			value = append(value, 'x')
		}
		value = append(value, '"')
	}
	value = append(value, '}')
	return key, value, bad
}
