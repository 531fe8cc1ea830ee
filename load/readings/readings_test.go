package readings

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestGenerator(t *testing.T) {
	g := NewGenerator(1, 10, 300, 10)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	bad, types := 0, map[string]int{}
	for i := range 1000 {
		k, v, out := g.Next(nil, nil, int64(i), now)
		var m map[string]any
		if err := json.Unmarshal(v, &m); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if m["deviceId"] != string(k) || !strings.HasPrefix(string(k), "dev-") || m["ts"] != "2026-11-22T10:00:00.000Z" {
			t.Fatalf("key %s, reading %s", k, v)
		}
		if len(v) < 295 || len(v) > 305 {
			t.Fatalf("%d bytes, want about 300: %s", len(v), v)
		}
		types[m["type"].(string)]++
		if out {
			bad++
			if m["value"].(float64) < 500 {
				t.Fatalf("out of range reading %s", v)
			}
		}
	}
	if bad < 50 || bad > 150 || types["temperature"] < 400 || types["humidity"] < 400 {
		t.Errorf("%d out of range, types %v", bad, types)
	}
}

// TestGeneratorDemoOptions: event ids are unique and invalid records are
// not JSON, in about the share asked.
func TestGeneratorDemoOptions(t *testing.T) {
	g := NewGenerator(2, 10, 0, 0)
	g.InvalidPercent, g.EventIDs = 5, true
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	invalid, ids := 0, map[string]bool{}
	for i := range 2000 {
		k, v, bad := g.Next(nil, nil, int64(i), now)
		var m map[string]any
		if err := json.Unmarshal(v, &m); err != nil {
			if !bad || !strings.HasPrefix(string(v), `{"deviceId":"`+string(k)) {
				t.Fatalf("invalid record %s not reported, or not the device's", v)
			}
			invalid++
			continue
		}
		id, _ := m["eventId"].(string)
		if id == "" || ids[id] {
			t.Fatalf("event id %q missing or repeated: %s", id, v)
		}
		ids[id] = true
	}
	if invalid < 50 || invalid > 150 {
		t.Errorf("%d invalid of 2000, want about 100", invalid)
	}
}

// TestAppendTS: the timestamps a Generator writes are AppendFormat's,
// across seconds, days, years, before 1970 and far out of range.
func TestAppendTS(t *testing.T) {
	var g Generator
	base := []time.Time{
		time.Date(2026, 12, 5, 23, 59, 59, 998_000_000, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2024, 2, 29, 12, 0, 0, 0, time.FixedZone("X", 5*3600+1800)),
		time.Date(9999, 12, 31, 23, 59, 59, 990_000_000, time.UTC),
		time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for _, b := range base {
		for _, d := range []time.Duration{0, time.Microsecond, time.Millisecond, 7 * time.Millisecond, 999 * time.Microsecond, 1500 * time.Microsecond, time.Second, 3 * time.Millisecond, -time.Second} {
			now := b.Add(d)
			want := now.UTC().AppendFormat([]byte("x"), "2006-01-02T15:04:05.000Z")
			if got := g.appendTS([]byte("x"), now); string(got) != string(want) {
				t.Errorf("%v: %s, want %s", now, got, want)
			}
		}
	}
}
