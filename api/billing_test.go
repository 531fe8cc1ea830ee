package api

import (
	"testing"
	"time"
)

func TestBilling(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int64
	}{{0, 100}, {time.Microsecond, 100}, {100 * time.Millisecond, 100}, {100*time.Millisecond + time.Nanosecond, 200}, {1234 * time.Millisecond, 1300}, {5 * time.Minute, 300000}} {
		if got := billedDurationMS(tc.d); got != tc.want {
			t.Errorf("billedDurationMS(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
	const mb = 1 << 20
	for _, tc := range []struct {
		def, in, out int
		want         int64
	}{{2000, 200, 200, 64}, {0, 14 * mb, 0, 64}, {0, 14*mb + 1, 0, 128}, {1 << 20, 256 << 10, 256 << 10, 64}} {
		if got := billedMemoryMB(tc.def, tc.in, tc.out); got != tc.want {
			t.Errorf("billedMemoryMB(%d, %d, %d) = %d, want %d", tc.def, tc.in, tc.out, got, tc.want)
		}
	}
	for _, tc := range []struct {
		ms   int64
		want string
	}{{1733390000123, "1733390000.123"}, {1733390000100, "1733390000.1"}, {1733390000000, "1733390000"}, {1733390000007, "1733390000.007"}} {
		if got := string(appendTimestamp(nil, time.UnixMilli(tc.ms))); got != tc.want {
			t.Errorf("appendTimestamp(%d) = %s, want %s", tc.ms, got, tc.want)
		}
	}
}
