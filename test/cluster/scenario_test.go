package cluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// scenario is the running cluster with Vigil, the tenants' workloads and
// the NATS subscribers, shared by the steps of TestMultiTenant.
type scenario struct {
	c               *Cluster
	helm            *helmRelease
	a, a2, b        *tenantWorkload // web-a, api-a (tenant-a), web-b (tenant-b)
	workloads       []*tenantWorkload
	soc, subA, subB *subscriber // admin, tenant-a, tenant-b
	spy             *subscriber // tenant-a subscribed to tenant-b's subjects
	agentPod        *corev1.Pod
	metricsURL      string
	// overflow are the periods in which the scenario overflows the
	// agent's queue on purpose (see allowedWarnings).
	overflow []window
}

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
	// The chart, installed by helm; then the NATS server, which mounts the
	// configuration the chart rendered (the agent retries its connection
	// until the server is up).
	h := newHelmRelease(t, c)
	th := time.Now()
	h.install(chartValues(t, c, natsURL, natsPort))
	t.Cleanup(func() {
		if err := h.uninstall(); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	t.Logf("figure: helm install in %s", time.Since(th).Round(time.Millisecond))
	c.Kubectl(natsPod, "apply", "-f", "-")
	waitReady(t, c, releaseNS, "app=nats", 60*time.Second)
	c.waitFor("nats-server listening", 30*time.Second, func() error {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("%s:%d", c.NodeIP, natsPort), time.Second)
		if err == nil {
			conn.Close()
		}
		return err
	})
	agentPod := waitReady(t, c, releaseNS, "app.kubernetes.io/name=vigil", 120*time.Second)
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
	s := &scenario{c: c, helm: h, a: a, a2: a2, b: b, workloads: workloads, soc: soc, subA: subA, subB: subB, spy: spy,
		agentPod: agentPod, metricsURL: fmt.Sprintf("http://%s:8765/metrics", agentPod.Status.PodIP)}
	t.Run("behaviours", s.behaviours)
	t.Run("noisy neighbour", s.noisyNeighbour)
	t.Run("hot reload", s.hotReload)
	t.Run("tenant isolation", s.tenantIsolation)
	t.Run("agent health", s.agentHealth)
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
