package alert

import (
	"context"
	"testing"
	"time"
)

// discard is the cheapest destination: it measures the Dispatcher alone.
type discard struct{}

func (discard) Send(context.Context, *Alert) error { return nil }
func (discard) Close() error                       { return nil }

// BenchmarkEnqueue measures what the event path pays per alert: rate limit
// (tenant and rule buckets), routing to three destinations with filters,
// and the queue hand-off. Target: ≤ 200 ns and no allocation.
func BenchmarkEnqueue(b *testing.B) {
	for _, bc := range []struct {
		name  string
		cfg   Config
		dests int
	}{
		{"nolimit/1dest", Config{}, 1},
		{"ratelimit/1dest", DefaultConfig(), 1},
		{"ratelimit/3dests", DefaultConfig(), 3},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := bc.cfg
			cfg.RateLimit.Rate, cfg.RateLimit.Burst = 1e12, 1<<30 // measure admission, not suppression
			cfg.RateLimit.TenantRate, cfg.RateLimit.TenantBurst = 1e12, 1<<30
			routes := []Route{
				{},
				{MinPriority: "warning", Tags: []string{"container", "shell"}},
				{Tenants: []string{"tenant-a", "tenant-b"}, ExcludeRules: []string{"noisy"}},
			}
			var dests []Destination
			for i := range bc.dests {
				dests = append(dests, Destination{Name: routes[i].MinPriority + string(rune('a'+i)), Sink: discard{}, Route: routes[i],
					Delivery: Delivery{QueueSize: 1 << 16}})
			}
			d, err := New(cfg, dests, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close(context.Background())
			a := &Alert{Rule: "Terminal shell in container", Tenant: "tenant-a", Priority: PriorityNotice,
				Tags: []string{"container", "shell", "mitre_execution"}, Time: time.Unix(1_700_000_000, 0)}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				d.Enqueue(a)
			}
			b.StopTimer()
			s := d.Stats()
			for name, o := range s.Outputs {
				b.ReportMetric(float64(o.Dropped[DropQueueFull]), "drops("+name+")")
			}
		})
	}
}
