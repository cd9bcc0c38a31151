package metrics

import (
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// readiness tracks the components that must be ready before the agent is,
// and exports them as the vigil_ready{component} gauge.
type readiness struct {
	mu       sync.RWMutex
	required map[string]bool
	state    map[string]bool
	desc     *prometheus.Desc
}

func newReadiness(required []string) *readiness {
	r := &readiness{
		required: map[string]bool{},
		state:    map[string]bool{},
		desc: prometheus.NewDesc("vigil_ready",
			"1 when the component is ready (probes attached, rules loaded ...), 0 otherwise.",
			[]string{"component"}, nil),
	}
	for _, c := range required {
		r.required[c] = true
		r.state[c] = false
	}
	return r
}

func (r *readiness) set(component string, ok bool) {
	r.mu.Lock()
	r.state[component] = ok
	r.mu.Unlock()
}

// check returns whether all required components are ready and the sorted
// names of the required ones that are not.
func (r *readiness) check() (bool, []string) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var missing []string
	for c := range r.required {
		if !r.state[c] {
			missing = append(missing, c)
		}
	}
	sort.Strings(missing)
	return len(missing) == 0, missing
}

// snapshot returns every known component and its state.
func (r *readiness) snapshot() map[string]bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string]bool, len(r.state))
	for c, ok := range r.state {
		out[c] = ok
	}
	return out
}

// Describe implements prometheus.Collector.
func (r *readiness) Describe(ch chan<- *prometheus.Desc) { ch <- r.desc }

// Collect implements prometheus.Collector.
func (r *readiness) Collect(ch chan<- prometheus.Metric) {
	for c, ok := range r.snapshot() {
		v := 0.0
		if ok {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(r.desc, prometheus.GaugeValue, v, c)
	}
}
