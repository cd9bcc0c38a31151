package rules

import (
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Renderings of syscall argument values the way Falco prints them, so that
// `evt.arg.flags contains O_TRUNC` and `evt.arg.request contains
// PTRACE_ATTACH` work on Vigil's events.

type flagName struct {
	v    uint64
	name string
}

// openFlags lists the open(2) flags by name (O_RDONLY, O_WRONLY and O_RDWR
// are the access mode and handled apart).
var openFlags = []flagName{
	{unix.O_CREAT, "O_CREAT"}, {unix.O_EXCL, "O_EXCL"}, {unix.O_NOCTTY, "O_NOCTTY"},
	{unix.O_TRUNC, "O_TRUNC"}, {unix.O_APPEND, "O_APPEND"}, {unix.O_NONBLOCK, "O_NONBLOCK"},
	{unix.O_DSYNC, "O_DSYNC"}, {unix.O_ASYNC, "O_ASYNC"}, {unix.O_DIRECT, "O_DIRECT"},
	{unix.O_LARGEFILE, "O_LARGEFILE"}, {unix.O_DIRECTORY, "O_DIRECTORY"},
	{unix.O_NOFOLLOW, "O_NOFOLLOW"}, {unix.O_NOATIME, "O_NOATIME"},
	{unix.O_CLOEXEC, "O_CLOEXEC"}, {unix.O_PATH, "O_PATH"},
}

// appendOpenFlags renders open flags as "O_WRONLY|O_CREAT|O_TRUNC".
func appendOpenFlags(b []byte, f uint64) []byte {
	switch f & unix.O_ACCMODE {
	case unix.O_RDONLY:
		b = append(b, "O_RDONLY"...)
	case unix.O_WRONLY:
		b = append(b, "O_WRONLY"...)
	case unix.O_RDWR:
		b = append(b, "O_RDWR"...)
	}
	for _, fl := range openFlags {
		if fl.v != 0 && f&fl.v == fl.v {
			b = append(b, '|')
			b = append(b, fl.name...)
		}
	}
	if f&unix.O_SYNC == unix.O_SYNC {
		b = append(b, "|O_SYNC"...)
	}
	if f&unix.O_TMPFILE == unix.O_TMPFILE {
		b = append(b, "|O_TMPFILE"...)
	}
	return b
}

// appendFlagSet renders the flags of f found in tab, '|'-separated; a value
// with no known flag renders as its number.
func appendFlagSet(b []byte, f uint64, tab []flagName) []byte {
	start := len(b)
	for _, fl := range tab {
		if fl.v != 0 && f&fl.v == fl.v {
			if len(b) > start {
				b = append(b, '|')
			}
			b = append(b, fl.name...)
		}
	}
	if len(b) == start {
		b = strconv.AppendUint(b, f, 10)
	}
	return b
}

var cloneFlags = []flagName{
	{unix.CLONE_VM, "CLONE_VM"}, {unix.CLONE_FS, "CLONE_FS"}, {unix.CLONE_FILES, "CLONE_FILES"},
	{unix.CLONE_SIGHAND, "CLONE_SIGHAND"}, {unix.CLONE_PIDFD, "CLONE_PIDFD"}, {unix.CLONE_PTRACE, "CLONE_PTRACE"},
	{unix.CLONE_VFORK, "CLONE_VFORK"}, {unix.CLONE_PARENT, "CLONE_PARENT"}, {unix.CLONE_THREAD, "CLONE_THREAD"},
	{unix.CLONE_NEWNS, "CLONE_NEWNS"}, {unix.CLONE_SYSVSEM, "CLONE_SYSVSEM"}, {unix.CLONE_SETTLS, "CLONE_SETTLS"},
	{unix.CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"}, {unix.CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"},
	{unix.CLONE_UNTRACED, "CLONE_UNTRACED"}, {unix.CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"},
	{unix.CLONE_NEWCGROUP, "CLONE_NEWCGROUP"}, {unix.CLONE_NEWUTS, "CLONE_NEWUTS"}, {unix.CLONE_NEWIPC, "CLONE_NEWIPC"},
	{unix.CLONE_NEWUSER, "CLONE_NEWUSER"}, {unix.CLONE_NEWPID, "CLONE_NEWPID"}, {unix.CLONE_NEWNET, "CLONE_NEWNET"},
	{unix.CLONE_IO, "CLONE_IO"},
}

// Executable flags of execve events (Falco's PPM_EXE_*).
var exeFlags = []flagName{{1, "EXE_WRITABLE"}, {2, "EXE_UPPER_LAYER"}, {4, "EXE_FROM_MEMFD"}, {8, "EXE_LOWER_LAYER"}}

var atFlags = []flagName{
	{unix.AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"}, {unix.AT_REMOVEDIR, "AT_REMOVEDIR"},
	{unix.AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"}, {unix.AT_EMPTY_PATH, "AT_EMPTY_PATH"},
}

var mountFlags = []flagName{
	{unix.MS_RDONLY, "RDONLY"}, {unix.MS_NOSUID, "NOSUID"}, {unix.MS_NODEV, "NODEV"}, {unix.MS_NOEXEC, "NOEXEC"},
	{unix.MS_REMOUNT, "REMOUNT"}, {unix.MS_BIND, "BIND"}, {unix.MS_MOVE, "MOVE"}, {unix.MS_REC, "REC"},
	{unix.MS_PRIVATE, "PRIVATE"}, {unix.MS_SLAVE, "SLAVE"}, {unix.MS_SHARED, "SHARED"},
}

var memfdFlags = []flagName{{unix.MFD_CLOEXEC, "MFD_CLOEXEC"}, {unix.MFD_ALLOW_SEALING, "MFD_ALLOW_SEALING"}, {unix.MFD_HUGETLB, "MFD_HUGETLB"}}

var socketDomains = map[int32]string{
	unix.AF_UNIX: "AF_UNIX", unix.AF_INET: "AF_INET", unix.AF_INET6: "AF_INET6",
	unix.AF_NETLINK: "AF_NETLINK", unix.AF_PACKET: "AF_PACKET", unix.AF_BLUETOOTH: "AF_BLUETOOTH",
	unix.AF_VSOCK: "AF_VSOCK", unix.AF_ALG: "AF_ALG", unix.AF_KEY: "AF_KEY", unix.AF_XDP: "AF_XDP",
	unix.AF_CAN: "AF_CAN", unix.AF_UNSPEC: "AF_UNSPEC",
}

var ptraceRequests = map[int64]string{
	unix.PTRACE_TRACEME: "PTRACE_TRACEME", unix.PTRACE_PEEKTEXT: "PTRACE_PEEKTEXT",
	unix.PTRACE_PEEKDATA: "PTRACE_PEEKDATA", unix.PTRACE_PEEKUSR: "PTRACE_PEEKUSR",
	unix.PTRACE_POKETEXT: "PTRACE_POKETEXT", unix.PTRACE_POKEDATA: "PTRACE_POKEDATA",
	unix.PTRACE_POKEUSR: "PTRACE_POKEUSR", unix.PTRACE_CONT: "PTRACE_CONT", unix.PTRACE_KILL: "PTRACE_KILL",
	unix.PTRACE_SINGLESTEP: "PTRACE_SINGLESTEP", 12: "PTRACE_GETREGS", 13: "PTRACE_SETREGS",
	14: "PTRACE_GETFPREGS", 15: "PTRACE_SETFPREGS", unix.PTRACE_ATTACH: "PTRACE_ATTACH",
	unix.PTRACE_DETACH: "PTRACE_DETACH", 18: "PTRACE_GETFPXREGS", 19: "PTRACE_SETFPXREGS",
	unix.PTRACE_SYSCALL: "PTRACE_SYSCALL", unix.PTRACE_SETOPTIONS: "PTRACE_SETOPTIONS",
	unix.PTRACE_GETEVENTMSG: "PTRACE_GETEVENTMSG", unix.PTRACE_GETSIGINFO: "PTRACE_GETSIGINFO",
	unix.PTRACE_SETSIGINFO: "PTRACE_SETSIGINFO", unix.PTRACE_GETREGSET: "PTRACE_GETREGSET",
	unix.PTRACE_SETREGSET: "PTRACE_SETREGSET", unix.PTRACE_SEIZE: "PTRACE_SEIZE",
	unix.PTRACE_INTERRUPT: "PTRACE_INTERRUPT", unix.PTRACE_LISTEN: "PTRACE_LISTEN",
	unix.PTRACE_PEEKSIGINFO: "PTRACE_PEEKSIGINFO",
}

var bpfCmds = []string{"BPF_MAP_CREATE", "BPF_MAP_LOOKUP_ELEM", "BPF_MAP_UPDATE_ELEM", "BPF_MAP_DELETE_ELEM",
	"BPF_MAP_GET_NEXT_KEY", "BPF_PROG_LOAD", "BPF_OBJ_PIN", "BPF_OBJ_GET", "BPF_PROG_ATTACH", "BPF_PROG_DETACH",
	"BPF_PROG_TEST_RUN", "BPF_PROG_GET_NEXT_ID", "BPF_MAP_GET_NEXT_ID", "BPF_PROG_GET_FD_BY_ID",
	"BPF_MAP_GET_FD_BY_ID", "BPF_OBJ_GET_INFO_BY_FD", "BPF_PROG_QUERY", "BPF_RAW_TRACEPOINT_OPEN",
	"BPF_BTF_LOAD", "BPF_BTF_GET_FD_BY_ID", "BPF_TASK_FD_QUERY", "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
	"BPF_MAP_FREEZE", "BPF_BTF_GET_NEXT_ID", "BPF_MAP_LOOKUP_BATCH", "BPF_MAP_LOOKUP_AND_DELETE_BATCH",
	"BPF_MAP_UPDATE_BATCH", "BPF_MAP_DELETE_BATCH", "BPF_LINK_CREATE", "BPF_LINK_UPDATE",
	"BPF_LINK_GET_FD_BY_ID", "BPF_LINK_GET_NEXT_ID", "BPF_ENABLE_STATS", "BPF_ITER_CREATE",
	"BPF_LINK_DETACH", "BPF_PROG_BIND_MAP"}

// capNames are the capability names in bit order.
var capNames = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
	"CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
	"CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"}

// appendCaps renders a capability set as space-separated names (Falco's
// thread.cap_effective).
func appendCaps(b []byte, caps uint64) []byte {
	first := true
	for i, n := range capNames {
		if caps&(1<<uint(i)) != 0 {
			if !first {
				b = append(b, ' ')
			}
			b = append(b, n...)
			first = false
		}
	}
	return b
}

// errnoName returns the symbolic name of a negative syscall return ("ENOENT"),
// or "" when it is unknown.
func errnoName(ret int64) string {
	return unix.ErrnoName(syscall.Errno(-ret))
}
