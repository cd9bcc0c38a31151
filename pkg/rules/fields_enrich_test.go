package rules

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
)

const enrichCID = "4f1d2b9c8a7e6d5c4b3a29180706f5e4d3c2b1a09f8e7d6c5b4a392817060504"

// enrichedConnect is a connect from a pod container of tenant acme to a pod
// of tenant other, with every enrichment field filled.
func enrichedConnect() *event.Event {
	return &event.Event{Num: 1, Type: event.TypeConnect, Timestamp: 2_000_000_000, Pid: 40, Tid: 40, Comm: "curl",
		Proc: &event.Process{Pid: 40, Name: "curl", Exe: "curl", ExePath: "/usr/bin/curl"},
		FD: &event.FD{Num: 3, Type: event.FDIPv4, Connected: true,
			Local: netip.MustParseAddrPort("10.244.0.5:41000"), Remote: netip.MustParseAddrPort("10.244.1.9:5432")},
		Meta: &event.Metadata{
			ContainerID: enrichCID[:12], ContainerFullID: enrichCID, ContainerName: "app",
			Image:           "registry.example.com:5000/shop/web:1.4@sha256:2d1a5c7e9b3f4a6c8e0d2f4b6a8c0e2d4f6a8b0c2e4d6f8a0b2c4e6d8f0a2b4c",
			ImageRepository: "registry.example.com:5000/shop/web", ImageTag: "1.4",
			ImageDigest: "sha256:2d1a5c7e9b3f4a6c8e0d2f4b6a8c0e2d4f6a8b0c2e4d6f8a0b2c4e6d8f0a2b4c",
			Privileged:  true, StartTS: 1_700_000_000_000_000_000,
			PodName: "web-0", PodUID: "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
			PodLabels: map[string]string{"app": "web", "tier": "front"},
			Namespace: "shop", NamespaceLabels: map[string]string{"capsule.clastix.io/tenant": "acme", "team": "pay"},
			Cluster: "prod-eu", Node: "node-7", Tenant: "acme", Complete: true,
		},
		Peer: &event.Peer{PodName: "db-0", Namespace: "data", Tenant: "other"},
	}
}

// hostOpen is an open by a host process: the enrich stage gives it
// container id "host", the cluster and node, and nothing else.
func hostOpen() *event.Event {
	return &event.Event{Num: 2, Type: event.TypeOpenat, Timestamp: 2_000_000_000, Pid: 1, Tid: 1, Comm: "systemd",
		Proc: &event.Process{Pid: 1, Name: "systemd"},
		FD:   &event.FD{Num: 5, Type: event.FDFile, Name: "/etc/hosts"},
		Meta: &event.Metadata{ContainerID: "host", Cluster: "prod-eu", Node: "node-7", Complete: true},
	}
}

