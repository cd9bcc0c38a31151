// Package metrics owns the agent's Prometheus registry and its HTTP server:
// /metrics, /healthz (the process is alive) and /readyz (probes attached
// and rules loaded).
//
// Stages do not import Prometheus. They keep their own counters and hand the
// agent a snapshot function; the agent registers it with Source, and the
// snapshot is read only when Prometheus scrapes. The one metric observed on
// the event path, the engine latency histogram, is a plain
// prometheus.Histogram whose Observe costs a few atomic adds.
package metrics

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics is the agent's registry with its families, readiness state and
// directly updated metrics. Create it with New; it is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	mu       sync.Mutex
	families map[string]*sourceCollector

	engineLatency prometheus.Histogram
	reloads       *prometheus.CounterVec
	sourceErrors  atomic.Uint64

	ready *readiness
}

// EngineLatencyBuckets are the buckets of vigil_engine_latency_seconds: from
// 100 ns to about 0.4 ms, factor 2.5, which brackets a rule evaluation of a
// few hundred nanoseconds and shows the slow tail.
var EngineLatencyBuckets = prometheus.ExponentialBuckets(100e-9, 2.5, 10)

// Options configure New.
type Options struct {
	// Version is reported in vigil_build_info.
	Version string
	// Required are the components that must report ready (SetReady) before
	// /readyz answers 200. Empty means DefaultRequired.
	Required []string
	// GoMetrics adds the Go runtime and process collectors.
	GoMetrics bool
}

// Readiness components the agent reports by default.
const (
	// ComponentProbes is ready once the kernel probes are attached and the
	// ring buffer is being read.
	ComponentProbes = "probes"
	// ComponentRules is ready once a ruleset is loaded.
	ComponentRules = "rules"
)

// DefaultRequired are the components /readyz waits for unless told otherwise.
var DefaultRequired = []string{ComponentProbes, ComponentRules}

// New returns a Metrics with its own registry (never the global one),
// holding vigil_build_info, the engine latency histogram, the reload counter,
// the readiness gauge and, if asked, the Go runtime collectors.
func New(opts Options) *Metrics {
	required := opts.Required
	if len(required) == 0 {
		required = DefaultRequired
	}
	m := &Metrics{
		reg:      prometheus.NewRegistry(),
		families: map[string]*sourceCollector{},
		ready:    newReadiness(required),
	}
	version := opts.Version
	if version == "" {
		version = "dev"
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "vigil_build_info",
		Help:        "Always 1; the labels give the agent's version and Go version.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	build.Set(1)
	m.engineLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "vigil_engine_latency_seconds",
		Help:    "Time the rule engine spends on one event, all candidate rules included.",
		Buckets: EngineLatencyBuckets,
	})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigil_rules_reloads_total",
		Help: "Ruleset (re)loads, by result (ok, error).",
	}, []string{"result"})
	m.reloads.WithLabelValues("ok")
	m.reloads.WithLabelValues("error")
	sourceErrors := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "vigil_metrics_source_errors_total",
		Help: "Samples a stage reported wrongly (label count) and stage snapshot functions that panicked.",
	}, func() float64 { return float64(m.sourceErrors.Load()) })
	m.reg.MustRegister(build, m.engineLatency, m.reloads, sourceErrors, m.ready)
	if opts.GoMetrics {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Registry returns the agent's registry, for tests and for collectors a
// stage wants to register itself.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Source registers fn as a source of family f: at every scrape fn is called
// and reports the family's current values through emit. fn must be cheap
// and must not block (read atomics or copy a snapshot under a short lock).
// Several sources may feed one family as long as their label values differ.
// Registering a family under a name already used with other labels or kind
// is an error.
func (m *Metrics) Source(f Family, fn func(emit Emit)) error {
	if err := checkFamily(f); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.families[f.Name]
	if ok {
		if c.fam.Kind != f.Kind || !sameLabels(c.fam.Labels, f.Labels) {
			return fmt.Errorf("metrics: family %s registered with labels %v, now %v", f.Name, c.fam.Labels, f.Labels)
		}
		c.add(fn)
		return nil
	}
	c = newSourceCollector(f, &m.sourceErrors)
	if err := m.reg.Register(c); err != nil {
		return fmt.Errorf("metrics: family %s: %w", f.Name, err)
	}
	m.families[f.Name] = c
	c.add(fn)
	return nil
}

// MustSource is Source for the agent's wiring code, where a bad family is a
// programming error.
func (m *Metrics) MustSource(f Family, fn func(emit Emit)) {
	if err := m.Source(f, fn); err != nil {
		panic(err)
	}
}

// EngineLatency returns the histogram the engine observes, in seconds, once
// per event: `h.Observe(time.Since(start).Seconds())`.
func (m *Metrics) EngineLatency() prometheus.Observer { return m.engineLatency }

// RulesReloaded counts one ruleset load or reload attempt.
func (m *Metrics) RulesReloaded(ok bool) {
	if ok {
		m.reloads.WithLabelValues("ok").Inc()
		return
	}
	m.reloads.WithLabelValues("error").Inc()
}

// SetReady marks a component ready or not. /readyz answers 200 only while
// every required component is ready. Components that are not required are
// reported but do not gate readiness.
func (m *Metrics) SetReady(component string, ok bool) { m.ready.set(component, ok) }

// Ready reports whether every required component is ready, and the names of
// those that are not.
func (m *Metrics) Ready() (bool, []string) { return m.ready.check() }
