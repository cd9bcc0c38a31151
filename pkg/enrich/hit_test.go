package enrich

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/enrich/kube"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// TestDefaultWait checks the default side-queue wait the issue asks for.
func TestDefaultWait(t *testing.T) {
	if got := DefaultConfig().WaitTimeout; got != 500*time.Millisecond {
		t.Fatalf("default wait_timeout = %v, want 500ms", got)
	}
}

// TestContainerHitAllocatesNothing looks a container's cgroup up for real,
// then checks that its later events, enriched from the cache, allocate
// nothing: with and without a Kubernetes snapshot, with a socket whose
// remote end, or both ends, are pods.
func TestContainerHitAllocatesNothing(t *testing.T) {
	testutil.RequireRoot(t)
	const podUID = "8a5c1f0e-3b2d-4c6e-9f7a-1b2c3d4e5f60"
	snap := &kube.Snapshot{Gen: 1, Synced: true,
		Namespaces: map[string]*kube.Namespace{"shop": {Labels: map[string]string{"team": "pay"}, Tenant: "acme"}},
		Pods:       map[string]*kube.Pod{podUID: {Name: "web-0", Namespace: "shop", Labels: map[string]string{"app": "web"}}},
		Peers: map[netip.Addr]*event.Peer{
			netip.MustParseAddr("10.244.0.7"): {PodName: "db-0", Namespace: "data", Tenant: "other"},
			netip.MustParseAddr("10.244.0.5"): {PodName: "web-0", Namespace: "shop", Tenant: "acme"},
		},
	}
	podRel := "kubepods/besteffort/pod" + podUID + "/" + testCID
	tests := []struct {
		name string
		kube bool
		rel  string
		fd   *event.FD
		want func(m *event.Metadata, remote, local *event.Peer) bool
	}{
		{"docker container", false, "docker/" + testCID, nil, func(m *event.Metadata, remote, local *event.Peer) bool {
			return m.ContainerFullID == testCID && m.PodName == "" && remote == nil && local == nil
		}},
		{"pod container", false, podRel, nil, func(m *event.Metadata, remote, local *event.Peer) bool {
			return m.ContainerFullID == testCID && m.PodUID == podUID && remote == nil && local == nil
		}},
		{"pod container with Kubernetes, socket to a pod", true, podRel,
			&event.FD{Type: event.FDIPv4, Remote: netip.MustParseAddrPort("10.244.0.7:5432")},
			func(m *event.Metadata, remote, local *event.Peer) bool {
				return m.ContainerFullID == testCID && m.PodName == "web-0" && m.Tenant == "acme" &&
					remote != nil && remote.PodName == "db-0" && local == nil
			}},
		{"pod container with Kubernetes, socket between two pods", true, podRel,
			&event.FD{Type: event.FDIPv4, Connected: true,
				Local: netip.MustParseAddrPort("10.244.0.5:41000"), Remote: netip.MustParseAddrPort("10.244.0.7:5432")},
			func(m *event.Metadata, remote, local *event.Peer) bool {
				return m.PodName == "web-0" && remote != nil && remote.Tenant == "other" && local != nil && local.Tenant == "acme"
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnricher(t, testConfig(t), false)
			if tt.kube {
				e.kube = kube.NewStaticWatcher(snap)
			}
			go e.worker(t.Context())
			id := mkCgroup(t, e, tt.rel)
			ev := &event.Event{Timestamp: time.Now().UnixNano(), CgroupID: id, FD: tt.fd}
			var s sink
			e.Process(ev, s.next)
			flushUntil(t, e, &s, 1, 2*time.Second)
			if ent := e.cache.m[id]; ent == nil || ent.wl == nil || ent.wl.host || !ent.fast {
				t.Fatalf("not a cached container entry: %+v", ent)
			}
			out := 0
			next := func(*event.Event) { out++ }
			allocs := testing.AllocsPerRun(1000, func() { e.Process(ev, next) })
			if allocs != 0 {
				t.Errorf("cache hit allocates %.1f times per event", allocs)
			}
			if out != 1001 || ev.Meta == nil || !ev.Meta.Complete || !tt.want(ev.Meta, ev.Peer, ev.LocalPeer) {
				t.Fatalf("hit path: %d out, meta %+v, peer %+v, local peer %+v", out, ev.Meta, ev.Peer, ev.LocalPeer)
			}
		})
	}
}
