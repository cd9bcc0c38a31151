package cluster

import (
	"maps"
	"testing"
)

func TestDropDeltas(t *testing.T) {
	before := metrics{
		`vigil_kernel_drops_total`:                3,
		`vigil_queue_drops_total{queue="events"}`: 10,
		`vigil_tenant_alerts_total{tenant="a"}`:   5,
	}
	tests := []struct {
		name  string
		after metrics
		want  map[string]float64
	}{
		{"nothing grew", maps.Clone(before), map[string]float64{}},
		{"other counters grew", metrics{`vigil_kernel_drops_total`: 3, `vigil_queue_drops_total{queue="events"}`: 10, `vigil_tenant_alerts_total{tenant="a"}`: 9}, map[string]float64{}},
		{"drops grew, a new series appeared", metrics{
			`vigil_kernel_drops_total`: 7, `vigil_queue_drops_total{queue="events"}`: 10, `vigil_queue_drops_total{queue="alerts"}`: 2,
		}, map[string]float64{`vigil_kernel_drops_total`: 4, `vigil_queue_drops_total{queue="alerts"}`: 2}},
		{"a prefix is not the metric", metrics{`vigil_kernel_drops_total_x`: 9, `vigil_kernel_drops_total`: 3, `vigil_queue_drops_total{queue="events"}`: 10}, map[string]float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dropDeltas(before, tt.after); !maps.Equal(got, tt.want) {
				t.Errorf("dropDeltas = %v, want %v", got, tt.want)
			}
		})
	}
}
