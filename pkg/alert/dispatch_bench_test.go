package alert

import (
	"context"
	"testing"
	"time"
)

// discard is the cheapest destination: it measures the Dispatcher alone.
type discard struct{}

func (discard) Send(context.Context, *Alert) error { return nil }
func (discard) Close(context.Context) error        { return nil }

// parked holds each destination's only worker inside Send until Close, so
// the benchmark goroutine alone touches the queues.
type parked struct{ release chan struct{} }

func (p parked) Send(ctx context.Context, _ *Alert) error {
	select {
	case <-p.release:
	case <-ctx.Done():
	}
	return nil
}
func (parked) Close(context.Context) error { return nil }

var benchRoutes = []Route{
	{},
	{MinPriority: "warning", Tags: []string{"container", "shell"}},
	{Tenants: []string{"tenant-a", "tenant-b"}, ExcludeRules: []string{"noisy"}},
}

func benchAlert() *Alert {
	return &Alert{Rule: "Terminal shell in container", Tenant: "tenant-a", Priority: PriorityNotice,
		Tags: []string{"container", "shell", "mitre_execution"}, Time: time.Unix(1_700_000_000, 0)}
}

func benchConfig(limit bool) Config {
	if !limit {
		return Config{}
	}
	cfg := DefaultConfig()
	// admit everything: measure the buckets' cost, not suppression
	cfg.RateLimit.Rate, cfg.RateLimit.Burst = 1e12, 1<<30
	cfg.RateLimit.TenantRate, cfg.RateLimit.TenantBurst = 1e12, 1<<30
	return cfg
}

// BenchmarkEnqueue measures what the event path pays per alert: the rate
// limit (tenant and rule buckets), routing through 1 or 3 destinations'
// filters, and the queue hand-off. The workers are parked so that only the
// event path runs; the queues are emptied outside the timer. Target:
// ≤ 200 ns and no allocation.
func BenchmarkEnqueue(b *testing.B) {
	for _, bc := range []struct {
		name  string
		limit bool
		dests int
	}{
		{"nolimit/1dest", false, 1},
		{"ratelimit/1dest", true, 1},
		{"ratelimit/3dests", true, 3},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const qsize = 1 << 16
			sink := parked{release: make(chan struct{})}
			var dests []Destination
			for i := range bc.dests {
				dests = append(dests, Destination{Name: string(rune('a' + i)), Sink: sink, Route: benchRoutes[i],
					Delivery: Delivery{QueueSize: qsize}})
			}
			d, err := New(benchConfig(bc.limit), dests, Options{})
			if err != nil {
				b.Fatal(err)
			}
			a := benchAlert()
			d.Enqueue(a) // each worker takes one and parks in Send
			for _, ds := range d.dests {
				for ds.q.len() > 0 {
					time.Sleep(time.Millisecond)
				}
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				d.Enqueue(a)
				if n++; n == qsize/2 { // the only tenant's share
					b.StopTimer()
					for _, ds := range d.dests {
						for _, ok := ds.q.pop(); ok; _, ok = ds.q.pop() {
						}
					}
					n = 0
					b.StartTimer()
				}
			}
			b.StopTimer()
			for name, o := range d.Stats().Outputs {
				if o.Dropped[DropQueueFull]+o.Dropped[DropTenantShare] != 0 {
					b.Fatalf("%s dropped %v", name, o.Dropped)
				}
			}
			close(sink.release)
			d.Close(context.Background())
		})
	}
}

// BenchmarkEnqueueLive runs the event path against live workers of three
// discarding destinations, as in the agent: Enqueue then competes with the
// workers for the queues and the CPUs.
func BenchmarkEnqueueLive(b *testing.B) {
	var dests []Destination
	for i := range 3 {
		dests = append(dests, Destination{Name: string(rune('a' + i)), Sink: discard{}, Route: benchRoutes[i],
			Delivery: Delivery{QueueSize: 1 << 16}})
	}
	d, err := New(benchConfig(true), dests, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close(context.Background())
	a := benchAlert()
	b.ReportAllocs()
	for b.Loop() {
		d.Enqueue(a)
	}
	b.StopTimer()
	var dropped uint64
	for _, o := range d.Stats().Outputs {
		dropped += o.Dropped[DropQueueFull] + o.Dropped[DropTenantShare]
	}
	b.ReportMetric(float64(dropped)/float64(b.N), "drops/op")
}
