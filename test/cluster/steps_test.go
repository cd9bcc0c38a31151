package cluster

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// behaviours: each tenant's suspicious behaviours raise the default rules'
// alerts, located and routed to the tenant's subjects.
func (s *scenario) behaviours(t *testing.T) {
	a, a2, b, subA, subB, workloads := s.a, s.a2, s.b, s.subA, s.subB, s.workloads
	// Each server starts a shell that reads /etc/shadow and plants a
	// file in /usr/bin, then connects to a peer: web-a and web-b to
	// each other (across tenants), api-a to web-a (same tenant, another
	// namespace: no cross-tenant alert).
	peers := map[*tenantWorkload]*tenantWorkload{a: b, b: a, a2: a}
	for _, w := range workloads {
		cmd := fmt.Sprintf("cat /etc/shadow >/dev/null; echo planted > /usr/bin/planted-%s", w.pod)
		if out, err := workloadGet(w, "/run?cmd="+url.QueryEscape(cmd)); err != nil {
			t.Fatalf("%s behaviours: %v %s", w.pod, err, out)
		}
		if out, err := workloadGet(w, "/connect?addr="+peers[w].ip+":8080"); err != nil {
			t.Fatalf("%s connect to %s: %v %s", w.pod, peers[w].pod, err, out)
		}
	}
	for _, w := range workloads {
		sub := subA
		if w.tenant == "tenant-b" {
			sub = subB
		}
		for _, rule := range []string{ruleShell, ruleSensitive, ruleBinaryWrite, ruleCrossTenant} {
			if rule == ruleCrossTenant && peers[w].tenant == w.tenant {
				continue
			}
			r, ok := sub.waitFor(t, 0, 10*time.Second, w.pod+" "+rule, func(r received) bool {
				return r.Rule == rule && r.field("k8s.pod.name") == w.pod
			})
			if !ok {
				continue
			}
			checkWorkloadAlert(t, r, w)
			t.Logf("%s: %s on %s: %s", w.pod, rule, r.Subject, r.Output)
			if rule == ruleCrossTenant {
				peer := peers[w]
				if got := r.field("fd.rip.tenant"); got != peer.tenant {
					t.Errorf("cross-tenant alert of %s: peer tenant %q, want %q", w.pod, got, peer.tenant)
				}
				if got := r.field("fd.rip.k8s.pod"); got != peer.pod {
					t.Errorf("cross-tenant alert of %s: peer pod %q, want %q", w.pod, got, peer.pod)
				}
			}
		}
	}
	time.Sleep(time.Second)
	if n := subA.count(0, func(r received) bool { return r.Rule == ruleCrossTenant && r.field("k8s.pod.name") == a2.pod }); n != 0 {
		t.Errorf("%s connecting to %s (same tenant) raised %d cross-tenant alerts", a2.pod, a.pod, n)
	}
}

