package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// startServer starts the real server on a free loopback port and stops it
// when the test ends.
func startServer(t *testing.T, m *Metrics) string {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ListenAddress = "127.0.0.1:0"
	s, err := Start(cfg, m.Handler(HandlerOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return "http://" + s.Addr()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse exposition: %v\n%s", err, body)
	}
	return fams
}

// value returns the value of the sample of family name whose labels are
// exactly labels (name=value pairs), and whether it exists.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel())*2 != len(labels) {
			continue
		}
		for i, l := range m.GetLabel() {
			if l.GetName() != labels[2*i] || l.GetValue() != labels[2*i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// stage is a stand-in for a pipeline stage: it keeps its own counters the
// way the real stages do and exposes them through a snapshot.
type stage struct {
	execs, opens, kernelDrops atomic.Uint64
	procs                     atomic.Int64
}

func TestScrapeSources(t *testing.T) {
	m := New(Options{Version: "1.2.3", GoMetrics: true})
	var st stage
	m.MustSource(EventsByType, func(emit Emit) {
		emit(float64(st.execs.Load()), "execve")
		emit(float64(st.opens.Load()), "openat")
	})
	m.MustSource(KernelDrops, func(emit Emit) { emit(float64(st.kernelDrops.Load()), "ringbuf_full") })
	m.MustSource(ProcessTableSize, func(emit Emit) { emit(float64(st.procs.Load()), "processes") })
	// Two sources feed one family with different label values.
	m.MustSource(QueueDrops, func(emit Emit) { emit(3, "events") })
	m.MustSource(QueueDrops, func(emit Emit) { emit(5, "alerts") })
	base := startServer(t, m)

	st.execs.Add(2)
	st.opens.Add(40)
	st.kernelDrops.Add(7)
	st.procs.Store(123)
	m.EngineLatency().Observe(250e-9)
	m.EngineLatency().Observe(1e-6)
	m.RulesReloaded(true)

	fams := scrape(t, base)
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"vigil_events_total", []string{"type", "execve"}, 2},
		{"vigil_events_total", []string{"type", "openat"}, 40},
		{"vigil_kernel_drops_total", []string{"reason", "ringbuf_full"}, 7},
		{"vigil_state_table_entries", []string{"table", "processes"}, 123},
		{"vigil_queue_drops_total", []string{"queue", "events"}, 3},
		{"vigil_queue_drops_total", []string{"queue", "alerts"}, 5},
		{"vigil_engine_latency_seconds", nil, 2},
		{"vigil_rules_reloads_total", []string{"result", "ok"}, 1},
		{"vigil_rules_reloads_total", []string{"result", "error"}, 0},
		{"vigil_build_info", []string{"goversion", runtimeVersion(), "version", "1.2.3"}, 1},
		{"vigil_ready", []string{"component", "probes"}, 0},
		{"vigil_metrics_source_errors_total", nil, 0},
	}
	for _, tt := range tests {
		got, ok := value(fams, tt.name, tt.labels...)
		if !ok || got != tt.want {
			t.Errorf("%s%v = %v (present %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	if fams["vigil_kernel_drops_total"].GetType() != dto.MetricType_COUNTER ||
		fams["vigil_state_table_entries"].GetType() != dto.MetricType_GAUGE {
		t.Error("family kinds not exposed as counter/gauge")
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("Go runtime metrics missing with GoMetrics on")
	}
	// Values are read at scrape time: the next scrape sees new counts.
	st.execs.Add(1)
	if got, _ := value(scrape(t, base), "vigil_events_total", "type", "execve"); got != 3 {
		t.Errorf("second scrape: execve = %v, want 3", got)
	}
}

func TestBadSourcesDoNotBreakScrape(t *testing.T) {
	m := New(Options{})
	m.MustSource(RuleMatches, func(emit Emit) {
		emit(1, "Shell in container")
		emit(1) // wrong label count
	})
	m.MustSource(EnrichCacheHits, func(emit Emit) { panic("stage bug") })
	m.MustSource(TenantEvents, func(emit Emit) { emit(10, "acme") })
	m.MustSource(TenantEvents, func(emit Emit) { emit(11, "acme") }) // duplicate label values
	base := startServer(t, m)
	fams := scrape(t, base)
	if got, _ := value(fams, "vigil_rule_matches_total", "rule", "Shell in container"); got != 1 {
		t.Errorf("good sample lost: %v", got)
	}
	// Collectors run concurrently, so the error counter may be read before
	// the bad sources bump it: the count is exact once the scrape is
	// answered and exposed in full by the next scrape.
	if got := m.sourceErrors.Load(); got != 2 {
		t.Errorf("source errors after one scrape = %d, want 2 (bad labels, panic)", got)
	}
	next := scrape(t, base)
	if got, _ := value(next, "vigil_metrics_source_errors_total"); got < 2 || got > 4 {
		t.Errorf("exposed source errors = %v, want 2 to 4", got)
	}
	// The duplicate tenant sample is a gathering error, counted while the
	// first scrape is answered and so visible in the next one.
	if got, _ := value(next, "promhttp_metric_handler_errors_total", "cause", "gathering"); got != 1 {
		t.Errorf("gathering errors = %v, want 1 (duplicate tenant sample)", got)
	}
	if _, ok := value(fams, "vigil_tenant_events_total", "tenant", "acme"); !ok {
		t.Error("tenant sample lost entirely")
	}
}

func TestSourceFamilyConflicts(t *testing.T) {
	m := New(Options{})
	tests := []struct {
		name string
		fam  Family
		ok   bool
	}{
		{"catalogue family", RuleMatches, true},
		{"same family again", RuleMatches, true},
		{"same name, other labels", Family{RuleMatches.Name, "x", Counter, []string{"rule", "priority"}}, false},
		{"same name, other kind", Family{RuleMatches.Name, "x", Gauge, RuleMatches.Labels}, false},
		{"no help", Family{"vigil_x_total", "", Counter, nil}, false},
		{"bad kind", Family{"vigil_y_total", "y", Kind(9), nil}, false},
		{"clashes with a built-in metric", Family{"vigil_build_info", "b", Gauge, nil}, false},
	}
	for _, tt := range tests {
		err := m.Source(tt.fam, func(Emit) {})
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestReadiness(t *testing.T) {
	m := New(Options{})
	base := startServer(t, m)
	readyz := func() (int, readyBody) {
		code, body := get(t, base+"/readyz")
		var rb readyBody
		if err := json.Unmarshal([]byte(body), &rb); err != nil {
			t.Fatalf("/readyz body %q: %v", body, err)
		}
		return code, rb
	}
	steps := []struct {
		component string
		ok        bool
		wantCode  int
		notReady  string
	}{
		{"", false, 503, "probes,rules"},
		{ComponentProbes, true, 503, "rules"},
		{"outputs", false, 503, "rules"}, // not required: reported, not gating
		{ComponentRules, true, 200, ""},
		{ComponentProbes, false, 503, "probes"}, // probes lost: not ready again
		{ComponentProbes, true, 200, ""},
	}
	for i, s := range steps {
		if s.component != "" {
			m.SetReady(s.component, s.ok)
		}
		code, rb := readyz()
		if code != s.wantCode || strings.Join(rb.NotReady, ",") != s.notReady || rb.Ready != (s.wantCode == 200) {
			t.Errorf("step %d (%s=%v): /readyz %d %+v, want %d not_ready=%q", i, s.component, s.ok, code, rb, s.wantCode, s.notReady)
		}
		if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
			t.Errorf("step %d: /healthz %d %q", i, code, body)
		}
	}
	if _, rb := readyz(); !rb.Components["probes"] || rb.Components["outputs"] {
		t.Errorf("components = %v", rb.Components)
	}
	if got, _ := value(scrape(t, base), "vigil_ready", "component", "outputs"); got != 0 {
		t.Errorf("vigil_ready{outputs} = %v", got)
	}
	if code, _ := get(t, base+"/nothing"); code != http.StatusNotFound {
		t.Errorf("unknown path: %d", code)
	}
}

func TestCustomRequiredComponents(t *testing.T) {
	m := New(Options{Required: []string{"capture"}})
	if ok, missing := m.Ready(); ok || strings.Join(missing, ",") != "capture" {
		t.Fatalf("Ready() = %v %v", ok, missing)
	}
	m.SetReady("capture", true)
	if ok, _ := m.Ready(); !ok {
		t.Fatal("not ready after its only component")
	}
}

// TestGracefulShutdown holds a scrape in flight and checks that Shutdown
// waits for it, that it completes, and that the port is closed afterwards.
func TestGracefulShutdown(t *testing.T) {
	m := New(Options{})
	entered, release := make(chan struct{}), make(chan struct{})
	m.MustSource(RulesLoaded, func(emit Emit) {
		close(entered)
		<-release
		emit(25)
	})
	cfg := DefaultConfig()
	cfg.ListenAddress = "127.0.0.1:0"
	s, err := Start(cfg, m.Handler(HandlerOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.Addr()
	type result struct {
		code int
		body string
	}
	scraped := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			scraped <- result{0, err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		scraped <- result{resp.StatusCode, string(b)}
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- s.Shutdown(context.Background()) }()
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned with a scrape in flight: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	r := <-scraped
	if r.code != 200 || !strings.Contains(r.body, "vigil_rules_loaded 25") {
		t.Fatalf("in-flight scrape: %d %q", r.code, r.body)
	}
	select {
	case <-s.Done():
	default:
		t.Error("Done not closed after Shutdown")
	}
	_, err = http.Get(base + "/healthz")
	if err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("after shutdown: err = %v, want connection refused", err)
	}
}

func TestStartErrors(t *testing.T) {
	m := New(Options{})
	cfg := DefaultConfig()
	cfg.ListenAddress = "127.0.0.1:0"
	s, err := Start(cfg, m.Handler(HandlerOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	cfg.ListenAddress = s.Addr()
	if _, err := Start(cfg, m.Handler(HandlerOptions{})); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("second server on %s: err = %v", s.Addr(), err)
	}
	cfg.ListenAddress = "nonsense"
	if _, err := Start(cfg, nil); err == nil || !strings.Contains(err.Error(), "metrics.listen_address") {
		t.Errorf("bad address: err = %v", err)
	}
	if s, err := Start(Config{Enabled: false}, nil); s != nil || err != nil {
		t.Errorf("disabled: %v %v", s, err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"loopback", func(c *Config) { c.ListenAddress = "127.0.0.1:9100" }, ""},
		{"ipv6", func(c *Config) { c.ListenAddress = "[::1]:9100" }, ""},
		{"hostname", func(c *Config) { c.ListenAddress = "localhost:9100" }, ""},
		{"ephemeral port", func(c *Config) { c.ListenAddress = ":0" }, ""},
		{"disabled ignores the rest", func(c *Config) { c.Enabled = false; c.ListenAddress = "x" }, ""},
		{"no port", func(c *Config) { c.ListenAddress = "127.0.0.1" }, "metrics.listen_address"},
		{"port too big", func(c *Config) { c.ListenAddress = ":70000" }, "bad port"},
		{"port not a number", func(c *Config) { c.ListenAddress = ":http" }, "bad port"},
		{"bad host", func(c *Config) { c.ListenAddress = "a b:1" }, "bad host"},
		{"zero timeout", func(c *Config) { c.ShutdownTimeout = 0 }, "metrics.shutdown_timeout"},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.mod(&c)
		err := c.Validate()
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
	if DefaultConfig().ListenAddress != ":8765" {
		t.Error("default listen address changed: update the chart and deploy/config.example.yaml")
	}
}

// TestExpositionGolden pins the names, help texts, types and labels of the
// catalogue families: dashboards and alerts depend on them.
func TestExpositionGolden(t *testing.T) {
	m := New(Options{Version: "golden"})
	for _, f := range Families() {
		lvs := make([]string, len(f.Labels))
		for i, l := range f.Labels {
			lvs[i] = "<" + l + ">"
		}
		m.MustSource(f, func(emit Emit) { emit(1, lvs...) })
	}
	m.SetReady(ComponentProbes, true)
	m.SetReady(ComponentRules, true)
	base := startServer(t, m)
	_, body := get(t, base+"/metrics")
	var keep []string
	for _, line := range strings.Split(body, "\n") {
		if strings.Contains(line, "vigil_build_info{") { // carries the Go version
			continue
		}
		keep = append(keep, line)
	}
	got := strings.Join(keep, "\n")
	golden := filepath.Join("testdata", "exposition.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("exposition differs from %s (run go test -update if intended):\n%s", golden, got)
	}
}
