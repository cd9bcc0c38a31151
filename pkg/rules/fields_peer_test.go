package rules

import (
	"net/netip"
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
)

// Two pods of different tenants on one node, and the node itself.
var (
	webPod  = &event.Peer{PodName: "web-0", Namespace: "shop", Tenant: "acme"}
	dbPod   = &event.Peer{PodName: "db-0", Namespace: "data", Tenant: "other"}
	webAddr = netip.MustParseAddrPort("10.244.0.5:41000")
	dbAddr  = netip.MustParseAddrPort("10.244.0.9:5432")
	nodeIP  = netip.MustParseAddrPort("192.168.10.7:38000")
)

// socketEvent is a connect (client end) or accept (server end) on an IPv4
// TCP socket with the pods the enrich stage found at each end.
func socketEvent(typ event.Type, local, remote netip.AddrPort, localPod, remotePod *event.Peer, meta *event.Metadata) *event.Event {
	return &event.Event{Num: 1, Type: typ, Timestamp: 2_000_000_000, Pid: 40, Tid: 40,
		Proc: &event.Process{Pid: 40, Name: "app"},
		FD: &event.FD{Num: 3, Type: event.FDIPv4, Connected: true, Server: typ == event.TypeAccept4,
			Local: local, Remote: remote},
		Meta: meta, Peer: remotePod, LocalPeer: localPod,
	}
}

// webConnects is web-0 (tenant acme) connecting to db-0 (tenant other);
// dbAccepts is the same connection accepted by db-0; hostNetConnects is a
// host-network pod connecting to db-0 from the node's IP, which no pod owns.
func webConnects() *event.Event {
	return socketEvent(event.TypeConnect, webAddr, dbAddr, webPod, dbPod,
		&event.Metadata{ContainerID: "4f1d2b9c8a7e", PodName: "web-0", Namespace: "shop", Tenant: "acme"})
}

func dbAccepts() *event.Event {
	return socketEvent(event.TypeAccept4, dbAddr, webAddr, dbPod, webPod,
		&event.Metadata{ContainerID: "9a8b7c6d5e4f", PodName: "db-0", Namespace: "data", Tenant: "other"})
}

func hostNetConnects() *event.Event {
	return socketEvent(event.TypeConnect, nodeIP, dbAddr, nil, dbPod,
		&event.Metadata{ContainerID: "1a2b3c4d5e6f", PodName: "node-agent", Namespace: "infra", Tenant: "platform"})
}

// TestSocketEndFields extracts the pod fields of every end of a socket
// (remote, local, server, client) for each side of a connection between
// two tenants, and for a host-network client whose local end is unknown.
func TestSocketEndFields(t *testing.T) {
	type want struct{ ns, pod, tenant any } // nil: missing
	web := want{"shop", "web-0", "acme"}
	db := want{"data", "db-0", "other"}
	missing := want{}
	tests := []struct {
		event string
		ev    func() *event.Event
		end   string
		want  want
	}{
		{"connect", webConnects, "rip", db},
		{"connect", webConnects, "lip", web},
		{"connect", webConnects, "sip", db},
		{"connect", webConnects, "cip", web},
		{"accept", dbAccepts, "rip", web},
		{"accept", dbAccepts, "lip", db},
		{"accept", dbAccepts, "sip", db},
		{"accept", dbAccepts, "cip", web},
		{"host-network connect", hostNetConnects, "rip", db},
		{"host-network connect", hostNetConnects, "lip", missing},
		{"host-network connect", hostNetConnects, "sip", db},
		{"host-network connect", hostNetConnects, "cip", missing},
	}
	e := NewEvaluator(EvalOptions{})
	for _, tt := range tests {
		for _, f := range []struct {
			suffix string
			want   any
		}{{"k8s.ns", tt.want.ns}, {"k8s.pod", tt.want.pod}, {"tenant", tt.want.tenant}} {
			field := "fd." + tt.end + "." + f.suffix
			got, err := e.Extract(field, tt.ev())
			if err != nil {
				t.Errorf("%s: %s: %v", tt.event, field, err)
				continue
			}
			if got != f.want {
				t.Errorf("%s: %s = %#v, want %#v", tt.event, field, got, f.want)
			}
		}
	}
}

// TestSocketEndConditions evaluates rule conditions on the end fields: a
// cross-tenant connection is seen from either side, and a missing local end
// fails every check but `not ... exists`.
func TestSocketEndConditions(t *testing.T) {
	tests := []struct {
		event string
		ev    *event.Event
		cond  string
		want  bool
	}{
		{"connect", webConnects(), "fd.sip.tenant != val(fd.cip.tenant)", true},
		{"connect", webConnects(), "fd.lip.tenant = val(tenant.name) and fd.rip.tenant != val(tenant.name)", true},
		{"connect", webConnects(), "fd.sip.k8s.ns = data and fd.cip.k8s.pod = web-0", true},
		{"connect", webConnects(), "fd.is_server = false and fd.cip.k8s.ns = val(fd.lip.k8s.ns)", true},
		{"accept", dbAccepts(), "fd.sip.tenant != val(fd.cip.tenant)", true},
		{"accept", dbAccepts(), "fd.is_server = true and fd.sip.k8s.pod = val(fd.lip.k8s.pod)", true},
		{"accept", dbAccepts(), "fd.cip.tenant = acme and fd.rip.k8s.ns = shop", true},
		{"host-network connect", hostNetConnects(), "fd.lip.tenant exists", false},
		{"host-network connect", hostNetConnects(), "fd.cip.k8s.pod exists", false},
		{"host-network connect", hostNetConnects(), "not fd.lip.k8s.ns exists", true},
		{"host-network connect", hostNetConnects(), "fd.lip.tenant != acme", false},
		{"host-network connect", hostNetConnects(), "fd.sip.tenant != val(fd.cip.tenant)", false},
		{"host-network connect", hostNetConnects(), "fd.sip.tenant exists and fd.sip.tenant != val(tenant.name)", true},
	}
	for _, tt := range tests {
		got, err := evalCond(t, tt.cond, tt.ev)
		if err != nil {
			t.Errorf("%s: %s: %v", tt.event, tt.cond, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: %s = %v, want %v", tt.event, tt.cond, got, tt.want)
		}
	}
}
