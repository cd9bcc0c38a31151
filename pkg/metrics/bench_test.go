package metrics

import (
	"runtime"
	"testing"
	"time"
)

func runtimeVersion() string { return runtime.Version() }

// BenchmarkEngineLatencyObserve is the cost the engine pays per event to
// feed the latency histogram, without the clock reads.
func BenchmarkEngineLatencyObserve(b *testing.B) {
	h := New(Options{}).EngineLatency()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Observe(float64(i&1023) * 1e-9)
	}
}

// BenchmarkEngineLatencyObserveSince adds the two clock reads the engine
// needs around an evaluation.
func BenchmarkEngineLatencyObserveSince(b *testing.B) {
	h := New(Options{}).EngineLatency()
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		h.Observe(time.Since(start).Seconds())
	}
}

// BenchmarkEngineLatencyObserveParallel observes from every core at once,
// as several engine workers would.
func BenchmarkEngineLatencyObserveParallel(b *testing.B) {
	h := New(Options{}).EngineLatency()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		v := 0.0
		for pb.Next() {
			v += 1e-9
			h.Observe(v)
		}
	})
}

// BenchmarkGather is one scrape's work for a realistic agent: 60 event
// types, 25 rules with evaluations and matches, 6 outputs, 20 tenants.
func BenchmarkGather(b *testing.B) {
	m := New(Options{GoMetrics: true})
	names := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = prefix + string(rune('a'+i%26)) + string(rune('a'+i/26))
		}
		return out
	}
	types, rules, tenants := names("t", 60), names("r", 25), names("tenant-", 20)
	m.MustSource(EventsByType, func(emit Emit) {
		for i, t := range types {
			emit(float64(i), t)
		}
	})
	m.MustSource(RuleEvaluations, func(emit Emit) {
		for i, r := range rules {
			emit(float64(i), r)
		}
	})
	m.MustSource(RuleMatches, func(emit Emit) {
		for i, r := range rules {
			emit(float64(i), r)
		}
	})
	m.MustSource(OutputAlerts, func(emit Emit) {
		for _, o := range []string{"stdout", "file", "nats", "webhook", "slack", "falcohttp"} {
			emit(1, o, "sent")
			emit(0, o, "failed")
			emit(0, o, "dropped")
		}
	})
	m.MustSource(TenantEvents, func(emit Emit) {
		for i, t := range tenants {
			emit(float64(i), t)
		}
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Registry().Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
