package cgroup

import "strings"

// Runtimes named in Info.Runtime.
const (
	RuntimeContainerd = "containerd"
	RuntimeCRIO       = "cri-o"
	RuntimeDocker     = "docker"
	RuntimePodman     = "podman"
	RuntimeRunc       = "runc"
	// RuntimeCRI is a container of a Kubernetes pod whose runtime the path
	// does not name (kubelet's cgroupfs layout).
	RuntimeCRI = "cri"
)

// Info is what a cgroup path tells about the workload in it.
type Info struct {
	// ContainerID is the full (64 hex digits) container id, empty for host
	// cgroups.
	ContainerID string
	// PodUID is the Kubernetes pod uid (with dashes), empty outside pods.
	PodUID string
	// Runtime names the runtime that created the container, when the path
	// tells (one of the Runtime constants).
	Runtime string
	// Namespace is containerd's namespace for the /<namespace>/<id> layout.
	Namespace string
	// QOS is the pod's QoS class slice (besteffort, burstable, or empty for
	// guaranteed pods).
	QOS string
}

// IsContainer reports whether the path belongs to a container.
func (i Info) IsContainer() bool { return i.ContainerID != "" }

// ShortID returns the 12-character short container id.
func (i Info) ShortID() string { return ShortID(i.ContainerID) }

// ShortID returns the first 12 characters of a container id.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// scopePrefixes are the systemd scope prefixes runtimes use, mapped to the
// runtime; the scope is "<prefix><id>.scope".
var scopePrefixes = []struct{ prefix, runtime string }{
	{"cri-containerd-", RuntimeContainerd},
	{"crio-", RuntimeCRIO},
	{"docker-", RuntimeDocker},
	{"libpod-", RuntimePodman},
	{"runc-", RuntimeRunc},
}

// Parse reads the container id, pod uid and runtime from a cgroup path
// (relative to the cgroup2 mount, starting with "/"). It recognises:
//
//	/kubepods/<qos>/pod<uid>/<id>                                  kubelet, cgroupfs
//	/kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid>.slice/cri-containerd-<id>.scope
//	.../crio-<id>.scope, .../docker-<id>.scope                     kubelet, systemd
//	/system.slice/containerd.service/kubepods-<qos>-pod<uid>.slice:cri-containerd:<id>
//	                                                               systemd driver, hybrid hierarchy
//	/docker/<id>, /system.slice/docker-<id>.scope                  Docker
//	/<namespace>/<id>                                              containerd (ctr, nerdctl)
//	/<id>, /system.slice/runc-<id>.scope                           plain runc
//
// The innermost container wins for nested layouts. A path without a
// container id yields an Info with only what it tells (possibly nothing).
func Parse(path string) Info {
	var info Info
	path = strings.Trim(path, "/")
	if path == "" {
		return info
	}
	comps := strings.Split(path, "/")
	idIdx := -1
	for i := len(comps) - 1; i >= 0 && idIdx < 0; i-- {
		id, rt, ok := containerComponent(comps[i])
		if ok {
			info.ContainerID, info.Runtime, idIdx = id, rt, i
		}
	}
	for i, c := range comps {
		if idIdx >= 0 && i > idIdx {
			break
		}
		if uid, qos, ok := podComponent(c); ok {
			info.PodUID = uid
			if qos != "" {
				info.QOS = qos
			}
		} else if c == "besteffort" || c == "burstable" {
			info.QOS = c
		}
	}
	if info.ContainerID == "" || info.Runtime != "" {
		return info
	}
	// A bare id: the runtime follows from where it sits.
	switch {
	case info.PodUID != "":
		info.Runtime = RuntimeCRI
	case idIdx > 0 && comps[idIdx-1] == "docker":
		info.Runtime = RuntimeDocker
	case idIdx == 1 && len(comps) == 2:
		info.Runtime, info.Namespace = RuntimeContainerd, comps[0]
	case idIdx == 0 && len(comps) == 1:
		info.Runtime = RuntimeRunc
	}
	return info
}

// containerComponent reports whether one path component names a container:
// a bare id, a systemd scope of a runtime, or the unconverted systemd form
// "<slice>:<prefix>:<id>".
func containerComponent(c string) (id, runtime string, ok bool) {
	if isContainerID(c) {
		return c, "", true
	}
	if scope, found := strings.CutSuffix(c, ".scope"); found {
		for _, p := range scopePrefixes {
			if rest, found := strings.CutPrefix(scope, p.prefix); found && isContainerID(rest) {
				return rest, p.runtime, true
			}
		}
		return "", "", false
	}
	if parts := strings.Split(c, ":"); len(parts) == 3 && isContainerID(parts[2]) {
		for _, p := range scopePrefixes {
			if parts[1]+"-" == p.prefix {
				return parts[2], p.runtime, true
			}
		}
	}
	return "", "", false
}

// podComponent reports whether c names a pod: "pod<uid>" (cgroupfs) or
// "kubepods[-<qos>]-pod<uid_with_underscores>.slice" (systemd), possibly
// followed by ":<prefix>:<id>" (unconverted systemd form).
func podComponent(c string) (uid, qos string, ok bool) {
	if rest, found := strings.CutPrefix(c, "pod"); found {
		if isUUID(rest) {
			return rest, "", true
		}
		return "", "", false
	}
	if i := strings.IndexByte(c, ':'); i >= 0 {
		c = c[:i]
	}
	slice, found := strings.CutSuffix(c, ".slice")
	if !found {
		return "", "", false
	}
	slice, found = strings.CutPrefix(slice, "kubepods-")
	if !found {
		return "", "", false
	}
	i := strings.LastIndex(slice, "pod")
	if i < 0 {
		return "", "", false
	}
	if i > 0 {
		if slice[i-1] != '-' {
			return "", "", false
		}
		qos = slice[:i-1]
	}
	uid = strings.ReplaceAll(slice[i+3:], "_", "-")
	if !isUUID(uid) {
		return "", "", false
	}
	return uid, qos, true
}

// isContainerID reports whether s is 64 lower-case hex digits.
func isContainerID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// isUUID reports whether s has the 8-4-4-4-12 hex form of a pod uid.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }
