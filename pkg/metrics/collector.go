package metrics

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Emit reports one sample of a family: its value and its label values, in
// the order of the family's Labels.
type Emit func(value float64, labelValues ...string)

// sourceCollector is the prometheus.Collector of one family: at scrape time
// it calls every source registered for the family and turns what they emit
// into constant metrics. Stages thus keep their own cheap counters (atomics,
// per-CPU arrays) and pay nothing on the event path for being observed.
type sourceCollector struct {
	fam     Family
	desc    *prometheus.Desc
	vt      prometheus.ValueType
	mu      sync.Mutex
	sources []func(Emit)
	errors  *atomic.Uint64 // shared with Metrics: bad samples and panicking sources
}

func newSourceCollector(f Family, errs *atomic.Uint64) *sourceCollector {
	vt := prometheus.CounterValue
	if f.Kind == Gauge {
		vt = prometheus.GaugeValue
	}
	return &sourceCollector{
		fam:    f,
		desc:   prometheus.NewDesc(f.Name, f.Help, f.Labels, nil),
		vt:     vt,
		errors: errs,
	}
}

func (c *sourceCollector) add(fn func(Emit)) {
	c.mu.Lock()
	c.sources = append(c.sources, fn)
	c.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	sources := slices.Clone(c.sources)
	c.mu.Unlock()
	emit := func(v float64, lvs ...string) {
		m, err := prometheus.NewConstMetric(c.desc, c.vt, v, lvs...)
		if err != nil {
			c.errors.Add(1)
			return
		}
		ch <- m
	}
	for _, src := range sources {
		c.call(src, emit)
	}
}

// call runs one source, so that a panicking stage costs a scrape error
// count, not the agent.
func (c *sourceCollector) call(src func(Emit), emit Emit) {
	defer func() {
		if r := recover(); r != nil {
			c.errors.Add(1)
		}
	}()
	src(emit)
}

func sameLabels(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func checkFamily(f Family) error {
	if f.Name == "" || f.Help == "" {
		return fmt.Errorf("metrics: family %q needs a name and help text", f.Name)
	}
	if f.Kind != Counter && f.Kind != Gauge {
		return fmt.Errorf("metrics: family %s: unknown kind %d", f.Name, f.Kind)
	}
	return nil
}