// TestEnrichmentFieldsExtract reads every enrichment field through the
// registered extractors, as outputs and exceptions do.
func TestEnrichmentFieldsExtract(t *testing.T) {
	tests := []struct {
		event string
		ev    *event.Event
		field string
		want  any // nil: missing
	}{
		{"pod", enrichedConnect(), "container.id", enrichCID[:12]},
		{"pod", enrichedConnect(), "container.full_id", enrichCID},
		{"pod", enrichedConnect(), "container.name", "app"},
		{"pod", enrichedConnect(), "container.image", "registry.example.com:5000/shop/web:1.4@sha256:2d1a5c7e9b3f4a6c8e0d2f4b6a8c0e2d4f6a8b0c2e4d6f8a0b2c4e6d8f0a2b4c"},
		{"pod", enrichedConnect(), "container.image.repository", "registry.example.com:5000/shop/web"},
		{"pod", enrichedConnect(), "container.image.tag", "1.4"},
		{"pod", enrichedConnect(), "container.image.digest", "sha256:2d1a5c7e9b3f4a6c8e0d2f4b6a8c0e2d4f6a8b0c2e4d6f8a0b2c4e6d8f0a2b4c"},
		{"pod", enrichedConnect(), "container.privileged", true},
		{"pod", enrichedConnect(), "container.start_ts", uint64(1_700_000_000_000_000_000)},
		{"pod", enrichedConnect(), "k8s.pod.name", "web-0"},
		{"pod", enrichedConnect(), "k8s.pod.uid", "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"},
		{"pod", enrichedConnect(), "k8s.pod.labels", "app:web, tier:front"},
		{"pod", enrichedConnect(), "k8s.pod.label[tier]", "front"},
		{"pod", enrichedConnect(), "k8s.pod.label[nope]", nil},
		{"pod", enrichedConnect(), "k8s.ns.name", "shop"},
		{"pod", enrichedConnect(), "k8s.ns.labels", "capsule.clastix.io/tenant:acme, team:pay"},
		{"pod", enrichedConnect(), "k8s.ns.label[team]", "pay"},
		{"pod", enrichedConnect(), "k8s.ns.label[capsule.clastix.io/tenant]", "acme"},
		{"pod", enrichedConnect(), "k8s.cluster.name", "prod-eu"},
		{"pod", enrichedConnect(), "k8s.node.name", "node-7"},
		{"pod", enrichedConnect(), "tenant.name", "acme"},
		{"pod", enrichedConnect(), "fd.rip.k8s.ns", "data"},
		{"pod", enrichedConnect(), "fd.rip.k8s.pod", "db-0"},
		{"pod", enrichedConnect(), "fd.rip.tenant", "other"},

		{"host", hostOpen(), "container.id", "host"},
		{"host", hostOpen(), "container.name", nil},
		{"host", hostOpen(), "container.image", nil},
		{"host", hostOpen(), "container.privileged", nil},
		{"host", hostOpen(), "container.start_ts", nil},
		{"host", hostOpen(), "k8s.pod.name", nil},
		{"host", hostOpen(), "k8s.pod.labels", nil},
		{"host", hostOpen(), "k8s.ns.name", nil},
		{"host", hostOpen(), "k8s.ns.label[team]", nil},
		{"host", hostOpen(), "k8s.cluster.name", "prod-eu"},
		{"host", hostOpen(), "k8s.node.name", "node-7"},
		{"host", hostOpen(), "tenant.name", nil},
		{"host", hostOpen(), "fd.rip.tenant", nil},
	}
	e := NewEvaluator(EvalOptions{})
	for _, tt := range tests {
		got, err := e.Extract(tt.field, tt.ev)
		if err != nil {
			t.Errorf("%s event: %s: %v", tt.event, tt.field, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s event: %s = %#v, want %#v", tt.event, tt.field, got, tt.want)
		}
	}
}

// TestEnrichmentFieldConditions evaluates conditions on the enrichment
// fields, including how rules test a host process's missing tenant.
func TestEnrichmentFieldConditions(t *testing.T) {
	tests := []struct {
		event string
		ev    *event.Event
		cond  string
		want  bool
	}{
		{"pod", enrichedConnect(), "container.id != host and container.privileged = true", true},
		{"pod", enrichedConnect(), "container.image.repository endswith /shop/web and container.image.tag = 1.4", true},
		{"pod", enrichedConnect(), "k8s.pod.label[app] = web and k8s.ns.label[team] = pay", true},
		{"pod", enrichedConnect(), "k8s.pod.labels contains tier:front", true},
		{"pod", enrichedConnect(), "tenant.name exists and tenant.name = acme", true},
		{"pod", enrichedConnect(), "fd.rip.tenant exists and fd.rip.tenant != val(tenant.name)", true},
		{"pod", enrichedConnect(), "fd.rip.k8s.ns = data and fd.rip.k8s.pod = db-0", true},
		{"pod", enrichedConnect(), "k8s.cluster.name = prod-eu and k8s.node.name = node-7", true},
		{"pod", enrichedConnect(), "container.start_ts > 0", true},
		{"host", hostOpen(), "container.id = host", true},
		{"host", hostOpen(), "tenant.name exists", false},
		{"host", hostOpen(), "not tenant.name exists", true},
		{"host", hostOpen(), "tenant.name = acme", false},
		{"host", hostOpen(), "k8s.ns.name exists", false},
		{"host", hostOpen(), "container.privileged = false", false},
		{"host", hostOpen(), "k8s.node.name = node-7", true},
	}
	for _, tt := range tests {
		doc := "- rule: T\n  desc: t\n  condition: " + tt.cond + "\n  output: o\n  priority: INFO\n"
		rs, _, err := LoadBytes("enrich.yaml", []byte(doc))
		if err != nil {
			t.Errorf("%s: %v", tt.cond, err)
			continue
		}
		r := rs.Rules()[0]
		e := NewEvaluator(EvalOptions{})
		e.Begin(rs, tt.ev)
		got, err := e.Match(r)
		if err != nil {
			t.Errorf("%s event: %s: %v", tt.event, tt.cond, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s event: %s = %v, want %v", tt.event, tt.cond, got, tt.want)
		}
	}
	// Every field the issue lists is registered.
	names := map[string]bool{}
	for _, f := range Fields() {
		names[f.Name] = true
	}
	for _, n := range strings.Fields(`container.id container.name container.image container.image.repository
		container.image.tag container.image.digest container.privileged container.start_ts k8s.pod.name k8s.pod.uid
		k8s.pod.labels k8s.pod.label k8s.ns.name k8s.ns.labels k8s.ns.label k8s.cluster.name k8s.node.name
		tenant.name fd.rip.k8s.ns fd.rip.k8s.pod fd.rip.tenant fd.lip.k8s.ns fd.lip.k8s.pod fd.lip.tenant
		fd.sip.k8s.ns fd.sip.k8s.pod fd.sip.tenant fd.cip.k8s.ns fd.cip.k8s.pod fd.cip.tenant`) {
		if !names[n] {
			t.Errorf("field %s is not registered", n)
		}
	}
}
