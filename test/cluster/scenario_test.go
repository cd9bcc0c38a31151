package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigilsec/vigil/pkg/testutil"
)

// tenantWorkload is one tenant's namespace and workload pod.
type tenantWorkload struct {
	tenant, ns, pod string
	ip              string
	containerID     string // full 64-hex id
}

const (
	releaseNS = "vigil-system"
	// Passwords of the NATS users; the server gets them from a Secret.
	agentPassword = "agent-secret"
	socPassword   = "soc-secret"
)

var tenantPasswords = map[string]string{"tenant-a": "a-secret", "tenant-b": "b-secret"}

// Rules the scenario expects from each tenant's behaviours.
const (
	ruleShell       = "Shell spawned by a server process"
	ruleSensitive   = "Sensitive file read by unexpected program"
	ruleBinaryWrite = "Write below binary directory"
	ruleCrossTenant = "Connection to another tenant's pod"
	ruleSummary     = "Vigil alerts suppressed"
	ruleReload      = "Tenant A reload marker opened"
)

// TestMultiTenant is the multi-tenant scenario on a real single-node
// cluster: Vigil installed by its Helm chart publishes each tenant's alerts
// to that tenant's NATS subjects only, catches cross-tenant connections,
// keeps a flooding tenant from delaying another's alerts, reloads rules from
// its ConfigMap, and stays within its memory limit.
func TestMultiTenant(t *testing.T) {
	if testing.Short() {
		t.Skip("the cluster scenario is not short")
	}
	t0 := time.Now()
	images := BuildImages(t, filepath.Join(t.TempDir(), "images"))
	t.Logf("figure: images built in %s", time.Since(t0).Round(time.Millisecond))
	c := Start(t, images...)
	t.Logf("figure: cluster up (images imported) at %s", time.Since(t0).Round(time.Millisecond))
	ctx := context.Background()

	// Vigil and its NATS server.
	natsPort := freePort(t)
	natsURL := fmt.Sprintf("nats://%s:%d", c.NodeIP, natsPort)
	c.Kubectl("", "create", "namespace", releaseNS)
	c.Kubectl("", "-n", releaseNS, "create", "secret", "generic", "vigil-nats", "--from-literal=password="+agentPassword)
	c.Kubectl("", "-n", releaseNS, "create", "secret", "generic", "nats-users",
		"--from-literal=VIGIL_AGENT_PASSWORD="+agentPassword,
		"--from-literal=TENANT_A_PASSWORD="+tenantPasswords["tenant-a"],
		"--from-literal=TENANT_B_PASSWORD="+tenantPasswords["tenant-b"],
		"--from-literal=SOC_PASSWORD="+socPassword)
	manifests := helmTemplate(t, c, natsURL, natsPort)
	c.Kubectl(manifests, "apply", "-f", "-")
	c.Kubectl(natsPod, "apply", "-f", "-")
	agentPod := waitReady(t, c, releaseNS, "app.kubernetes.io/name=vigil", 120*time.Second)
	waitReady(t, c, releaseNS, "app=nats", 60*time.Second)
	c.waitFor("nats-server listening", 30*time.Second, func() error {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("%s:%d", c.NodeIP, natsPort), time.Second)
		if err == nil {
			conn.Close()
		}
		return err
	})
	t.Logf("figure: agent %s Ready at %s", agentPod.Name, time.Since(t0).Round(time.Millisecond))

	soc := subscribe(t, natsURL, "soc", socPassword, "vigil.alerts.>")
	subA := subscribe(t, natsURL, "tenant-a", tenantPasswords["tenant-a"], "vigil.alerts.tenant-a.>")
	subB := subscribe(t, natsURL, "tenant-b", tenantPasswords["tenant-b"], "vigil.alerts.tenant-b.>")
	// tenant-a trying to read tenant-b's alerts is refused by the server.
	spy := subscribe(t, natsURL, "tenant-a", tenantPasswords["tenant-a"], "vigil.alerts.tenant-b.>", "vigil.alerts.>")

	// Two tenants: tenant-a with two namespaces, tenant-b with one, a
	// workload pod in each.
	a := &tenantWorkload{tenant: "tenant-a", ns: "tenant-a-web", pod: "web-a"}
	a2 := &tenantWorkload{tenant: "tenant-a", ns: "tenant-a-api", pod: "api-a"}
	b := &tenantWorkload{tenant: "tenant-b", ns: "tenant-b-web", pod: "web-b"}
	workloads := []*tenantWorkload{a, a2, b}
	for _, w := range workloads {
		c.Kubectl(fmt.Sprintf(namespaceTmpl, w.ns, w.tenant), "apply", "-f", "-")
		c.waitFor("default ServiceAccount in "+w.ns, 60*time.Second, func() error {
			_, err := c.Client.CoreV1().ServiceAccounts(w.ns).Get(ctx, "default", metav1.GetOptions{})
			return err
		})
		c.Kubectl(fmt.Sprintf(workloadTmpl, w.pod, w.ns), "apply", "-f", "-")
	}
	for _, w := range workloads {
		p := waitReady(t, c, w.ns, "app=web", 90*time.Second)
		w.ip = p.Status.PodIP
		w.containerID = strings.TrimPrefix(p.Status.ContainerStatuses[0].ContainerID, "containerd://")
	}
	t.Logf("figure: workloads Ready at %s (%s %s, %s %s, %s %s)", time.Since(t0).Round(time.Millisecond),
		a.pod, a.ip, a2.pod, a2.ip, b.pod, b.ip)
	metricsURL := fmt.Sprintf("http://%s:8765/metrics", agentPod.Status.PodIP)

	t.Run("behaviours", func(t *testing.T) {
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
	})

	t.Run("noisy neighbour", func(t *testing.T) {
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
	})

	t.Run("hot reload", func(t *testing.T) {
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
	})

	t.Run("tenant isolation", func(t *testing.T) {
		for _, s := range []*subscriber{subA, subB} {
			alerts := s.snapshot()
			if len(alerts) == 0 {
				t.Errorf("%s received nothing", s.user)
			}
			for _, r := range alerts {
				tenant := r.field("tenant.name")
				if r.Rule == ruleSummary {
					tenant = r.field("vigil.tenant")
				}
				if tenantOfSubject(r.Subject) != s.user || tenant != s.user {
					t.Errorf("%s received %q of tenant %q on %s", s.user, r.Rule, tenant, r.Subject)
				}
			}
			t.Logf("figure: %s received %d alerts, all its own", s.user, len(alerts))
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
	})

	t.Run("agent health", func(t *testing.T) {
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
	})
	t.Logf("figure: scenario done at %s", time.Since(t0).Round(time.Millisecond))
}

