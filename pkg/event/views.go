package event

import "net/netip"

// Process is the state stage's view of a process (thread group). Ancestry is
// followed through Parent; the state stage keeps exited ancestors alive for a
// grace period so that a child's chain stays complete.
type Process struct {
	// Pid is the thread-group id; PPid the parent's.
	Pid, PPid uint32
	// Name is the process name (Falco's proc.name: the comm, or the
	// basename of the executable after exec).
	Name string
	// Exe is the first command-line argument as the program was started
	// (Falco's proc.exe).
	Exe string
	// ExePath is the full path of the executable (proc.exepath).
	ExePath string
	// Args are the command-line arguments without argv[0].
	Args []string
	// Cwd is the current working directory, with a trailing slash removed.
	Cwd string
	// UID, GID and LoginUID are the credentials as last seen; UID and GID
	// are the effective ids (Falco's user.uid and group.gid).
	UID, GID, LoginUID uint32
	// CapEffective is the effective capability set as last seen.
	CapEffective uint64
	// TTY is the controlling terminal, 0 when none.
	TTY uint32
	// StartTS is the process start time (fork/clone, kept across exec, as
	// Falco's proc.duration counts it) in Unix ns.
	StartTS int64
	// SID is the session id; the session leader is found through it.
	SID uint32
	// VPid is the pid inside the process's own pid namespace.
	VPid uint32
	// CgroupID is the cgroup v2 id as last seen.
	CgroupID uint64
	// ExeFromMemfd and ExeUpperLayer describe where the executable came from.
	ExeFromMemfd, ExeUpperLayer bool
	// ExeInoCtime and ExeInoMtime are the executable inode's times (Unix ns).
	ExeInoCtime, ExeInoMtime int64
	// Parent is the parent process, nil when unknown or the root.
	Parent *Process
	// Exited reports that the process has exited and waits to be reaped.
	Exited bool
}

// Ancestor returns the n-th ancestor: 0 is p itself, 1 the parent. It
// returns nil when the chain is shorter.
func (p *Process) Ancestor(n int) *Process {
	for ; p != nil && n > 0; n-- {
		p = p.Parent
	}
	return p
}

// CmdLine returns the name followed by the arguments, space-separated
// (Falco's proc.cmdline).
func (p *Process) CmdLine() string {
	n := len(p.Name)
	for _, a := range p.Args {
		n += 1 + len(a)
	}
	b := make([]byte, 0, n)
	b = append(b, p.Name...)
	for _, a := range p.Args {
		b = append(b, ' ')
		b = append(b, a...)
	}
	return string(b)
}

// FDType is the kind of object a file descriptor refers to (Falco's
// fd.typechar in parentheses).
type FDType uint8

// File descriptor kinds.
const (
	FDUnknown   FDType = iota
	FDFile             // f
	FDDirectory        // d
	FDIPv4             // 4
	FDIPv6             // 6
	FDUnix             // u
	FDPipe             // p
	FDEvent            // e
	FDSignal           // s
	FDInotify          // i
	FDTimer            // t
	FDNetlink          // n
	FDMemfd            // m (a memfd is a file for fd.type "file")
	FDBPF              // b
)

// TypeChar returns Falco's one-letter code for t (fd.typechar).
func (t FDType) TypeChar() byte {
	return "?fd46upesitnmb"[t]
}

// String returns Falco's fd.type name for t.
func (t FDType) String() string {
	switch t {
	case FDFile, FDMemfd:
		return "file"
	case FDDirectory:
		return "directory"
	case FDIPv4:
		return "ipv4"
	case FDIPv6:
		return "ipv6"
	case FDUnix:
		return "unix"
	case FDPipe:
		return "pipe"
	case FDEvent:
		return "event"
	case FDSignal:
		return "signalfd"
	case FDInotify:
		return "inotify"
	case FDTimer:
		return "timerfd"
	case FDNetlink:
		return "netlink"
	case FDBPF:
		return "bpf"
	}
	return "unknown"
}

// FD is the state stage's view of one file descriptor of a process.
type FD struct {
	// Num is the descriptor number.
	Num int32
	// Type is the kind of object.
	Type FDType
	// Name is the absolute path for files and directories, the socket path
	// for unix sockets; for IP sockets the state stage leaves it empty and
	// fd.name is formatted from the tuple.
	Name string
	// NameRaw is the path as the process passed it, before resolution.
	NameRaw string
	// OpenFlags are the flags the file was opened with.
	OpenFlags uint64
	// Domain, SockType and Protocol describe a socket.
	Domain, SockType, Protocol int32
	// Local and Remote are the socket endpoints (client → server order is
	// given by Role).
	Local, Remote netip.AddrPort
	// Server reports that this end accepted the connection (fd.is_server).
	Server bool
	// Connected reports that the socket has a peer.
	Connected bool
	// NameChanged reports that this event changed the fd's name (connect,
	// bind, accept).
	NameChanged bool
}

// Metadata is the enrich stage's view of the workload an event belongs to.
// Host processes get ContainerID "host" and empty pod fields; Meta is nil only
// when no enrich stage runs.
type Metadata struct {
	// ContainerID is the 12-character short id, or "host".
	ContainerID string
	// ContainerFullID is the full container id.
	ContainerFullID string
	// ContainerName is the container's name.
	ContainerName string
	// Image is the full image reference; ImageRepository, ImageTag and
	// ImageDigest are its parts.
	Image, ImageRepository, ImageTag, ImageDigest string
	// Privileged reports a privileged container.
	Privileged bool
	// StartTS is the container start time in Unix ns.
	StartTS int64
	// PodName, PodUID and PodLabels describe the pod.
	PodName, PodUID string
	// PodLabels are the pod's labels.
	PodLabels map[string]string
	// Namespace and NamespaceLabels describe the pod's namespace.
	Namespace string
	// NamespaceLabels are the namespace's labels.
	NamespaceLabels map[string]string
	// Cluster is the configured cluster name.
	Cluster string
	// Node is the node name.
	Node string
	// Tenant is the tenant of the namespace, empty when none.
	Tenant string
	// Complete reports that every source (runtime, API server) answered;
	// false when the event went on after the enrichment wait timed out.
	Complete bool
}

// Peer is what the enrich stage knows of one end of a socket (remote or
// local): the pod that owns its IP, when it is a pod of the cluster.
type Peer struct {
	// PodName, Namespace and Tenant identify the pod.
	PodName, Namespace, Tenant string
}
