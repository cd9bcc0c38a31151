package enrich

import (
	"github.com/vigilsec/vigil/pkg/enrich/cgroup"
	"github.com/vigilsec/vigil/pkg/enrich/kube"
	"github.com/vigilsec/vigil/pkg/event"
)

// HostID is the container id of host processes.
const HostID = "host"

// build derives the metadata events of a cgroup get from what the lookup
// found and the Kubernetes snapshot (nil without Kubernetes). Metadata is
// immutable once built: entries swap in a new one when anything changes.
func (e *Enricher) build(wl *workload, snap *kube.Snapshot) *event.Metadata {
	m := &event.Metadata{Cluster: e.cfg.ClusterName, Node: e.node}
	if wl == nil {
		return m
	}
	if wl.host {
		m.ContainerID = HostID
		m.Complete = wl.final
		return m
	}
	// A pod's container the runtime does not know is not complete: the
	// runtime should know it, and soon will.
	complete := wl.final && wl.err == nil && !(wl.unknown && wl.info.PodUID != "")
	m.ContainerFullID = wl.info.ContainerID
	m.ContainerID = cgroup.ShortID(wl.info.ContainerID)
	podUID := wl.info.PodUID
	if c := wl.ctr; c != nil {
		m.ContainerName = c.Name
		m.Image = c.Image
		m.ImageRepository, m.ImageTag, m.ImageDigest = c.ImageParts.Repository, c.ImageParts.Tag, c.ImageParts.Digest
		m.Privileged = c.Privileged
		m.StartTS = c.StartedAt
		m.PodName, m.Namespace = c.PodName, c.PodNamespace
		if c.PodUID != "" {
			podUID = c.PodUID
		}
	}
	m.PodUID = podUID
	kubeOn := e.kube != nil
	if podUID != "" && kubeOn {
		if p := snap.Pod(podUID); p != nil {
			m.PodLabels = p.Labels
			if m.PodName == "" {
				m.PodName = p.Name
			}
			if m.Namespace == "" {
				m.Namespace = p.Namespace
			}
		} else {
			complete = false
		}
	}
	if m.Namespace != "" {
		if ns := snap.Namespace(m.Namespace); ns != nil {
			m.NamespaceLabels = ns.Labels
			m.Tenant = ns.Tenant
		} else {
			m.Tenant = e.tenants.Tenant(m.Namespace, nil)
			if kubeOn {
				complete = false
			}
		}
	}
	m.Complete = complete
	return m
}
