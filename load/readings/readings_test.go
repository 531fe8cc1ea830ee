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
