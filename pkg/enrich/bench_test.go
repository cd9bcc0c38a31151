package enrich

import (
	"net/netip"
	"testing"

	"go.uber.org/zap"
	"k8s.io/client-go/rest"

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

// BenchmarkProcessHitKubeSocket adds a Kubernetes snapshot and a socket event
// whose remote address is looked up among pod IPs.
func BenchmarkProcessHitKubeSocket(b *testing.B) {
	testutil.RequireRoot(b)
	cfg := DefaultConfig()
	cfg.Kubernetes = KubeOff
	e, err := New(cfg, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	// A watcher that is never started serves its initial, empty snapshot.
	if e.kube, err = kube.NewWatcher(&rest.Config{Host: "http://127.0.0.1:1"}, "n", e.tenants, zap.NewNop()); err != nil {
		b.Fatal(err)
	}
	ev := &event.Event{FD: &event.FD{Remote: netip.MustParseAddrPort("10.0.0.7:443")}}
	benchHit(b, e, ev)
}