// noisyNeighbour: tenant-b floods; tenant-a's alerts still arrive and
// tenant-b's excess is summarised and counted. Each phase (paced, then
// unpaced) is checked on its own: the flood ran, tenant-a's alerts came,
// tenant-b's alerts were raised and suppressed.
func (s *scenario) noisyNeighbour(t *testing.T) {
	subA, subB, metricsURL := s.subA, s.subB, s.metricsURL
	before := scrape(t, metricsURL)
	fromA, fromB := len(subA.snapshot()), len(subB.snapshot())
	const pacedRate, floodSeconds = 5000, 6
	// minReads is the least a flood must read to be one of thousands of
	// alerts a second (half the paced rate).
	const minReads = pacedRate * floodSeconds / 2
	floodStart := time.Now()
	paced := s.flood(t, pacedRate, floodSeconds)
	mid := scrape(t, metricsURL)
	t.Logf("figure: tenant-b paced flood: %d reads of /etc/shadow in %ds; tenant-a: %d of 5 alerts, worst latency %s",
		paced.reads, floodSeconds, len(paced.latencies), paced.worst().Round(time.Millisecond))
	// Beyond what the agent can evaluate: its shared event queue
	// overflows, for every tenant. A tenant-a alert may then be lost,
	// but only with the loss counted; the agent's own "events dropped"
	// warning is expected until a self-alert interval after it.
	overflowFrom := time.Now()
	unpaced := s.flood(t, 0, floodSeconds)
	s.overflow = append(s.overflow, window{overflowFrom, time.Now().Add(selfAlertInterval + 5*time.Second)})
	end := scrape(t, metricsURL)
	drops := dropDeltas(mid, end)
	t.Logf("figure: tenant-b unpaced flood: %d reads in %ds; drops counted %v; tenant-a: %d of 5 alerts, worst latency %s",
		unpaced.reads, floodSeconds, drops, len(unpaced.latencies), unpaced.worst().Round(time.Millisecond))
	floodDur := time.Since(floodStart)

	for _, ph := range []struct {
		name       string
		f          floodResult
		from, to   metrics
		lossCounts bool // a lost tenant-a alert is accepted when drops were counted
	}{
		{fmt.Sprintf("paced flood (%d/s)", pacedRate), paced, before, mid, false},
		{"unpaced flood", unpaced, mid, end, true},
	} {
		if ph.f.err != nil {
			t.Errorf("%s: tenant-b's flood request failed: %v", ph.name, ph.f.err)
		} else if ph.f.reads < minReads {
			t.Errorf("%s: tenant-b read /etc/shadow %d times in %ds, want at least %d: not a flood", ph.name, ph.f.reads, floodSeconds, minReads)
		}
		delta := func(series string) float64 { return ph.to.get(series) - ph.from.get(series) }
		alertsB := delta(`vigil_tenant_alerts_total{tenant="tenant-b"}`)
		suppB := delta(`vigil_tenant_alerts_suppressed_total{tenant="tenant-b"}`)
		suppA := delta(`vigil_tenant_alerts_suppressed_total{tenant="tenant-a"}`)
		t.Logf("figure: %s: tenant-b alerts %.0f (%.0f/s), suppressed %.0f; tenant-a suppressed %.0f",
			ph.name, alertsB, alertsB/floodSeconds, suppB, suppA)
		switch lost := 5 - len(ph.f.latencies); {
		case lost > 0 && !ph.lossCounts:
			t.Errorf("%s: tenant-a lost %d of 5 alerts (want all within 1s)", ph.name, lost)
		case lost > 0 && len(dropDeltas(ph.from, ph.to)) == 0:
			t.Errorf("%s: tenant-a lost %d of 5 alerts and the agent counted no drop", ph.name, lost)
		}
		if w := ph.f.worst(); w > time.Second {
			t.Errorf("%s: a tenant-a alert took %s (want < 1s)", ph.name, w)
		}
		if !ph.lossCounts && alertsB < minReads {
			// Paced, the agent evaluates every read.
			t.Errorf("%s: tenant-b raised %.0f alerts for %d reads: not a flood of thousands per second", ph.name, alertsB, ph.f.reads)
		}
		if suppB == 0 || suppB < alertsB/2 {
			t.Errorf("%s: tenant-b: %.0f of %.0f alerts suppressed, want most", ph.name, suppB, alertsB)
		}
		if suppA != 0 {
			t.Errorf("%s: tenant-a: %.0f alerts suppressed", ph.name, suppA)
		}
	}

	// The summary of what tenant-b lost reaches tenant-b (and only it).
	sum, ok := subB.waitFor(t, fromB, 15*time.Second, "tenant-b suppression summary", func(r received) bool {
		return r.Rule == ruleSummary && r.field("vigil.tenant") == "tenant-b"
	})
	if ok {
		t.Logf("figure: summary on %s: %s", sum.Subject, sum.Output)
		if tenantOfSubject(sum.Subject) != "tenant-b" {
			t.Errorf("summary on %s", sum.Subject)
		}
	}
	if n := subA.count(fromA, ruleIs(ruleSummary)); n != 0 {
		t.Errorf("tenant-a got %d suppression summaries; tenant-a was not limited", n)
	}
	// Two summary intervals after the flood every suppressed alert has
	// been reported: the summaries of both phases add up to the metric.
	time.Sleep(7 * time.Second)
	after := scrape(t, metricsURL)
	var summarised float64
	for _, r := range subB.snapshot()[fromB:] {
		if r.Rule == ruleSummary {
			v, _ := strconv.ParseFloat(r.field("vigil.suppressed"), 64)
			summarised += v
		}
	}
	suppB := after.get(`vigil_tenant_alerts_suppressed_total{tenant="tenant-b"}`) - before.get(`vigil_tenant_alerts_suppressed_total{tenant="tenant-b"}`)
	alertsB := after.get(`vigil_tenant_alerts_total{tenant="tenant-b"}`) - before.get(`vigil_tenant_alerts_total{tenant="tenant-b"}`)
	t.Logf("figure: both floods: tenant-b alerts %.0f (%.0f/s over %s), suppressed %.0f, summarised %.0f; kernel drops %.0f, queue drops %.0f",
		alertsB, alertsB/floodDur.Seconds(), floodDur.Round(time.Second), suppB, summarised, after.sum("vigil_kernel_drops_total"), after.sum("vigil_queue_drops_total"))
	for _, k := range []string{
		`vigil_tenant_events_total{tenant="tenant-a"}`, `vigil_tenant_events_total{tenant="tenant-b"}`,
		`vigil_tenant_alerts_total{tenant="tenant-a"}`, `vigil_tenant_alerts_total{tenant="tenant-b"}`,
		`vigil_tenant_alerts_suppressed_total{tenant="tenant-a"}`, `vigil_tenant_alerts_suppressed_total{tenant="tenant-b"}`,
	} {
		t.Logf("figure: /metrics %s %.0f", k, after.get(k))
	}
	if after.get(`vigil_tenant_alerts_total{tenant="tenant-a"}`) == 0 {
		t.Errorf("/metrics has no alerts for tenant-a")
	}
	if summarised != suppB {
		t.Errorf("tenant-b's summaries report %.0f suppressed alerts, its metric %.0f", summarised, suppB)
	}
}

