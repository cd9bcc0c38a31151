/* SPDX-License-Identifier: Apache-2.0 */
/* Maps and configuration shared by every program. */
#ifndef VIGIL_MAPS_H
#define VIGIL_MAPS_H

#define SCRATCH_SIZE 65536
#define OFF_MASK 32767 /* every part starts below this offset */

/* Arguments of an exec in flight, captured at enter for
 * sched_process_exec; nr is -1 when the thread is in no recorded exec. */
struct inflight {
	__u64 args[6];
	__s32 nr;
	__u32 pad;
};

/* A record under construction. A program holds a buffer from claim to
 * release: on a preemptible kernel another task's program may run on the
 * same CPU in between, and takes the CPU's next buffer. */
struct scratch_buf {
	__u8 data[SCRATCH_SIZE];
	__u64 owner; /* the holding thread's pid_tgid with bit 63 set; 0 when free */
	__u32 key;   /* this buffer's index in the scratch map */
	__u32 pad;
};

/* Buffers per CPU: how many programs may be building a record on one CPU
 * at once, each preempted by the next. */
#define SCRATCH_SLOTS 2

/* Indexes of the per-CPU drop counters. */
enum drop_reason {
	DROP_RINGBUF = 0,  /* the ring buffer had no room for a record */
	DROP_INFLIGHT = 1, /* no task storage for an exec's arguments */
	DROP_SCRATCH = 2,  /* every scratch buffer of the CPU was held by a preempted program */
	DROP_REASONS = 3,
};

/* The agent's own process: its syscalls are never recorded. */
volatile const __u32 self_tgid = 0;

/* Bytes waiting in the ring buffer at which the reader is woken up. */
volatile const __u64 wakeup_bytes = 1 << 16;

/* Records to user space. User space sets the size before loading. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
} events SEC(".maps");

/* Which syscalls are recorded, and how, indexed by syscall id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, struct syscall_spec);
} syscall_specs SEC(".maps");

/* The exec each thread is in, with its arguments: task-local storage, so
 * that enter and sched_process_exec find it without hashing. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct inflight);
} inflight SEC(".maps");

/* Descriptors user space holds no entry for, per process (on the thread
 * group leader; descriptor tables are shared by threads): bit n set when the
 * last record shipped about descriptor n was its close. A close of such a
 * descriptor tells user space nothing, so when only state tracking asks for
 * closes it is not shipped. Bits are cleared by every shipped record that
 * may make user space record the descriptor; a process starts with none
 * set, so every descriptor counts as known until its close is shipped. */
struct fd_bits {
	__u64 untracked[TRACKED_FDS / 64];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct fd_bits);
} fd_untracked SEC(".maps");

/* Whether a process's exit was recorded, on its group leader: threads
 * exiting together can all see the group's live count at zero. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} exit_seen SEC(".maps");

/* Where a record is built before it is copied to the ring buffer:
 * SCRATCH_SLOTS buffers per CPU (a per-CPU map cannot hold values this
 * large), CPU c owning indexes c*SCRATCH_SLOTS on; user space sets
 * max_entries to SCRATCH_SLOTS times the number of possible CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch_buf);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline void count_drop(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &reason);
	if (n)
		__sync_fetch_and_add(n, 1);
}

/* scratch_claim takes a free scratch buffer of this CPU and returns its
 * data, or NULL, counted, when every one is held. The program runs on one
 * CPU throughout, so the buffer stays this CPU's until scratch_release. */
static __always_inline __u8 *scratch_claim(void)
{
	__u64 me = bpf_get_current_pid_tgid() | (1ULL << 63);
	__u32 key = bpf_get_smp_processor_id() * SCRATCH_SLOTS;
	struct scratch_buf *sb;

#pragma unroll
	for (int i = 0; i < SCRATCH_SLOTS; i++, key++) {
		sb = bpf_map_lookup_elem(&scratch, &key);
		if (!sb)
			return NULL;
		if (__sync_val_compare_and_swap(&sb->owner, 0, me) == 0) {
			sb->key = key;
			return sb->data;
		}
	}
	count_drop(DROP_SCRATCH);
	return NULL;
}

/* scratch_release frees a buffer taken by scratch_claim. */
static __always_inline void scratch_release(__u8 *buf)
{
	((struct scratch_buf *)buf)->owner = 0;
}

#endif
