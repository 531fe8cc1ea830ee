package uuid

import (
	"regexp"
	"testing"
)

func TestNew(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		u := New()
		if !re.MatchString(u) || seen[u] {
			t.Fatalf("%q (seen before: %v)", u, seen[u])
		}
		seen[u] = true
	}
}

func TestAppend(t *testing.T) {
	b := Append([]byte("id="))
	if len(b) != 3+36 || string(b[:3]) != "id=" || b[3+14] != '4' {
		t.Fatalf("%q", b)
	}
	if n := testing.AllocsPerRun(100, func() { var a [36]byte; Append(a[:0]) }); n != 0 && !raceEnabled {
		t.Fatalf("%v allocations", n)
	}
}