// floodResult is one tenant-b flood: its reads (the workload's count), the
// request's error, and tenant-a's alert latencies during it.
type floodResult struct {
	reads     int
	err       error
	latencies []time.Duration
}

func (f floodResult) worst() time.Duration {
	var w time.Duration
	for _, l := range f.latencies {
		w = max(w, l)
	}
	return w
}

// flood makes tenant-b read /etc/shadow rate times a second (0: as fast as
// it can) for seconds while tenant-a reads it five times, timing tenant-a's
// alerts (a latency per alert that came within 3 s).
func (s *scenario) flood(t *testing.T, rate, seconds int) floodResult {
	t.Helper()
	type done struct {
		reads int
		err   error
	}
	ch := make(chan done, 1)
	go func() {
		out, err := workloadGet(s.b, fmt.Sprintf("/flood?path=/etc/shadow&seconds=%d&rate=%d", seconds, rate))
		if err != nil {
			ch <- done{err: fmt.Errorf("%w: %s", err, strings.TrimSpace(out))}
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(out))
		if err != nil {
			err = fmt.Errorf("flood answered %q", out)
		}
		ch <- done{n, err}
	}()
	var f floodResult
	time.Sleep(1500 * time.Millisecond)
	for i := 0; i < 5; i++ {
		from := len(s.subA.snapshot())
		sent := time.Now()
		if _, err := workloadGet(s.a, "/open?path=/etc/shadow"); err != nil {
			t.Fatal(err)
		}
		r, ok := s.subA.await(from, 3*time.Second, func(r received) bool {
			return r.Rule == ruleSensitive && r.field("proc.name") == "nginx"
		})
		if ok {
			f.latencies = append(f.latencies, r.At.Sub(sent))
			checkWorkloadAlert(t, r, s.a)
		}
		time.Sleep(500 * time.Millisecond)
	}
	d := <-ch
	f.reads, f.err = d.reads, d.err
	return f
}

