package nats

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		wait, maxWait time.Duration
		attempts      []int
		want          []time.Duration
	}{
		{250 * ms, 10 * time.Second, []int{1, 2, 3, 4, 5, 6, 7, 100}, []time.Duration{250 * ms, 500 * ms, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}},
		{20 * ms, 100 * ms, []int{1, 2, 3, 4}, []time.Duration{20 * ms, 40 * ms, 80 * ms, 100 * ms}},
		{time.Hour, time.Hour, []int{1, 2, 1 << 30}, []time.Duration{time.Hour, time.Hour, time.Hour}},
		{time.Second, 100 * ms, []int{1}, []time.Duration{100 * ms}},
		{ms, 500 * time.Hour, []int{0, 17, 1 << 20}, []time.Duration{ms, 65536 * ms, 500 * time.Hour}},
		{1 << 61, 1<<63 - 1, []int{2, 3, 4}, []time.Duration{1 << 62, 1<<63 - 1, 1<<63 - 1}}, // no overflow
	}
	for _, tt := range tests {
		for i, n := range tt.attempts {
			if got := backoff(tt.wait, tt.maxWait, n); got != tt.want[i] {
				t.Errorf("backoff(%v, %v, %d) = %v, want %v", tt.wait, tt.maxWait, n, got, tt.want[i])
			}
		}
	}
}

// TestJitter: the wait falls in the upper half of the ceiling, and varies.
func TestJitter(t *testing.T) {
	for _, d := range []time.Duration{0, 1, time.Millisecond, 10 * time.Second} {
		seen := map[time.Duration]bool{}
		for range 1000 {
			j := jitter(d)
			if j < d/2 || j > d {
				t.Fatalf("jitter(%v) = %v, outside [%v, %v]", d, j, d/2, d)
			}
			seen[j] = true
		}
		if d >= time.Millisecond && len(seen) < 100 {
			t.Errorf("jitter(%v) took only %d values in 1000 draws", d, len(seen))
		}
	}
}
