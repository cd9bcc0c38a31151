package rules

import (
	"sort"

	"github.com/vigilsec/vigil/pkg/event"
)

func metaStr(name, desc string, fn func(m *event.Metadata) string) *fieldDef {
	return strField(name, desc, func(c *Ctx) (string, bool) {
		if c.Ev.Meta == nil {
			return "", false
		}
		s := fn(c.Ev.Meta)
		return s, s != ""
	})
}

// podStr registers a field that exists only for events from a pod.
func podStr(name, desc string, fn func(m *event.Metadata) string) *fieldDef {
	return strField(name, desc, func(c *Ctx) (string, bool) {
		if c.Ev.Meta == nil || c.Ev.Meta.PodName == "" {
			return "", false
		}
		s := fn(c.Ev.Meta)
		return s, s != ""
	})
}

func labelField(name, desc string, labels func(m *event.Metadata) map[string]string) *fieldDef {
	return &fieldDef{name: name, typ: TypeString, desc: desc, arg: argKey, bind: func(key string, _ bool) (extractor, bool, error) {
		return func(c *Ctx, i int) (value, bool) {
			if i != 0 || c.Ev.Meta == nil {
				return value{}, false
			}
			v, ok := labels(c.Ev.Meta)[key]
			return value{s: v}, ok
		}, false, nil
	}}
}

// labelsField renders every label as "k1:v1, k2:v2", sorted by key.
func labelsField(name, desc string, labels func(m *event.Metadata) map[string]string) *fieldDef {
	return strField(name, desc, func(c *Ctx) (string, bool) {
		if c.Ev.Meta == nil {
			return "", false
		}
		m := labels(c.Ev.Meta)
		if len(m) == 0 {
			return "", false
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		start := len(c.buf)
		for i, k := range keys {
			if i > 0 {
				c.buf = append(c.buf, ", "...)
			}
			c.buf = append(c.buf, k...)
			c.buf = append(c.buf, ':')
			c.buf = append(c.buf, m[k]...)
		}
		return c.tail(start), true
	})
}

// peerStr registers a field of the pod owning one end of a socket, which
// end picks; the field is missing when that end is not a known pod.
func peerStr(name, desc string, end func(c *Ctx) *event.Peer, fn func(p *event.Peer) string) *fieldDef {
	return strField(name, desc, func(c *Ctx) (string, bool) {
		p := end(c)
		if p == nil {
			return "", false
		}
		s := fn(p)
		return s, s != ""
	})
}

func remotePeer(c *Ctx) *event.Peer { return c.Ev.Peer }
func localPeer(c *Ctx) *event.Peer  { return c.Ev.LocalPeer }

// serverPeer and clientPeer pick the local or the remote end's pod by
// whether this end is the server, as fd.sip and fd.cip pick their address.
func serverPeer(c *Ctx) *event.Peer {
	_, _, server, ok := endpoints(c)
	switch {
	case !ok:
		return nil
	case server:
		return c.Ev.LocalPeer
	}
	return c.Ev.Peer
}

func clientPeer(c *Ctx) *event.Peer {
	_, _, server, ok := endpoints(c)
	switch {
	case !ok:
		return nil
	case server:
		return c.Ev.Peer
	}
	return c.Ev.LocalPeer
}

// peerFields registers the namespace, pod and tenant fields of one end of
// a socket: fd.<end>.k8s.ns, fd.<end>.k8s.pod and fd.<end>.tenant.
func peerFields(end, what string, pick func(c *Ctx) *event.Peer) []*fieldDef {
	of := " of the pod owning the " + what + " IP of a socket (Vigil); missing unless that IP belongs to a pod of this node (host-network pods excluded)"
	return []*fieldDef{
		peerStr("fd."+end+".k8s.ns", "namespace"+of, pick, func(p *event.Peer) string { return p.Namespace }),
		peerStr("fd."+end+".k8s.pod", "name"+of, pick, func(p *event.Peer) string { return p.PodName }),
		peerStr("fd."+end+".tenant", "tenant"+of, pick, func(p *event.Peer) string { return p.Tenant }),
	}
}

func init() {
	register(
		metaStr("container.id", "12-character container id, or host", func(m *event.Metadata) string { return m.ContainerID }),
		metaStr("container.full_id", "full container id", func(m *event.Metadata) string { return m.ContainerFullID }),
		metaStr("container.name", "container name", func(m *event.Metadata) string { return m.ContainerName }),
		metaStr("container.image", "container image reference", func(m *event.Metadata) string { return m.Image }),
		metaStr("container.image.repository", "repository of the container image", func(m *event.Metadata) string { return m.ImageRepository }),
		metaStr("container.image.tag", "tag of the container image", func(m *event.Metadata) string { return m.ImageTag }),
		metaStr("container.image.digest", "digest of the container image", func(m *event.Metadata) string { return m.ImageDigest }),
		boolField("container.privileged", "the container is privileged", func(c *Ctx) (bool, bool) {
			if c.Ev.Meta == nil || c.Ev.Meta.ContainerID == "" || c.Ev.Meta.ContainerID == "host" {
				return false, false
			}
			return c.Ev.Meta.Privileged, true
		}),
		numField("container.start_ts", TypeUint, "container start time, Unix ns", func(c *Ctx) (int64, bool) {
			if c.Ev.Meta == nil || c.Ev.Meta.StartTS == 0 {
				return 0, false
			}
			return c.Ev.Meta.StartTS, true
		}),
		notCarried("container.mounts", TypeString, argNone, "mounts of the container"),
		notCarried("container.mount.dest", TypeString, argKey, "mount whose destination matches the argument"),
		notCarried("container.mount.source", TypeString, argKey, "source of the mount whose destination matches the argument"),
		podStr("k8s.ns.name", "Kubernetes namespace of the pod", func(m *event.Metadata) string { return m.Namespace }),
		podStr("k8s.pod.name", "Kubernetes pod name", func(m *event.Metadata) string { return m.PodName }),
		podStr("k8s.pod.uid", "Kubernetes pod uid", func(m *event.Metadata) string { return m.PodUID }),
		labelField("k8s.pod.label", "value of a pod label: k8s.pod.label[app]", func(m *event.Metadata) map[string]string { return m.PodLabels }),
		labelsField("k8s.pod.labels", "every pod label as key:value, comma-separated", func(m *event.Metadata) map[string]string { return m.PodLabels }),
		labelField("k8s.ns.label", "value of a namespace label: k8s.ns.label[team]", func(m *event.Metadata) map[string]string { return m.NamespaceLabels }),
		labelsField("k8s.ns.labels", "every namespace label as key:value, comma-separated", func(m *event.Metadata) map[string]string { return m.NamespaceLabels }),
		metaStr("k8s.node.name", "Kubernetes node name", func(m *event.Metadata) string { return m.Node }),
		metaStr("k8s.cluster.name", "configured cluster name", func(m *event.Metadata) string { return m.Cluster }),
		metaStr("tenant.name", "tenant of the pod's namespace (Vigil); missing for host processes and namespaces without a tenant", func(m *event.Metadata) string { return m.Tenant }),
	)
	register(peerFields("rip", "remote", remotePeer)...)
	register(peerFields("lip", "local", localPeer)...)
	register(peerFields("sip", "server", serverPeer)...)
	register(peerFields("cip", "client", clientPeer)...)
}
