package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/enrich/cgroup"
	"github.com/vigilsec/vigil/pkg/testutil"
	"github.com/vigilsec/vigil/test/containerd"
)

// TestMetricsDescribeTheEventPath checks that /metrics reports every stage
// after real activity.
func TestMetricsDescribeTheEventPath(t *testing.T) {
	a := startAgent(t)
	_, actions := buildBinaries(t)
	link := filepath.Join(t.TempDir(), "shadow-link")
	run(t, context.Background(), actions, "symlink", "/etc/shadow", link)
	a.http.wait(t, "symlink alert", alertWait, func(fa falcoAlert) bool { return strings.Contains(fa.Output, link) })
	// Enough evaluated events for the sampled latency histogram (one event
	// in 64 is timed): failing closes of fd -1 are shipped (the kernel
	// keeps no bit for such a number), and the opens of a loop are not.
	run(t, context.Background(), actions, "loop-close", "2000")
	run(t, context.Background(), actions, "loop-open", t.TempDir(), "2000")
	time.Sleep(500 * time.Millisecond)
	checks := []struct {
		name   string
		labels []string
		min    float64
	}{
		{"vigil_events_total", []string{`type="execve"`}, 1},
		{"vigil_events_total", []string{`type="symlinkat"`}, 1},
		{"vigil_rule_matches_total", []string{`rule="Symlink to sensitive file"`}, 1},
		{"vigil_rule_evaluations_total", []string{`rule="Symlink to sensitive file"`}, 1},
		{"vigil_output_alerts_total", []string{`output="webhook"`, `result="sent"`}, 1},
		{"vigil_output_alerts_total", []string{`output="nats"`, `result="sent"`}, 1},
		{"vigil_tenant_events_total", []string{`tenant=""`}, 1},
		{"vigil_tenant_alerts_total", nil, 1},
		{"vigil_state_table_entries", []string{`table="processes"`}, 1},
		{"vigil_rules_loaded", nil, 1},
		{"vigil_engine_latency_seconds_count", nil, 1},
		// The default rules bound opens by path: the loop's opens stay in
		// the kernel.
		{"vigil_kernel_prefiltered_total", nil, 1000},
	}
	for _, c := range checks {
		if got := a.metric(t, c.name, c.labels...); got < c.min {
			t.Errorf("%s%v = %v, want >= %v", c.name, c.labels, got, c.min)
		}
	}
	for _, present := range []string{"vigil_kernel_drops_total", "vigil_queue_drops_total", "vigil_decode_errors_total", "vigil_enrich_cache_hits_total"} {
		resp, err := http.Get("http://" + a.metrics + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), present) {
			t.Errorf("/metrics lacks %s", present)
		}
	}
}

// TestDropsRaiseTheAgentsOwnAlert starves the agent (the smallest ring
// buffer and a one-record queue) under a burst of failing closes, which the
// kernel ships: the lost events must be counted and reported by the
// agent's own alert.
func TestDropsRaiseTheAgentsOwnAlert(t *testing.T) {
	a := startAgentWithConfig(t, agentConfig+`
probe:
  ring_buffer_size: 4096
  queue_size: 1
`)
	_, actions := buildBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	deadline := time.Now().Add(30 * time.Second)
	for a.metric(t, "vigil_kernel_drops_total")+a.metric(t, "vigil_queue_drops_total") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no drop counted under a burst with a 4 KiB ring buffer")
		}
		run(t, ctx, actions, "loop-close", "20000")
	}
	got := a.http.wait(t, "the drop alert", 15*time.Second, func(fa falcoAlert) bool { return fa.Rule == "Vigil event drops" })
	if got.Priority != "Critical" || !strings.Contains(got.Output, "lost") {
		t.Errorf("drop alert %+v", got)
	}
}

// waitMetric polls a metric until ok accepts its value, or fails.
func waitMetric(t *testing.T, a *agent, timeout time.Duration, ok func(float64) bool, name string, labels ...string) float64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v := a.metric(t, name, labels...)
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v, not the value expected within %v", name, labels, v, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func atLeast(n float64) func(float64) bool { return func(v float64) bool { return v >= n } }

