package cluster

import (
	"bufio"
	"context"
	"encoding/json"
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
// tenant-b's excess is summarised and counted.
func (s *scenario) noisyNeighbour(t *testing.T) {
	a, b, subA, subB, metricsURL := s.a, s.b, s.subA, s.subB, s.metricsURL
	before := scrape(t, metricsURL)
	fromA, fromB := len(subA.snapshot()), len(subB.snapshot())
	// flood makes tenant-b read /etc/shadow rate times a second (0: as
	// fast as it can) for seconds while tenant-a reads it five times,
	// and returns tenant-b's reads, tenant-a's alert latencies and how
	// many of tenant-a's alerts never came.
	flood := func(rate, seconds int) (opens string, lat []time.Duration, lost int) {
		done := make(chan string, 1)
		go func() {
			out, err := workloadGet(b, fmt.Sprintf("/flood?path=/etc/shadow&seconds=%d&rate=%d", seconds, rate))
			if err != nil {
				out = "error: " + err.Error()
			}
			done <- strings.TrimSpace(out)
		}()
		time.Sleep(1500 * time.Millisecond)
		for i := 0; i < 5; i++ {
			from := len(subA.snapshot())
			sent := time.Now()
			if _, err := workloadGet(a, "/open?path=/etc/shadow"); err != nil {
				t.Fatal(err)
			}
			r, ok := subA.await(from, 3*time.Second, func(r received) bool {
				return r.Rule == ruleSensitive && r.field("proc.name") == "nginx"
			})
			if ok {
				lat = append(lat, r.At.Sub(sent))
				checkWorkloadAlert(t, r, a)
			} else {
				lost++
			}
			time.Sleep(500 * time.Millisecond)
		}
		return <-done, lat, lost
	}
	worstOf := func(lat []time.Duration) time.Duration {
		var w time.Duration
		for _, l := range lat {
			w = max(w, l)
		}
		return w
	}
	const pacedRate, floodSeconds = 5000, 6
	floodStart := time.Now()
	opens, lat, lost := flood(pacedRate, floodSeconds)
	t.Logf("figure: tenant-b paced flood: %s reads of /etc/shadow in %ds; tenant-a: %d of 5 alerts, worst latency %s",
		opens, floodSeconds, len(lat), worstOf(lat).Round(time.Millisecond))
	if lost > 0 || worstOf(lat) > time.Second {
		t.Errorf("during tenant-b's flood of %d/s tenant-a lost %d of 5 alerts, worst latency %s (want all within 1s)",
			pacedRate, lost, worstOf(lat))
	}
	// Beyond what the agent can evaluate: its shared event queue
	// overflows, for every tenant. A tenant-a alert may then be lost,
	// but only with the loss counted.
	mid := scrape(t, metricsURL)
	opensMax, latMax, lostMax := flood(0, floodSeconds)
	end := scrape(t, metricsURL)
	dropped := end.sum("vigil_queue_drops_total") + end.sum("vigil_kernel_drops_total") -
		mid.sum("vigil_queue_drops_total") - mid.sum("vigil_kernel_drops_total")
	t.Logf("figure: tenant-b unpaced flood: %s reads in %ds; %.0f events dropped (counted); tenant-a: %d of 5 alerts, worst latency %s",
		opensMax, floodSeconds, dropped, len(latMax), worstOf(latMax).Round(time.Millisecond))
	if lostMax > 0 && dropped == 0 {
		t.Errorf("tenant-a lost %d alerts during tenant-b's unpaced flood and the agent counted no drop", lostMax)
	}
	if worstOf(latMax) > time.Second {
		t.Errorf("tenant-a alert took %s during tenant-b's unpaced flood (want < 1s)", worstOf(latMax))
	}
	floodDur := time.Since(floodStart)
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
	// been reported: the summaries add up to the metric.
	time.Sleep(7 * time.Second)
	after := scrape(t, metricsURL)
	var summarised float64
	for _, r := range subB.snapshot()[fromB:] {
		if r.Rule == ruleSummary {
			v, _ := strconv.ParseFloat(r.field("vigil.suppressed"), 64)
			summarised += v
		}
	}
	alertsB := after.get(`vigil_tenant_alerts_total{tenant="tenant-b"}`) - before.get(`vigil_tenant_alerts_total{tenant="tenant-b"}`)
	suppB := after.get(`vigil_tenant_alerts_suppressed_total{tenant="tenant-b"}`) - before.get(`vigil_tenant_alerts_suppressed_total{tenant="tenant-b"}`)
	suppA := after.get(`vigil_tenant_alerts_suppressed_total{tenant="tenant-a"}`)
	t.Logf("figure: tenant-b alerts %.0f (%.0f/s), suppressed %.0f, summarised %.0f; tenant-a suppressed %.0f; kernel drops %.0f, queue drops %.0f",
		alertsB, alertsB/floodDur.Seconds(), suppB, summarised, suppA, after.sum("vigil_kernel_drops_total"), after.sum("vigil_queue_drops_total"))
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
	if alertsB < pacedRate*floodSeconds/2 {
		t.Errorf("tenant-b raised %.0f alerts: not a flood of thousands per second", alertsB)
	}
	if summarised != suppB {
		t.Errorf("tenant-b's summaries report %.0f suppressed alerts, its metric %.0f", summarised, suppB)
	}
	if suppB < alertsB/2 {
		t.Errorf("tenant-b: %.0f of %.0f alerts suppressed", suppB, alertsB)
	}
	if suppA != 0 {
		t.Errorf("tenant-a: %.0f alerts suppressed", suppA)
	}
}

// hotReload: a tenant-scoped rule added to the ConfigMap takes effect
// without a restart and without lost alerts.
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
	streamed := make(chan int, 1)
	go func() {
		n := 0
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				streamed <- n
				return
			case <-tick.C:
				if _, err := workloadGet(b, "/open?path=/etc/shadow"); err == nil {
					n++
				}
			}
		}
	}()
	applied := time.Now()
	c.Kubectl(reloadRulesConfigMap, "apply", "-f", "-")
	// Open the marker until the new rule fires.
	deadline := time.Now().Add(120 * time.Second)
	var first time.Time
	for time.Now().Before(deadline) && first.IsZero() {
		if _, err := workloadGet(a, "/open?path=/tmp/vigil-reload-marker"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if soc.count(from, ruleIs(ruleReload)) > 0 {
			first = time.Now()
		}
	}
	if first.IsZero() {
		close(stop)
		t.Fatalf("rule added to the ConfigMap never fired\n%s", c.Kubectl("", "-n", releaseNS, "logs", agentPod.Name, "--tail=20"))
	}
	t.Logf("figure: rule from the ConfigMap active %s after kubectl apply", first.Sub(applied).Round(time.Millisecond))
	time.Sleep(time.Second)
	// Every open from now on raises exactly one alert; tenant-b's none.
	base := soc.count(from, ruleIs(ruleReload))
	const opens = 30
	if _, err := workloadGet(b, "/open?path=/tmp/vigil-reload-marker&n=5"); err != nil {
		t.Fatal(err)
	}
	if _, err := workloadGet(a, fmt.Sprintf("/open?path=/tmp/vigil-reload-marker&n=%d", opens)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	close(stop)
	nStream := <-streamed
	time.Sleep(2 * time.Second)
	after := scrape(t, metricsURL)
	drops := after.sum("vigil_kernel_drops_total") + after.sum("vigil_queue_drops_total") -
		before.sum("vigil_kernel_drops_total") - before.sum("vigil_queue_drops_total")
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
	t.Logf("figure: across the reload: %d of %d marker opens alerted, %d of %d tenant-b reads alerted; %.0f events dropped (node-wide, counted)",
		n-base, opens, gotStream, nStream, drops)
	// A lost alert is a failure unless the agent counted drops (the
	// node is shared: other processes' bursts can fill its queue).
	if got := n - base; got != opens && drops == 0 {
		t.Errorf("after the reload: %d alerts of the new rule for %d opens, and no drop counted", got, opens)
	}
	if gotStream != nStream && drops == 0 {
		t.Errorf("across the reload: %d alerts for %d reads, and no drop counted", gotStream, nStream)
	}
	if got := n - base; got > opens {
		t.Errorf("after the reload: %d alerts of the new rule for %d opens (tenant-b's opens must not match)", got, opens)
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

// agentHealth: no error in the agent's log, memory within its limit, no
// restart.
func (s *scenario) agentHealth(t *testing.T) {
	c, agentPod := s.c, s.agentPod
	ctx := context.Background()
	logs := c.Kubectl("", "-n", releaseNS, "logs", agentPod.Name)
	levels := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Rule  string `json:"rule"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Rule != "" {
			continue // an alert on stdout
		}
		levels[line.Level]++
		if line.Level == "error" || line.Level == "warn" || line.Level == "dpanic" || line.Level == "fatal" {
			t.Logf("agent log: %s", sc.Text())
		}
		if line.Level == "error" || line.Level == "dpanic" || line.Level == "fatal" {
			t.Errorf("agent logged an error: %s", sc.Text())
		}
	}
	t.Logf("figure: agent log lines by level %v", levels)
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