// checkWorkloadAlert checks that r locates w: pod, namespace, container and
// tenant, on w's tenant's subject and priority.
func checkWorkloadAlert(t *testing.T, r received, w *tenantWorkload) {
	t.Helper()
	for field, want := range map[string]string{"k8s.pod.name": w.pod, "k8s.ns.name": w.ns, "tenant.name": w.tenant} {
		if got := r.field(field); got != want {
			t.Errorf("%q: %s = %q, want %q", r.Rule, field, got, want)
		}
	}
	if id := r.field("container.id"); id == "" || !strings.HasPrefix(w.containerID, id) {
		t.Errorf("%q: container.id %q is not the workload's %s", r.Rule, id, w.containerID)
	}
	if want := "vigil.alerts." + w.tenant + "." + strings.ToLower(r.Prio); r.Subject != want {
		t.Errorf("%q on %s, want %s", r.Rule, r.Subject, want)
	}
}

// workloadGet sends a request to a workload server and returns the body.
func workloadGet(w *tenantWorkload, path string) (string, error) {
	cl := http.Client{Timeout: 60 * time.Second}
	resp, err := cl.Get("http://" + w.ip + ":8080" + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("%s: %s", path, resp.Status)
	}
	return string(b), nil
}

// waitReady waits for a pod matching selector in ns to be Ready and returns
// it.
func waitReady(t *testing.T, c *Cluster, ns, selector string, timeout time.Duration) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	c.waitFor(fmt.Sprintf("pod %s in %s Ready", selector, ns), timeout, func() error {
		list, err := c.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return err
		}
		for i := range list.Items {
			p := &list.Items[i]
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
					pod = p
					return nil
				}
			}
		}
		desc, _ := c.KubectlErr("", "-n", ns, "describe", "pods", "-l", selector)
		return fmt.Errorf("not ready\n%s", tail(desc, 25))
	})
	return pod
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// helmTemplate renders the chart for the test cluster.
func helmTemplate(t *testing.T, c *Cluster, natsURL string, natsPort int) string {
	t.Helper()
	helm, err := exec.LookPath("helm")
	if err != nil {
		out, _ := exec.Command("go", "env", "GOPATH").Output()
		helm = filepath.Join(strings.TrimSpace(string(out)), "bin", "helm")
		if _, err := os.Stat(helm); err != nil {
			testutil.Unavailable(t, "helm missing (make deps)")
		}
	}
	cgroup := "/sys/fs/cgroup"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
		cgroup = "/sys/fs/cgroup/unified" // hybrid host
	}
	values := fmt.Sprintf(`security:
  capabilities: [%s]
image:
  repository: docker.io/vigil/agent
  tag: test
  pullPolicy: Never
hostPaths:
  cgroup: %s
containerRuntime:
  sockets: [%s]
clusterName: vigil-test
tenancy:
  labels: [capsule.clastix.io/tenant]
# No kube-proxy runs: the agent reaches the API server directly.
extraEnv:
  - {name: KUBERNETES_SERVICE_HOST, value: %q}
  - {name: KUBERNETES_SERVICE_PORT, value: %q}
nats:
  enabled: true
  url: %s
  passwordSecret: vigil-nats
  serverConfig:
    enabled: true
    port: %d
    agentPassword: $VIGIL_AGENT_PASSWORD
    tenants:
      - {name: tenant-a, password: $TENANT_A_PASSWORD}
      - {name: tenant-b, password: $TENANT_B_PASSWORD}
    admins:
      - {user: soc, password: $SOC_PASSWORD}
config:
  alerts:
    summary_interval: 3s
`, strings.Join(agentCapabilities(t), ", "), cgroup, c.ContainerdSocket, c.NodeIP, strconv.Itoa(c.APIPort), natsURL, natsPort)
	path := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(path, []byte(values), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helm, "template", "vigil", filepath.Join(repoRoot(), "deploy", "helm", "vigil"),
		"--namespace", releaseNS, "--kube-version", "v1.37.2", "-f", path)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("helm template: %v\n%s", err, stderr)
	}
	return string(out)
}

