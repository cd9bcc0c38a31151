package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func histogramCount(t *testing.T, h prometheus.Histogram) (uint64, float64) {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
}

func TestLatencySampler(t *testing.T) {
	tests := []struct {
		every     uint64
		events    int
		wantCount uint64
	}{
		{0, 10, 10},
		{1, 10, 10},
		{4, 10, 2},
		{5, 64, 8}, // rounded up to 8
		{64, 63, 0},
		{64, 64, 1},
	}
	for _, tt := range tests {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h", Help: "h", Buckets: EngineLatencyBuckets})
		s := NewLatencySampler(h, tt.every)
		for i := 0; i < tt.events; i++ {
			start := s.Start()
			if !start.IsZero() {
				time.Sleep(time.Microsecond)
			}
			s.Done(start)
		}
		count, sum := histogramCount(t, h)
		if count != tt.wantCount {
			t.Errorf("every %d over %d events: %d observations, want %d", tt.every, tt.events, count, tt.wantCount)
		}
		if count > 0 && sum < float64(count)*1e-6 {
			t.Errorf("every %d: sum %g s is less than the %d µs slept", tt.every, sum, count)
		}
	}
}

// BenchmarkLatencySampler64 is the per-event cost of timing one event in 64.
func BenchmarkLatencySampler64(b *testing.B) {
	s := NewLatencySampler(New(Options{}).EngineLatency(), 64)
	b.ReportAllocs()
	for b.Loop() {
		s.Done(s.Start())
	}
}
