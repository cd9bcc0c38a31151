package kube

import (
	"net/netip"

	"github.com/vigilsec/vigil/pkg/event"
)

// Namespace is what a snapshot holds of one namespace.
type Namespace struct {
	// Labels are the namespace's labels (shared, never modify).
	Labels map[string]string
	// Tenant is the namespace's tenant, empty when none.
	Tenant string
}

// Pod is what a snapshot holds of one pod of this node.
type Pod struct {
	// Name and Namespace identify the pod.
	Name, Namespace string
	// Labels are the pod's labels (shared, never modify).
	Labels map[string]string
}

// Snapshot is an immutable view of the watched objects. Gen grows with every
// published change, so a reader can tell whether what it derived is stale.
type Snapshot struct {
	// Gen is the snapshot's generation, 1 for the first one.
	Gen uint64
	// Synced reports that the informers had listed everything once.
	Synced bool
	// Namespaces maps namespace names to namespaces.
	Namespaces map[string]*Namespace
	// Pods maps pod uids to the pods of this node.
	Pods map[string]*Pod
	// Peers maps pod IPs (of this node's pods, host-network pods excluded)
	// to the pod's identity.
	Peers map[netip.Addr]*event.Peer
}

// Namespace returns the namespace with the given name, or nil.
func (s *Snapshot) Namespace(name string) *Namespace {
	if s == nil {
		return nil
	}
	return s.Namespaces[name]
}

// Pod returns the pod with the given uid, or nil.
func (s *Snapshot) Pod(uid string) *Pod {
	if s == nil {
		return nil
	}
	return s.Pods[uid]
}

// Peer returns the pod owning ip, or nil.
func (s *Snapshot) Peer(ip netip.Addr) *event.Peer {
	if s == nil || len(s.Peers) == 0 {
		return nil
	}
	return s.Peers[ip.Unmap()]
}
