package kube

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigilsec/vigil/pkg/enrich/tenant"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/test/kubeapi"
)

func TestNilSnapshot(t *testing.T) {
	var s *Snapshot
	if s.Namespace("a") != nil || s.Pod("u") != nil || s.Peer(netip.MustParseAddr("10.0.0.1")) != nil {
		t.Fatal("nil snapshot returned something")
	}
}

func TestRESTConfigNotConfigured(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if _, err := RESTConfig(""); err != ErrNotConfigured {
		t.Fatalf("RESTConfig = %v, want ErrNotConfigured", err)
	}
	if _, err := RESTConfig("/nonexistent/kubeconfig"); err == nil {
		t.Fatal("missing kubeconfig accepted")
	}
}

// waitFor polls the watcher's snapshot until cond holds.
func waitFor(t *testing.T, w *Watcher, what string, cond func(*Snapshot) bool) *Snapshot {
	t.Helper()
	end := time.Now().Add(15 * time.Second)
	for time.Now().Before(end) {
		if s := w.Snapshot(); cond(s) {
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: not seen; last snapshot %+v", what, w.Snapshot())
	return nil
}

func TestWatcherAgainstAPIServer(t *testing.T) {
	api := kubeapi.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := api.Client.CoreV1()
	mustNS := func(name string, labels map[string]string) {
		if _, err := c.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mustPod := func(ns, name, node, ip string, hostNet bool) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
			Spec:       corev1.PodSpec{NodeName: node, HostNetwork: hostNet, Containers: []corev1.Container{{Name: "c", Image: "x"}}},
		}
		p, err := c.Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status.PodIP, p.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
		if p, err = c.Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mustNS("team-a", map[string]string{"capsule.clastix.io/tenant": "a"})
	mustNS("legacy-1", nil)
	web := mustPod("team-a", "web", "node-1", "10.0.0.5", false)
	mustPod("team-a", "agent", "node-1", "192.168.1.10", true)
	mustPod("legacy-1", "old", "node-1", "fd00::7", false)
	mustPod("team-a", "remote", "node-2", "10.0.1.5", false)

	res, err := tenant.New(tenant.DefaultLabelKeys, []tenant.Mapping{{Namespace: "legacy-*", Tenant: "legacy"}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWatcher(api.Config, "node-1", res, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	go w.Run(ctx)
	if !w.WaitSynced(ctx) {
		t.Fatal("not synced")
	}
	s := waitFor(t, w, "synced snapshot with 3 pods", func(s *Snapshot) bool { return s.Synced && len(s.Pods) == 3 })
	if ns := s.Namespace("team-a"); ns == nil || ns.Tenant != "a" {
		t.Fatalf("team-a = %+v", ns)
	}
	if ns := s.Namespace("legacy-1"); ns == nil || ns.Tenant != "legacy" {
		t.Fatalf("legacy-1 = %+v", ns)
	}
	if p := s.Pod(string(web.UID)); p == nil || p.Name != "web" || p.Namespace != "team-a" || p.Labels["app"] != "web" {
		t.Fatalf("web pod = %+v", p)
	}
	peers := []struct {
		ip   string
		want *event.Peer
	}{
		{"10.0.0.5", &event.Peer{PodName: "web", Namespace: "team-a", Tenant: "a"}},
		{"::ffff:10.0.0.5", &event.Peer{PodName: "web", Namespace: "team-a", Tenant: "a"}},
		{"fd00::7", &event.Peer{PodName: "old", Namespace: "legacy-1", Tenant: "legacy"}},
		{"192.168.1.10", nil}, // host network: the IP is the node's
		{"10.0.1.5", nil},     // another node's pod
	}
	for _, p := range peers {
		got := s.Peer(netip.MustParseAddr(p.ip))
		if (got == nil) != (p.want == nil) || (got != nil && *got != *p.want) {
			t.Errorf("Peer(%s) = %+v, want %+v", p.ip, got, p.want)
		}
	}

	gen := s.Gen
	if err := c.Pods("team-a").Delete(ctx, "web", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	s = waitFor(t, w, "pod deleted", func(s *Snapshot) bool { return s.Pod(string(web.UID)) == nil })
	if s.Gen <= gen || s.Peer(netip.MustParseAddr("10.0.0.5")) != nil {
		t.Fatalf("after delete: gen %d (was %d), peer %+v", s.Gen, gen, s.Peer(netip.MustParseAddr("10.0.0.5")))
	}
}

func TestStaticWatcher(t *testing.T) {
	s := &Snapshot{Gen: 7, Synced: true, Namespaces: map[string]*Namespace{"a": {Tenant: "t"}}}
	w := NewStaticWatcher(s)
	if w.Snapshot() != s || !w.WaitSynced(context.Background()) {
		t.Fatal("static watcher does not serve its snapshot")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	cancel()
	<-done
}
