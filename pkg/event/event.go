// Package event defines Vigil's event model: the Event decoded from one kernel
// record, and the process, file-descriptor and workload views that later
// stages attach to it before rules see it.
//
// Every stage of the pipeline (probe → decode → state → enrich → engine) reads
// and fills the same *Event. The hot path runs on one goroutine, so an Event
// and the views it points to are never shared across goroutines while they
// are being filled; anything that outlives the event (an alert) copies what it
// needs.
package event

import "net/netip"

// Event is one syscall or process-lifecycle event, complete with its
// arguments and return value, plus the views later stages attach.
type Event struct {
	// Num is a per-agent sequence number, starting at 1 (Falco's evt.num).
	Num uint64
	// Type is the architecture-independent event type.
	Type Type
	// Syscall is the raw syscall number on the recording architecture, or
	// -1 for events that are not syscalls (process exit).
	Syscall int32
	// Timestamp is the wall-clock time of the event in Unix nanoseconds.
	Timestamp int64
	// CPU is the processor that produced the record.
	CPU uint32

	// Pid is the thread-group id (the process), Tid the thread id, PPid
	// the parent's thread-group id, all in the initial pid namespace.
	Pid, Tid, PPid uint32
	// UID, GID, EUID and EGID are the thread's credentials; LoginUID is its
	// audit login uid (0xffffffff when unset).
	UID, GID, EUID, EGID, LoginUID uint32
	// CapEffective is the effective capability set.
	CapEffective uint64
	// TTY is the controlling terminal's device number, 0 when none.
	TTY uint32
	// CgroupID is the cgroup v2 id of the thread (the inode of its cgroup
	// directory).
	CgroupID uint64
	// PidNS and MntNS are the inode numbers of the pid and mount namespaces.
	PidNS, MntNS uint32
	// Comm is the thread's command name (up to 15 bytes).
	Comm string

	// Ret is the syscall's return value (negative errno on failure).
	Ret int64

	// Args holds the syscall arguments captured at entry.
	Args Args

	// Proc is the process view, attached by the state stage.
	Proc *Process
	// FD is the file descriptor this event concerns (opened, used, or
	// duplicated), attached by the state stage; nil when none.
	FD *FD
	// Meta is the workload view (container, pod, namespace, tenant),
	// attached by the enrich stage; nil for host processes or before
	// enrichment.
	Meta *Metadata
	// Peer describes the remote pod of a socket event (FD.Remote), attached
	// by the enrich stage; nil when the remote end is not a known pod.
	Peer *Peer
	// LocalPeer describes the pod owning the local address of a socket
	// event (FD.Local), attached by the enrich stage; nil when that address
	// is not a pod IP of this node (the host's, or a host-network pod's).
	LocalPeer *Peer
}

// Failed reports whether the syscall returned an error.
func (e *Event) Failed() bool { return e.Ret < 0 }

// Args holds the arguments of every supported syscall in one flat value, so
// that decoding allocates nothing beyond strings and argv. Which fields are
// meaningful depends on the event type; the doc comment of each says where it
// is used.
type Args struct {
	// Path is the primary path argument: the file of open/openat/openat2/
	// creat, the program of execve/execveat, the target of symlink/symlinkat,
	// the old path of link/linkat/rename*, the path of unlink*, mkdir*,
	// rmdir, chmod*, chown*, chdir, the target of mount/umount2, the module
	// parameters of init_module/finit_module. Relative paths are resolved
	// against DirFd or the cwd by the state stage, which stores the result in
	// ResolvedPath.
	Path string
	// Path2 is the second path: the link path of symlink*, the new path of
	// link*/rename*, the source of mount.
	Path2 string
	// ResolvedPath and ResolvedPath2 are Path and Path2 made absolute.
	ResolvedPath, ResolvedPath2 string
	// DirFd and DirFd2 are the directory fds of the *at variants (AT_FDCWD
	// is -100).
	DirFd, DirFd2 int32
	// OpenedDir reports that an open-family call returned a descriptor of
	// a directory, whatever its flags (the probe's RECORD_OPENED_DIR header
	// flag); the prefilter always ships such opens, since the descriptor
	// may become a dirfd or an fchdir target.
	OpenedDir bool
	// Flags are the flags argument: open flags, *at flags, clone flags (low
	// 32 bits), unshare/setns flags, memfd flags, mount flags, dup3 flags,
	// accept4 flags, sendto/sendmsg flags, finit_module flags.
	Flags uint64
	// Mode is the mode argument of open*/creat/mkdir*/chmod*.
	Mode uint32
	// Fd is the fd argument (close, dup*, connect, accept*, bind, listen,
	// sendto, sendmsg, fchmod, fchown, fchdir, finit_module, setns).
	Fd int32
	// Fd2 is the second fd argument: newfd of dup2/dup3.
	Fd2 int32
	// Argv is the argument vector of execve/execveat.
	Argv []string
	// ExePath is the resolved path of the executable after exec.
	ExePath string
	// ExeFromMemfd reports that the executable is a memfd.
	ExeFromMemfd bool
	// ExeUpperLayer reports that the executable lives in an overlayfs upper
	// layer (written after the container started).
	ExeUpperLayer bool
	// ExeIno describes the executable's inode (ctime/mtime in Unix ns).
	ExeInoCtime, ExeInoMtime int64
	// Domain, SockType and Protocol are the socket() arguments.
	Domain, SockType, Protocol int32
	// Addr is the socket address of connect, bind, accept (peer), sendto
	// and sendmsg.
	Addr Sockaddr
	// LocalAddr is the socket's own address after connect, accept,
	// sendto and sendmsg, when the probe reads it from the kernel socket
	// (Family 0 when not captured); the state stage uses it for fd.name's
	// local end.
	LocalAddr Sockaddr
	// Request is the ptrace request; TargetPid its target pid.
	Request int64
	// TargetPid is the pid argument of ptrace and the child pid of
	// fork/vfork/clone/clone3 (also in Ret).
	TargetPid int32
	// IDs holds the uid/gid arguments of setuid/setgid (IDs[0]) and
	// setresuid/setresgid (real, effective, saved), and the owner/group of
	// the chown family (IDs[0], IDs[1]).
	IDs [3]uint32
	// Cmd is the bpf command.
	Cmd int32
	// Name is the name of memfd_create, the filesystem type of mount.
	Name string
	// Backlog is the backlog argument of listen.
	Backlog int32
	// ExitCode is the exit status of a process exit event.
	ExitCode int32
}

// Sockaddr is a decoded socket address.
type Sockaddr struct {
	// Family is the address family (AF_INET, AF_INET6, AF_UNIX), 0 when no
	// address was captured.
	Family uint16
	// Addr is the IP address for AF_INET and AF_INET6.
	Addr netip.Addr
	// Port is the port for AF_INET and AF_INET6, in host byte order.
	Port uint16
	// Path is the socket path for AF_UNIX (abstract names start with '@').
	Path string
}

// Address families used by Sockaddr.Family.
const (
	AFUnix  = 1
	AFInet  = 2
	AFInet6 = 10
)
