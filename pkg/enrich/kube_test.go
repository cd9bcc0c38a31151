package enrich

import (
	"context"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vigilsec/vigil/pkg/enrich/tenant"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/test/containerd"
	"github.com/vigilsec/vigil/test/kubeapi"
)

const capsuleKey = "capsule.clastix.io/tenant"

func createPod(ctx context.Context, t *testing.T, c kubernetes.Interface, ns, name, node, ip string, hostNet bool, labels map[string]string) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: corev1.PodSpec{
			NodeName:    node,
			HostNetwork: hostNet,
			Containers:  []corev1.Container{{Name: "app", Image: containerd.SleeperImage}},
		},
	}
	pod, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ip != "" {
		pod.Status.PodIP = ip
		pod.Status.PodIPs = []corev1.PodIP{{IP: ip}}
		if pod, err = c.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return pod
}

func setNamespaceLabels(ctx context.Context, t *testing.T, c kubernetes.Interface, name string, labels map[string]string) {
	t.Helper()
	ns, err := c.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ns.Labels = labels
	if _, err := c.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// eventually processes a fresh event for the cgroup until cond holds on the
// enriched event, or fails after within.
func eventually(t *testing.T, e *Enricher, ev event.Event, within time.Duration, what string, cond func(*event.Event) bool) *event.Event {
	t.Helper()
	start := time.Now()
	end := start.Add(within)
	var last *event.Event
	for time.Now().Before(end) {
		var s sink
		cp := ev
		e.Process(&cp, s.next)
		flushUntil(t, e, &s, 1, 2*time.Second)
		last = s.evs[0]
		if cond(last) {
			t.Logf("%s: seen after %v", what, time.Since(start).Round(time.Millisecond))
			return last
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s: not seen within %v; last meta %+v peer %+v", what, within, last.Meta, last.Peer)
	return nil
}

// TestKubernetesTenantAndLabels runs a real API server and a real containerd:
// a pod created in the API and started in containerd with the same uid gets
// its pod and namespace labels and its tenant from the first event on; a
// relabelled namespace changes the tenant of the next events; pod IPs of this
// node name the peer of socket events.
func TestKubernetesTenantAndLabels(t *testing.T) {
	api := kubeapi.Start(t)
	d := containerd.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := api.Client

	for name, labels := range map[string]map[string]string{
		"shop":    {capsuleKey: "acme", "env": "prod"},
		"billing": {"env": "prod"},
	} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
		if _, err := c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	web := createPod(ctx, t, c, "shop", "web-0", "node-1", "10.244.0.7", false, map[string]string{"app": "web"})
	createPod(ctx, t, c, "billing", "pay-0", "node-1", "10.244.0.8", false, map[string]string{"app": "pay"})
	createPod(ctx, t, c, "shop", "elsewhere", "node-2", "10.244.1.9", false, nil)
	agent := createPod(ctx, t, c, "billing", "agent", "node-1", "192.0.2.10", true, nil) // host network: the node's IP

	cfg := testConfig(t)
	cfg.Kubernetes = KubeAuto
	cfg.Kubeconfig = api.Kubeconfig
	cfg.CRISockets = []string{d.Socket}
	cfg.StaticTenants = []tenant.Mapping{{Namespace: "bill*", Tenant: "finance"}}
	e := newTestEnricher(t, cfg, true)
	syncCtx, syncCancel := context.WithTimeout(ctx, 30*time.Second)
	if !e.WaitKubeSynced(syncCtx) {
		t.Fatal("Kubernetes caches did not sync")
	}
	syncCancel()
	<-e.primed

	pod, err := d.RunPod(ctx, containerd.PodSpec{Name: "web-0", Namespace: "shop", UID: string(web.UID), QOS: "besteffort"})
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Log())
	}
	ctr, err := d.RunContainer(ctx, pod, containerd.ContainerSpec{Name: "app"})
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Log())
	}

	// The first event of the container: everything at once.
	var s sink
	e.Process(&event.Event{Num: 1, Timestamp: time.Now().UnixNano(), CgroupID: ctr.CgroupID}, s.next)
	flushUntil(t, e, &s, 1, 5*time.Second)
	m := s.evs[0].Meta
	if m == nil || !m.Complete || m.ContainerName != "app" || m.PodName != "web-0" || m.Namespace != "shop" || m.PodUID != string(web.UID) {
		t.Fatalf("first event meta = %+v", m)
	}
	if m.PodLabels["app"] != "web" || m.NamespaceLabels["env"] != "prod" || m.Tenant != "acme" {
		t.Fatalf("first event labels/tenant: pod %v ns %v tenant %q", m.PodLabels, m.NamespaceLabels, m.Tenant)
	}
	if st := e.Stats(); st.Timeouts != 0 {
		t.Fatalf("first event timed out: %+v", st)
	}

	base := event.Event{Timestamp: time.Now().UnixNano(), CgroupID: ctr.CgroupID}
	setNamespaceLabels(ctx, t, c, "shop", map[string]string{capsuleKey: "globex", "env": "prod"})
	eventually(t, e, base, 10*time.Second, "tenant relabelled to globex", func(ev *event.Event) bool { return ev.Meta.Tenant == "globex" })
	setNamespaceLabels(ctx, t, c, "shop", map[string]string{"projectcapsule.dev/tenant": "initech"})
	ev := eventually(t, e, base, 10*time.Second, "tenant from the second key", func(ev *event.Event) bool { return ev.Meta.Tenant == "initech" })
	if _, ok := ev.Meta.NamespaceLabels["env"]; ok {
		t.Fatalf("stale namespace labels %v", ev.Meta.NamespaceLabels)
	}
	setNamespaceLabels(ctx, t, c, "shop", nil)
	eventually(t, e, base, 10*time.Second, "tenant removed", func(ev *event.Event) bool { return ev.Meta.Tenant == "" && ev.Meta.Complete })

	peers := []struct {
		ip   string
		want *event.Peer
	}{
		{"10.244.0.7", &event.Peer{PodName: "web-0", Namespace: "shop"}},
		{"10.244.0.8", &event.Peer{PodName: "pay-0", Namespace: "billing", Tenant: "finance"}},
		{"10.244.1.9", nil}, // a pod of another node is not watched
		{"192.0.2.10", nil}, // a host-network pod's IP is the node's
		{"192.0.2.1", nil},
	}
	if e.snapshot().Pod(string(agent.UID)) == nil {
		t.Fatal("the host-network pod is not among the watched pods")
	}
	same := func(got, want *event.Peer) bool {
		return (got == nil) == (want == nil) && (got == nil || *got == *want)
	}
	for _, p := range peers {
		// The address as the remote end, then as the local end of a
		// connection to pay-0.
		for _, local := range []bool{false, true} {
			sock := base
			a := netip.AddrPortFrom(netip.MustParseAddr(p.ip), 8080)
			sock.FD = &event.FD{Remote: a}
			wantRemote, wantLocal := p.want, (*event.Peer)(nil)
			if local {
				sock.FD = &event.FD{Local: a, Remote: netip.MustParseAddrPort("10.244.0.8:443")}
				wantRemote, wantLocal = peers[1].want, p.want
			}
			var s sink
			e.Process(&sock, s.next)
			if got := s.evs[0]; !same(got.Peer, wantRemote) || !same(got.LocalPeer, wantLocal) {
				t.Errorf("%s (local end %v): peer %+v local peer %+v, want %+v and %+v", p.ip, local, got.Peer, got.LocalPeer, wantRemote, wantLocal)
			}
		}
	}
}