// hotReload: a tenant-scoped rule added through the chart's values (helm
// upgrade rewrites the custom rules ConfigMap) takes effect without a
// restart and without a lost event: every marker open after it is active,
// and every tenant-b read across the swap, raises its alert, and the agent
// counts no drop.
func (s *scenario) hotReload(t *testing.T) {
	c, a, b, subB, soc, metricsURL, agentPod := s.c, s.a, s.b, s.subB, s.soc, s.metricsURL, s.agentPod
	ctx := context.Background()
	for _, w := range []*tenantWorkload{a, b} {
		if _, err := workloadGet(w, "/run?cmd="+url.QueryEscape("touch /tmp/vigil-reload-marker")); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Second) // tenant-b's buckets refill after the flood
	before := scrape(t, metricsURL)
	from, fromB := len(soc.snapshot()), len(subB.snapshot())
	// Across the reload, tenant-b reads /etc/shadow four times a second
	// (below its rate limit): every read must raise its alert.
	stop := make(chan struct{})
	type streamResult struct {
		reads int
		errs  []string
	}
	streamed := make(chan streamResult, 1)
	go func() {
		var r streamResult
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				streamed <- r
				return
			case <-tick.C:
				if _, err := workloadGet(b, "/open?path=/etc/shadow"); err != nil {
					r.errs = append(r.errs, err.Error())
				} else {
					r.reads++
				}
			}
		}
	}()
	applied := time.Now()
	s.helm.upgrade(reloadValues)
	t.Logf("figure: helm upgrade in %s", time.Since(applied).Round(time.Millisecond))
	// Open the marker until the new rule fires.
	deadline := time.Now().Add(120 * time.Second)
	var first time.Time
	for time.Now().Before(deadline) && first.IsZero() {
		if _, err := workloadGet(a, "/open?path=/tmp/vigil-reload-marker"); err != nil {
			close(stop)
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if soc.count(from, ruleIs(ruleReload)) > 0 {
			first = time.Now()
		}
	}
	if first.IsZero() {
		close(stop)
		t.Fatalf("rule added through helm upgrade never fired\n%s", c.Kubectl("", "-n", releaseNS, "logs", agentPod.Name, "--tail=20"))
	}
	t.Logf("figure: rule from helm upgrade active %s after it started", first.Sub(applied).Round(time.Millisecond))
	time.Sleep(time.Second)
	// Every open from now on raises exactly one alert; tenant-b's none.
	base := soc.count(from, ruleIs(ruleReload))
	const opens = 30
	if _, err := workloadGet(b, "/open?path=/tmp/vigil-reload-marker&n=5"); err != nil {
		close(stop)
		t.Fatal(err)
	}
	if _, err := workloadGet(a, fmt.Sprintf("/open?path=/tmp/vigil-reload-marker&n=%d", opens)); err != nil {
		close(stop)
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	close(stop)
	stream := <-streamed
	time.Sleep(2 * time.Second)
	after := scrape(t, metricsURL)
	drops := dropDeltas(before, after)
	all := soc.snapshot()[from:]
	n := 0
	for _, r := range all {
		if r.Rule != ruleReload {
			continue
		}
		checkWorkloadAlert(t, r, a)
		if r.field("container.name") != "web" {
			t.Errorf("reload rule alert: container.name %q, want web", r.field("container.name"))
		}
		n++
	}
	gotStream := subB.count(fromB, func(r received) bool { return r.Rule == ruleSensitive && r.field("proc.name") == "nginx" })
	t.Logf("figure: across the reload: %d of %d marker opens alerted, %d of %d tenant-b reads alerted; drops counted %v",
		n-base, opens, gotStream, stream.reads, drops)
	if got := n - base; got != opens {
		t.Errorf("after the reload: %d alerts of the new rule for %d opens of tenant-a (and 5 of tenant-b, which must not match); drops counted: %v",
			got, opens, drops)
	}
	if gotStream != stream.reads {
		t.Errorf("across the reload: %d alerts for %d tenant-b reads; drops counted: %v", gotStream, stream.reads, drops)
	}
	if len(stream.errs) > 0 {
		t.Errorf("across the reload: %d of tenant-b's reads failed: %v", len(stream.errs), stream.errs)
	}
	if len(drops) > 0 {
		t.Errorf("the agent counted drops across the reload: %v", drops)
	}
	p, err := c.Client.CoreV1().Pods(releaseNS).Get(ctx, agentPod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.UID != agentPod.UID || p.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Errorf("agent restarted (restarts %d)", p.Status.ContainerStatuses[0].RestartCount)
	}
	logs := c.Kubectl("", "-n", releaseNS, "logs", agentPod.Name)
	if !strings.Contains(logs, "rules reloaded") {
		t.Errorf("agent log has no reload")
	}
}

// tenantIsolation: each tenant's NATS user only ever saw its own alerts,
// and may not subscribe to another tenant's.
func (s *scenario) tenantIsolation(t *testing.T) {
	subA, subB, soc, spy := s.subA, s.subB, s.soc, s.spy
	for _, sub := range []*subscriber{subA, subB} {
		alerts := sub.snapshot()
		if len(alerts) == 0 {
			t.Errorf("%s received nothing", sub.user)
		}
		for _, r := range alerts {
			tenant := r.field("tenant.name")
			if r.Rule == ruleSummary {
				tenant = r.field("vigil.tenant")
			}
			if tenantOfSubject(r.Subject) != sub.user || tenant != sub.user {
				t.Errorf("%s received %q of tenant %q on %s", sub.user, r.Rule, tenant, r.Subject)
			}
		}
		t.Logf("figure: %s received %d alerts, all its own", sub.user, len(alerts))
	}
	if got := spy.snapshot(); len(got) != 0 {
		t.Errorf("tenant-a subscribed to tenant-b's subjects received %d alerts", len(got))
	}
	if errs := spy.errors(); len(errs) == 0 || !strings.Contains(strings.ToLower(strings.Join(errs, " ")), "permissions violation") {
		t.Errorf("tenant-a's subscription to tenant-b's subjects was not refused: %v", errs)
	} else {
		t.Logf("refused: %s", strings.Join(errs, "; "))
	}
	perTenant := map[string]int{}
	for _, r := range soc.snapshot() {
		perTenant[tenantOfSubject(r.Subject)]++
		if want := strings.ToLower(r.Prio); !strings.HasSuffix(r.Subject, "."+want) {
			t.Errorf("%q (%s) on %s", r.Rule, r.Prio, r.Subject)
		}
	}
	t.Logf("figure: admin saw %v", perTenant)
	hostRules := map[string]int{}
	for _, r := range soc.snapshot() {
		if tenantOfSubject(r.Subject) == "_host" {
			hostRules[r.Rule+" ("+r.field("proc.name")+")"]++
		}
	}
	t.Logf("host alerts (the node's own processes): %v", hostRules)
}

// agentHealth: no error and no unexpected warning in the agent's log (see
// checkAgentLog), memory within its limit, no restart.
func (s *scenario) agentHealth(t *testing.T) {
	c, agentPod := s.c, s.agentPod
	ctx := context.Background()
	logs := c.Kubectl("", "-n", releaseNS, "logs", agentPod.Name)
	res := checkAgentLog(logs, s.overflow)
	for _, l := range res.allowed {
		t.Logf("agent log (expected): %s", l)
	}
	for _, p := range res.problems {
		t.Errorf("agent log: %s", p)
	}
	t.Logf("figure: agent log lines by level %v", res.levels)
	rss, hwm, cgPeak := agentMemory(t, c, agentPod)
	t.Logf("figure: agent RSS %d MiB, peak RSS %d MiB, peak memory cgroup usage %d MiB (BPF maps and page cache included; limit 1024 MiB)",
		rss>>20, hwm>>20, cgPeak>>20)
	if hwm > 1<<30 || cgPeak >= 1<<30 {
		t.Errorf("agent memory over its 1 GiB limit: peak RSS %d MiB, cgroup peak %d MiB", hwm>>20, cgPeak>>20)
	}
	p, err := c.Client.CoreV1().Pods(releaseNS).Get(ctx, agentPod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := p.Status.ContainerStatuses[0]; st.RestartCount != 0 || st.LastTerminationState.Terminated != nil {
		t.Errorf("agent restarted %d times (last termination %+v)", st.RestartCount, st.LastTerminationState.Terminated)
	}
}