// TestOutputFailuresAndDropsAreCounted checks the output counters' values:
// a webhook at a closed port fails every attempt and gives each alert up;
// a webhook too slow for a one-alert queue drops what does not fit.
func TestOutputFailuresAndDropsAreCounted(t *testing.T) {
	const n = 4
	for _, tc := range []struct {
		name   string
		opts   func(t *testing.T) agentOptions
		verify func(t *testing.T, a *agent)
	}{
		{"webhook at a closed port", func(t *testing.T) agentOptions {
			return agentOptions{webhook: "http://" + freeAddr(t) + "/alerts",
				config: agentConfig + "outputs:\n  webhook:\n    max_attempts: 2\n    backoff: 10ms\n"}
		}, func(t *testing.T, a *agent) {
			web := []string{`output="webhook"`}
			waitMetric(t, a, 15*time.Second, atLeast(n), "vigil_output_drops_total", append(web, `reason="retries_exhausted"`)...)
			time.Sleep(300 * time.Millisecond)
			for _, c := range []struct {
				name   string
				labels []string
				want   float64
			}{
				{"vigil_output_alerts_total", append(web, `result="failed"`), 2 * n}, // two attempts each
				{"vigil_output_alerts_total", append(web, `result="sent"`), 0},
				{"vigil_output_drops_total", append(web, `reason="retries_exhausted"`), n},
				{"vigil_output_drops_total", append(web, `reason="queue_full"`), 0},
				{"vigil_output_alerts_total", []string{`output="nats"`, `result="sent"`}, n},
				{"vigil_output_alerts_total", []string{`output="nats"`, `result="failed"`}, 0},
			} {
				if got := a.metric(t, c.name, c.labels...); got != c.want {
					t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
				}
			}
		}},
		{"slow webhook with a one-alert queue", func(t *testing.T) agentOptions {
			return agentOptions{webhookDelay: 3 * time.Second, config: agentConfig + "outputs:\n  webhook:\n    queue_size: 1\n    workers: 1\n"}
		}, func(t *testing.T, a *agent) {
			// One alert in flight, one queued, the rest dropped: the burst
			// is over long before the receiver answers the first.
			web := []string{`output="webhook"`}
			dropped := a.metric(t, "vigil_output_drops_total", append(web, `reason="queue_full"`)...)
			if dropped != n-2 {
				t.Errorf("queue_full drops = %v, want %d", dropped, n-2)
			}
			sent := waitMetric(t, a, 20*time.Second, atLeast(n-dropped), "vigil_output_alerts_total", append(web, `result="sent"`)...)
			if sent+dropped != n {
				t.Errorf("sent %v + dropped %v != %d alerts", sent, dropped, n)
			}
			if got := a.metric(t, "vigil_output_drops_total", `output="nats"`); got != 0 {
				t.Errorf("the NATS output dropped %v alerts", got)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rulesFile := writeRules(t, symlinkRule("E2E symlink to shadow", "/etc/shadow", dir))
			o := tc.opts(t)
			o.args = []string{"-r", rulesFile}
			a := launch(t, o)
			_, actions := buildBinaries(t)
			var links []string
			for i := 0; i < n; i++ { // a burst
				l := filepath.Join(dir, fmt.Sprintf("l%d", i))
				run(t, context.Background(), actions, "symlink", "/etc/shadow", l)
				links = append(links, l)
			}
			for _, l := range links {
				a.nats.wait(t, "alert over NATS", alertWait, func(fa falcoAlert) bool { return strings.HasSuffix(fa.Output, " "+l) })
			}
			tc.verify(t, a)
		})
	}
}

// TestEnrichCacheMissForNewCgroup runs a process in a cgroup created for
// the test: its first event is a metadata lookup the cache cannot answer.
func TestEnrichCacheMissForNewCgroup(t *testing.T) {
	dir := t.TempDir()
	rulesFile := writeRules(t, symlinkRule("E2E symlink to shadow", "/etc/shadow", dir))
	a := startAgent(t, "-r", rulesFile)
	_, actions := buildBinaries(t)
	root, err := cgroup.Mount()
	if err != nil {
		t.Fatal(err)
	}
	cg := filepath.Join(root, testutil.UniqueName(t, "vigil-e2e-"))
	if err := os.Mkdir(cg, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(cg) })

	before := a.metric(t, "vigil_enrich_cache_misses_total")
	hitsBefore := a.metric(t, "vigil_enrich_cache_hits_total")
	link := filepath.Join(dir, "from-new-cgroup")
	run(t, context.Background(), "sh", "-c", `echo $$ > "$1/cgroup.procs" && exec "$2" symlink /etc/shadow "$3"`, "sh", cg, actions, link)
	got := a.http.wait(t, "alert from the new cgroup", alertWait, func(fa falcoAlert) bool { return strings.HasSuffix(fa.Output, " "+link) })
	if got.OutputFields["container.id"] != nil && got.OutputFields["container.id"] != "host" {
		t.Errorf("container.id = %v for a host cgroup", got.OutputFields["container.id"])
	}
	if after := a.metric(t, "vigil_enrich_cache_misses_total"); after < before+1 {
		t.Errorf("vigil_enrich_cache_misses_total went from %v to %v after a new cgroup's events", before, after)
	}
	if after := a.metric(t, "vigil_enrich_cache_hits_total"); after <= hitsBefore {
		t.Errorf("vigil_enrich_cache_hits_total stayed at %v", after)
	}
}