// agentCapabilities returns the chart's default capability list without
// those missing from this process's bounding set (a container cannot get
// them here either: runc fails with "unable to apply caps"). On this
// machine CAP_SYS_RESOURCE is missing, which the agent tolerates.
func agentCapabilities(t *testing.T) []string {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var bnd uint64
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			bnd, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	bits := map[string]uint{"BPF": 39, "PERFMON": 38, "SYS_RESOURCE": 24, "SYS_PTRACE": 19, "DAC_READ_SEARCH": 2}
	var caps []string
	for _, name := range []string{"BPF", "PERFMON", "SYS_RESOURCE", "SYS_PTRACE", "DAC_READ_SEARCH"} {
		if bnd&(1<<bits[name]) != 0 {
			caps = append(caps, name)
		} else {
			t.Logf("CAP_%s is not in the bounding set: the agent runs without it", name)
		}
	}
	return caps
}

// agentMemory returns the agent process's resident and peak resident set
// sizes, found through the runtime's task list, and the peak usage of its
// memory cgroup (what the limit applies to).
func agentMemory(t *testing.T, c *Cluster, pod *corev1.Pod) (rss, hwm, cgPeak int64) {
	t.Helper()
	id := strings.TrimPrefix(pod.Status.ContainerStatuses[0].ContainerID, "containerd://")
	for _, line := range strings.Split(c.Ctr("tasks", "ls"), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != id {
			continue
		}
		status, err := os.ReadFile("/proc/" + f[1] + "/status")
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(status), "\n") {
			kv := strings.Fields(l)
			if len(kv) < 2 {
				continue
			}
			kb, _ := strconv.ParseInt(kv[1], 10, 64)
			switch kv[0] {
			case "VmRSS:":
				rss = kb << 10
			case "VmHWM:":
				hwm = kb << 10
			}
		}
		return rss, hwm, memoryCgroupPeak(t, f[1])
	}
	t.Fatalf("agent container %s not among the runtime's tasks", id)
	return 0, 0, 0
}

// memoryCgroupPeak returns the peak usage of pid's memory cgroup (cgroup v1
// memory.max_usage_in_bytes, or v2 memory.peak).
func memoryCgroupPeak(t *testing.T, pid string) int64 {
	t.Helper()
	cg, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(cg), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		var path string
		switch {
		case f[1] == "memory":
			path = filepath.Join("/sys/fs/cgroup/memory", f[2], "memory.max_usage_in_bytes")
		case f[0] == "0" && f[1] == "":
			path = filepath.Join("/sys/fs/cgroup", f[2], "memory.peak")
		default:
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err == nil {
			return v
		}
	}
	t.Errorf("no memory cgroup peak for pid %s", pid)
	return 0
}

const namespaceTmpl = `apiVersion: v1
kind: Namespace
metadata:
  name: %s
  labels:
    capsule.clastix.io/tenant: %s
`

const workloadTmpl = `apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
  labels: {app: web}
spec:
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
    - name: web
      image: docker.io/vigil/workload:test
      imagePullPolicy: Never
      ports: [{containerPort: 8080}]
      readinessProbe:
        httpGet: {path: /healthz, port: 8080}
        periodSeconds: 1
`

// natsPod runs nats-server on the node's network with the configuration the
// chart rendered (users and permissions per tenant).
const natsPod = `apiVersion: v1
kind: Pod
metadata:
  name: nats
  namespace: vigil-system
  labels: {app: nats}
spec:
  hostNetwork: true
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
    - name: nats
      image: docker.io/vigil/nats:test
      imagePullPolicy: Never
      args: [-c, /etc/nats/nats.conf]
      envFrom: [{secretRef: {name: nats-users}}]
      volumeMounts: [{name: config, mountPath: /etc/nats}]
  volumes:
    - name: config
      configMap: {name: vigil-nats-server}
`

// reloadRulesConfigMap replaces the chart's custom rules ConfigMap with a
// tenant-scoped rule.
const reloadRulesConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: vigil-rules-custom
  namespace: vigil-system
data:
  tenant-a.yaml: |-
    - rule: Tenant A reload marker opened
      desc: A rule added at run time, scoped to tenant-a.
      condition: >
        evt.type in (open, openat, openat2) and fd.num >= 0
        and fd.name = /tmp/vigil-reload-marker and tenant.name = tenant-a
      output: >
        Reload marker opened | file=%fd.name proc=%proc.name tenant=%tenant.name
        k8s.ns=%k8s.ns.name k8s.pod=%k8s.pod.name container=%container.id name=%container.name
      priority: WARNING
      tags: [test]
`
