// Package readings generates IoT sensor readings shaped like the reference
// workflow's input (../shared/bench/iot-reading.json), for `express load`,
// the demo generator of `express serve --demo` and the benchmarks.
package readings

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// Mix is which sensor types a Generator draws.
type Mix int

const (
	// MixValid draws temperature and humidity readings only, both of which
	// the reference workflow accepts when in range: only the
	// OutOfRangePercent readings fail. The default.
	MixValid Mix = iota
	// MixRealistic draws five sensor types, as a plant's gateway would
	// forward them: temperature, humidity, pressure, co2 and vibration
	// (weights in realisticTypes). The reference workflow accepts only
	// temperature and humidity, so with RealisticOutOfRangePercent out of
	// range about 60% of its executions end in its Rejected Fail state
	// (RejectedShare gives the exact expectation).
	MixRealistic
)

// RealisticOutOfRangePercent is the share of out-of-range values of the
// realistic stream that issue 16 describes.
const RealisticOutOfRangePercent = 5

// String returns the name ParseMix reads.
func (m Mix) String() string {
	switch m {
	case MixValid:
		return "valid"
	case MixRealistic:
		return "realistic"
	}
	return "Mix(" + strconv.Itoa(int(m)) + ")"
}

// ParseMix reads "valid" or "realistic".
func ParseMix(s string) (Mix, error) {
	switch s {
	case "valid":
		return MixValid, nil
	case "realistic":
		return MixRealistic, nil
	}
	return 0, fmt.Errorf("mix %q: want valid or realistic", s)
}

// sensorType is one kind of reading of the realistic mix: how often it
// comes (weight, in per mille), its unit, its in-range values [lo, lo+span)
// and whether the reference workflow accepts it when in range.
type sensorType struct {
	name, unit string
	weight     int
	lo, span   float64
	accepted   bool
}

// realisticTypes: the accepted types make up 42%, so that with 5% of all
// values out of range the rejected share is 0.58 + 0.42*0.05 = 60.1%.
var realisticTypes = []sensorType{
	{"temperature", "C", 210, 15, 30, true}, // 15..45 C: about half over the threshold of 30
	{"humidity", "%", 210, 10, 40, true},    // 10..50 %
	{"pressure", "hPa", 200, 960, 80, false},
	{"co2", "ppm", 190, 400, 1200, false},
	{"vibration", "mm/s", 190, 0.5, 12, false},
}

// RejectedShare is the expected share (0..1) of the readings of mix, with
// outOfRangePercent of them out of range, that the reference workflow
// rejects into its Rejected Fail state (invalid records aside).
func RejectedShare(mix Mix, outOfRangePercent float64) float64 {
	oor := outOfRangePercent / 100
	if mix != MixRealistic {
		return oor
	}
	total, accepted := 0, 0
	for _, t := range realisticTypes {
		total += t.weight
		if t.accepted {
			accepted += t.weight
		}
	}
	acc := float64(accepted) / float64(total)
	return 1 - acc + acc*oor
}

// Generator builds IoT readings shaped like ../shared/bench/iot-reading.json
// with varying values: temperature or humidity (more types with
// MixRealistic), a device out of Devices, a value in range (about half of
// the temperatures above the reference workflow's alert threshold of 30)
// and, for OutOfRangePercent of the readings, a value out of range (500 or
// more), which the reference workflow's Validate Choice rejects into its
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
	// Mix is the sensor types drawn (default MixValid). MixValid's sequence
	// of readings for a seed is the same as before MixRealistic existed.
	Mix Mix

	rnd *rand.Rand
	// sec is the Unix second whose "2006-01-02T15:04:05." secText holds:
	// readings of one second format only their milliseconds
	sec     int64
	secText []byte
}

// appendTS appends now as "2006-01-02T15:04:05.000Z" (UTC), as
// time.Time.AppendFormat would, formatting the date and time once a
// second (AppendFormat is a third of a reading's cost).
func (g *Generator) appendTS(b []byte, now time.Time) []byte {
	u := now.UTC()
	if sec := u.Unix(); sec != g.sec || g.secText == nil {
		g.sec = sec
		g.secText = u.Truncate(time.Second).AppendFormat(g.secText[:0], "2006-01-02T15:04:05.")
		if len(g.secText) != len("2006-01-02T15:04:05.") { // a year beyond 9999 or before 0
			g.secText = nil
			return u.AppendFormat(b, "2006-01-02T15:04:05.000Z")
		}
	}
	ms := u.Nanosecond() / int(time.Millisecond)
	b = append(b, g.secText...)
	return append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
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
// returns both, and whether the reading is out of range (or not JSON; a
// reading of a type the reference workflow does not accept is not counted
// as out of range). seq
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
	var typ, unit string
	var v float64
	if g.Mix == MixRealistic {
		t := g.pick()
		typ, unit, v = t.name, t.unit, t.lo+g.rnd.Float64()*t.span
	} else {
		typ, unit = "temperature", "C"
		v = 15 + g.rnd.Float64()*30 // 15..45 C: about half over the threshold of 30
		if g.rnd.IntN(2) == 0 {
			typ, unit = "humidity", "%"
			v = 10 + g.rnd.Float64()*40 // 10..50 %
		}
	}
	bad := g.OutOfRangePercent > 0 && g.rnd.Float64()*100 < g.OutOfRangePercent
	if bad {
		v = 500 + g.rnd.Float64()*100
		if typ == "pressure" || typ == "co2" {
			v *= 100 // out of range for these too
		}
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
	value = g.appendTS(value, now)
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

// pick draws a sensor type of the realistic mix by its weight.
func (g *Generator) pick() *sensorType {
	n := g.rnd.IntN(1000)
	for i := range realisticTypes {
		if n < realisticTypes[i].weight {
			return &realisticTypes[i]
		}
		n -= realisticTypes[i].weight
	}
	return &realisticTypes[len(realisticTypes)-1]
}