// tenantExecRule fires when a tenant's app container starts its program
// (the pod's sandbox process, also the tenant's, is not that container).
const tenantExecRule = `- rule: E2E tenant exec
  desc: test rule
  condition: evt.type in (execve, execveat) and evt.rawres = 0 and tenant.name = acme and container.name = app
  output: "E2E tenant exec tenant=%tenant.name ns=%k8s.ns.name pod=%k8s.pod.name container=%container.name id=%container.id"
  priority: WARNING
`

// TestTenantCountersForStaticTenant runs a real pod in a private containerd
// whose namespace a static mapping gives to tenant acme, without
// Kubernetes: the pod's events and its alert count for acme.
func TestTenantCountersForStaticTenant(t *testing.T) {
	d := containerd.Start(t)
	rulesFile := writeRules(t, tenantExecRule)
	a := launch(t, agentOptions{args: []string{"-r", rulesFile}, config: fmt.Sprintf(`
enrich:
  kubernetes: "off"
  cri_sockets: [%q]
  static_tenants:
    - namespace: shop
      tenant: acme
log:
  format: json
`, d.Socket)})
	if n := a.metric(t, "vigil_tenant_events_total", `tenant="acme"`); n != 0 {
		t.Fatalf("acme has %v events before its pod runs", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pod, err := d.RunPod(ctx, containerd.PodSpec{Name: "web-0", Namespace: "shop", UID: "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", QOS: "besteffort"})
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Log())
	}
	c, err := d.RunContainer(ctx, pod, containerd.ContainerSpec{Name: "app"})
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Log())
	}
	got := a.nats.wait(t, "the tenant's alert", 20*time.Second, func(fa falcoAlert) bool { return fa.Rule == "E2E tenant exec" })
	if got.subject != "vigil.alerts.acme.warning" || !strings.HasSuffix(got.Output, ": Warning E2E tenant exec tenant=acme ns=shop pod=web-0 container=app id="+c.ID[:12]) {
		t.Errorf("tenant alert on %q: %q", got.subject, got.Output)
	}
	waitMetric(t, a, 10*time.Second, atLeast(2), "vigil_tenant_events_total", `tenant="acme"`) // the pause and app processes at least
	waitMetric(t, a, 10*time.Second, atLeast(1), "vigil_tenant_alerts_total", `tenant="acme"`)
	time.Sleep(300 * time.Millisecond)
	if n := a.metric(t, "vigil_tenant_alerts_total", `tenant="acme"`); n != 1 {
		var seen []string
		for _, fa := range a.nats.snapshot() {
			seen = append(seen, fmt.Sprintf("%s %s %v", fa.subject, fa.Output, fa.OutputFields))
		}
		t.Errorf("vigil_tenant_alerts_total{tenant=\"acme\"} = %v, want 1; alerts: %v", n, seen)
	}
	if n := a.metric(t, "vigil_tenant_events_total", `tenant=""`); n < 1 {
		t.Errorf("host events not counted apart: %v", n)
	}
}
