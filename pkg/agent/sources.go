package agent

import (
	"sync"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/engine"
	"github.com/vigilsec/vigil/pkg/enrich"
	"github.com/vigilsec/vigil/pkg/metrics"
	"github.com/vigilsec/vigil/pkg/probe"
	"github.com/vigilsec/vigil/pkg/state"
)

// sources are the stages whose counters the metrics report.
type sources struct {
	pipe   *Pipeline
	probe  *probe.Probe
	state  *state.Table
	lock   sync.Locker // guards state, which lives on the pipeline goroutine
	enrich *enrich.Enricher
	engine *engine.Engine
	disp   *alert.Dispatcher
	rules  func() int
}

// registerSources connects every stage's Stats to its metric families; the
// stages pay nothing on the event path for it.
func registerSources(m *metrics.Metrics, s sources) {
	m.MustSource(metrics.EventsByType, func(emit metrics.Emit) {
		for t, n := range s.pipe.Stats().ByType {
			emit(float64(n), t.String())
		}
	})
	m.MustSource(metrics.DecodeErrors, func(emit metrics.Emit) {
		emit(float64(s.pipe.Stats().DecodeErrors))
	})
	m.MustSource(metrics.TenantEvents, func(emit metrics.Emit) {
		for tenant, n := range s.pipe.Stats().TenantEvents {
			emit(float64(n), tenant)
		}
	})
	m.MustSource(metrics.KernelDrops, func(emit metrics.Emit) {
		ps := s.probe.Stats()
		emit(float64(ps.KernelDrops), "ringbuf_full")
		emit(float64(ps.InflightDrops), "inflight_full")
		emit(float64(ps.ScratchDrops), "scratch_busy")
	})
	m.MustSource(metrics.KernelPrefiltered, func(emit metrics.Emit) { emit(float64(s.probe.Stats().Prefiltered)) })
	m.MustSource(metrics.QueueDrops, func(emit metrics.Emit) {
		emit(float64(s.probe.Stats().QueueDrops), "probe")
		emit(float64(s.enrich.Stats().Drops), "enrich")
	})
	m.MustSource(metrics.ProcessTableSize, func(emit metrics.Emit) {
		s.lock.Lock()
		n := s.state.Len()
		s.lock.Unlock()
		emit(float64(n), "processes")
	})
	m.MustSource(metrics.EnrichCacheHits, func(emit metrics.Emit) { emit(float64(s.enrich.Stats().Hits)) })
	m.MustSource(metrics.EnrichCacheMisses, func(emit metrics.Emit) { emit(float64(s.enrich.Stats().Misses)) })
	m.MustSource(metrics.EnrichErrors, func(emit metrics.Emit) { emit(float64(s.enrich.Stats().Errors)) })
	m.MustSource(metrics.EnrichCacheEntries, func(emit metrics.Emit) { emit(float64(s.enrich.Stats().Cached)) })
	m.MustSource(metrics.EnrichWaits, func(emit metrics.Emit) {
		es := s.enrich.Stats()
		emit(float64(es.Waits), "parked")
		emit(float64(es.Timeouts), "timeout")
	})
	m.MustSource(metrics.RuleEvaluations, func(emit metrics.Emit) {
		for _, r := range s.engine.Stats() {
			emit(float64(r.Evaluated), r.Rule)
		}
	})
	m.MustSource(metrics.RuleMatches, func(emit metrics.Emit) {
		for _, r := range s.engine.Stats() {
			emit(float64(r.Matched), r.Rule)
		}
	})
	m.MustSource(metrics.RulesLoaded, func(emit metrics.Emit) { emit(float64(s.rules())) })
	m.MustSource(metrics.OutputAlerts, func(emit metrics.Emit) {
		for name, o := range s.disp.Stats().Outputs {
			emit(float64(o.Sent), name, "sent")
			emit(float64(o.Failed), name, "failed")
		}
	})
	m.MustSource(metrics.OutputDrops, func(emit metrics.Emit) {
		for name, o := range s.disp.Stats().Outputs {
			for _, r := range alert.DropReasons() {
				emit(float64(o.Dropped[r]), name, r.String())
			}
		}
	})
	m.MustSource(metrics.OutputQueued, func(emit metrics.Emit) {
		for name, o := range s.disp.Stats().Outputs {
			emit(float64(o.Queued), name)
		}
	})
	m.MustSource(metrics.TenantAlerts, func(emit metrics.Emit) {
		for tenant, t := range s.disp.Stats().Tenants {
			emit(float64(t.Alerts), tenant)
		}
	})
	m.MustSource(metrics.TenantAlertsSuppressed, func(emit metrics.Emit) {
		for tenant, t := range s.disp.Stats().Tenants {
			emit(float64(t.Suppressed), tenant)
		}
	})
}
