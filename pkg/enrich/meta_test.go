package enrich

import (
	"errors"
	"reflect"
	"testing"

	"github.com/vigilsec/vigil/pkg/enrich/cgroup"
	"github.com/vigilsec/vigil/pkg/enrich/cri"
	"github.com/vigilsec/vigil/pkg/enrich/kube"
	"github.com/vigilsec/vigil/pkg/enrich/tenant"
	"github.com/vigilsec/vigil/pkg/event"
)

func TestBuild(t *testing.T) {
	const uid = "8a5c1f0e-3b2d-4c6e-9f7a-1b2c3d4e5f60"
	tenants, err := tenant.New(tenant.DefaultLabelKeys, []tenant.Mapping{{Namespace: "shop", Tenant: "static-shop"}})
	if err != nil {
		t.Fatal(err)
	}
	info := cgroup.Info{ContainerID: testCID, PodUID: uid, Runtime: cgroup.RuntimeCRI}
	ctr := &cri.Container{
		ID: testCID, Name: "app", Image: "docker.io/a/b:1", ImageParts: cri.Image{Repository: "docker.io/a/b", Tag: "1", Digest: "sha256:00"},
		PodName: "web-0", PodNamespace: "shop", PodUID: uid, Privileged: true, StartedAt: 42,
	}
	podLabels := map[string]string{"app": "web"}
	nsLabels := map[string]string{"capsule.clastix.io/tenant": "acme"}
	full := &kube.Snapshot{Gen: 3, Synced: true,
		Namespaces: map[string]*kube.Namespace{"shop": {Labels: nsLabels, Tenant: "acme"}},
		Pods:       map[string]*kube.Pod{uid: {Name: "web-0", Namespace: "shop", Labels: podLabels}},
	}
	base := event.Metadata{
		ContainerID: testCID[:12], ContainerFullID: testCID, ContainerName: "app", Image: "docker.io/a/b:1",
		ImageRepository: "docker.io/a/b", ImageTag: "1", ImageDigest: "sha256:00", Privileged: true, StartTS: 42,
		PodName: "web-0", PodUID: uid, Namespace: "shop", Cluster: "c1", Node: "n1",
	}
	with := func(f func(*event.Metadata)) event.Metadata { m := base; f(&m); return m }
	tests := []struct {
		name string
		kube bool
		wl   *workload
		snap *kube.Snapshot
		want event.Metadata
	}{
		{"nothing known", false, nil, nil, event.Metadata{Cluster: "c1", Node: "n1"}},
		{"host", false, &workload{host: true, final: true}, nil, event.Metadata{ContainerID: HostID, Cluster: "c1", Node: "n1", Complete: true}},
		{"path only, lookup running", false, &workload{info: info}, nil,
			event.Metadata{ContainerID: testCID[:12], ContainerFullID: testCID, PodUID: uid, Cluster: "c1", Node: "n1"}},
		{"runtime, no kubernetes: static tenant", false, &workload{info: info, ctr: ctr, final: true}, nil,
			with(func(m *event.Metadata) { m.Tenant = "static-shop"; m.Complete = true })},
		{"runtime and kubernetes", true, &workload{info: info, ctr: ctr, final: true}, full,
			with(func(m *event.Metadata) {
				m.PodLabels, m.NamespaceLabels, m.Tenant, m.Complete = podLabels, nsLabels, "acme", true
			})},
		{"kubernetes lacks the pod and namespace", true, &workload{info: info, ctr: ctr, final: true}, &kube.Snapshot{Gen: 1},
			with(func(m *event.Metadata) { m.Tenant = "static-shop" })},
		{"runtime failed: pod from kubernetes", true, &workload{info: info, final: true, err: errors.New("timeout")}, full,
			event.Metadata{ContainerID: testCID[:12], ContainerFullID: testCID, PodUID: uid, PodName: "web-0", Namespace: "shop",
				PodLabels: podLabels, NamespaceLabels: nsLabels, Tenant: "acme", Cluster: "c1", Node: "n1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Enricher{cfg: Config{ClusterName: "c1"}, node: "n1", tenants: tenants}
			if tt.kube {
				e.kube = kube.NewStaticWatcher(tt.snap)
			}
			got := e.build(tt.wl, tt.snap)
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("build\n got  %+v\n want %+v", *got, tt.want)
			}
		})
	}
}
