/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layout of the records the probe writes to the ring buffer. User space
 * decodes them in pkg/event (decode.go); keep both in step.
 *
 * A record is a fixed record_header followed by parts. A part is a 4-byte
 * part header (tag, reserved, little-endian u16 length) and that many bytes.
 */
#ifndef VIGIL_RECORD_H
#define VIGIL_RECORD_H

/* Record kinds: the first byte of every record. */
enum record_kind {
	KIND_SYSCALL = 1, /* a syscall, emitted at exit */
	KIND_EXEC = 2,    /* a successful execve/execveat (sched_process_exec) */
	KIND_FORK = 3,    /* a new task (sched_process_fork) */
	KIND_EXIT = 4,    /* a process whose last thread exited */
};

/* Part tags. PART_STR + i is the user string that argument i points to. */
enum part_tag {
	PART_STR = 1,       /* 1..6: user string of argument 0..5 */
	PART_SOCKADDR = 16, /* raw struct sockaddr (at most SOCKADDR_MAX bytes) */
	PART_STRUCT = 17,   /* raw bytes of the user struct an argument points to */
	PART_ARGV = 18,     /* argv of the new image, NUL separated */
	PART_EXE = 19,      /* executable path components, leaf first, NUL terminated */
	PART_EXEINFO = 20,  /* struct exe_info */
	PART_FILENAME = 21, /* the file name exec was given */
	PART_LOCAL = 22,    /* the socket's own address, as a raw struct sockaddr */
};

/* Header flags. */
enum record_flag {
	RECORD_PATH_TRUNCATED = 1, /* PART_EXE did not reach the root */
	RECORD_OPENED_DIR = 2,     /* an open-family call returned a directory */
};

/* exe_info flags. */
enum exe_flag {
	EXE_MEMFD = 1, /* the executable is a memfd */
	EXE_UPPER = 2, /* the executable lives in an overlayfs upper layer */
};

struct record_header {
	__u8 kind;
	__u8 flags;
	__u16 nparts;
	__u32 cpu;
	__u64 ts_boot; /* bpf_ktime_get_boot_ns */
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u32 loginuid;
	__u64 cap_effective;
	__u64 cgroup_id;
	__u32 tty;
	__u32 pidns;
	__u32 mntns;
	__s32 syscall; /* raw syscall number, -1 when none */
	__s64 ret;     /* return value; child tid (fork); exit code (exit) */
	__u64 args[6]; /* raw arguments, those past the syscall's count zeroed */
	char comm[16];
};

struct exe_info {
	__u32 flags; /* exe_flag */
	__u32 pad;
	__s64 ctime_ns;
	__s64 mtime_ns;
};

/* How the probe captures one syscall; user space fills one per syscall id. */
struct syscall_spec {
	__u8 enabled;
	__u8 nargs;       /* arguments past nargs are zeroed */
	__u8 str_mask;    /* bit i: argument i points to a string */
	__u8 sa_arg;      /* 1 + index of a sockaddr pointer argument, 0 when none */
	__u8 sa_len_mode; /* SA_LEN_* */
	__u8 sa_len_arg;  /* index of the argument that gives the length */
	__u8 struct_arg;  /* 1 + index of an argument pointing to a struct to copy */
	__u8 struct_size; /* bytes of that struct to copy (at most STRUCT_MAX) */
	__u8 local_fd;    /* LOCAL_FD_*: whose socket's own address to record */
	__u8 ret_fd_dir;  /* the return value is an fd: flag RECORD_OPENED_DIR */
	__u8 takeover;    /* TAKEOVER_*: who records a successful call */
	__u8 fd_track;    /* FD_TRACK_*: what a shipped record tells of descriptors */
	__u8 sa_peer;     /* when the sockaddr cannot be read, record the peer
			   * address of local_fd's socket in its place */
};

/* How a syscall changes the descriptors user space knows (see fd_untracked). */
enum fd_track {
	FD_TRACK_RET = 1,   /* a successful call returns a descriptor user space records */
	FD_TRACK_ARG0 = 2,  /* user space may record the descriptor in argument 0 */
	FD_TRACK_CLOSE = 4, /* argument 0 is closed */
};

enum takeover {
	TAKEOVER_NONE = 0,
	TAKEOVER_EXEC = 1, /* sched_process_exec records a successful exec */
	TAKEOVER_FORK = 2, /* sched_process_fork records a new task */
};

enum local_fd {
	LOCAL_FD_NONE = 0,
	LOCAL_FD_ARG0 = 1, /* the socket is argument 0 (connect, sendto, sendmsg) */
	LOCAL_FD_RET = 2,  /* the socket is the return value (accept) */
};

enum sa_len_mode {
	SA_LEN_VALUE = 0,  /* the length argument is the length */
	SA_LEN_PTR = 1,    /* the length argument points to an int (accept) */
	SA_LEN_MSGHDR = 2, /* the sockaddr argument is a struct user_msghdr */
};

#define MAX_SYSCALLS 512
#define STR_MAX 4096
#define SOCKADDR_MAX 128
#define STRUCT_MAX 64
#define ARGV_MAX 16384
#define PATH_DEPTH 32
#define PATH_MAX_BYTES 4096
#define PART_HDR 4
#define TRACKED_FDS 1024

#endif
