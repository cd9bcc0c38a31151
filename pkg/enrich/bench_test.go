package enrich

import (
	"fmt"
	"net/netip"
	"testing"

	"go.uber.org/zap"

	"github.com/vigilsec/vigil/pkg/enrich/kube"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/testutil"
)

func benchHit(b *testing.B, e *Enricher, ev *event.Event) {
	rootID, err := e.resolver.ID("/")
	if err != nil {
		b.Fatal(err)
	}
	ev.CgroupID = rootID
	var out int
	next := func(*event.Event) { out++ }
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.Process(ev, next)
	}
	b.StopTimer()
	if out != b.N || ev.Meta == nil || ev.Meta.ContainerID != HostID {
		b.Fatalf("hit path broken: %d of %d out, meta %+v", out, b.N, ev.Meta)
	}
}

// BenchmarkProcessHit is the cost the stage adds to an event whose cgroup is
// cached, without Kubernetes.
func BenchmarkProcessHit(b *testing.B) {
	testutil.RequireRoot(b)
	cfg := DefaultConfig()
	cfg.Kubernetes = KubeOff
	e, err := New(cfg, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	benchHit(b, e, &event.Event{})
}

// BenchmarkProcessHitKubeSocket adds a Kubernetes snapshot of 200 pods and a
// socket event between two of them (both ends looked up).
func BenchmarkProcessHitKubeSocket(b *testing.B) {
	testutil.RequireRoot(b)
	cfg := DefaultConfig()
	cfg.Kubernetes = KubeOff
	e, err := New(cfg, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	snap := &kube.Snapshot{Gen: 1, Synced: true, Namespaces: map[string]*kube.Namespace{}, Pods: map[string]*kube.Pod{},
		Peers: map[netip.Addr]*event.Peer{}}
	for i := range 200 {
		ip := netip.AddrFrom4([4]byte{10, 244, byte(i / 250), byte(i%250 + 1)})
		snap.Peers[ip] = &event.Peer{PodName: fmt.Sprintf("pod-%d", i), Namespace: "ns", Tenant: "t"}
	}
	e.kube = kube.NewStaticWatcher(snap)
	ev := &event.Event{FD: &event.FD{Local: netip.MustParseAddrPort("10.244.0.12:40000"), Remote: netip.MustParseAddrPort("10.244.0.77:443")}}
	benchHit(b, e, ev)
	if ev.Peer == nil || ev.Peer.PodName != "pod-76" || ev.LocalPeer == nil || ev.LocalPeer.PodName != "pod-11" {
		b.Fatalf("peer = %+v, local peer = %+v", ev.Peer, ev.LocalPeer)
	}
}
