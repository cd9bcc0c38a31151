/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Syscall enter/exit. The same two programs attach either to
 * raw_syscalls:sys_enter/sys_exit (every syscall, filtered by the spec map)
 * or to the syscalls:sys_enter_NAME/sys_exit_NAME tracepoints of the selected
 * syscalls only: both contexts hold the syscall id at offset 8 and the
 * arguments (or the return value) from offset 16.
 */
#ifndef VIGIL_SYSCALLS_H
#define VIGIL_SYSCALLS_H

struct sys_enter_ctx {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__u64 args[6];
};

struct sys_exit_ctx {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__s64 ret;
};

static __always_inline struct syscall_spec *enabled_spec(__s32 nr)
{
	__u32 key = (__u32)nr;
	struct syscall_spec *spec;

	if (key >= MAX_SYSCALLS)
		return NULL;
	spec = bpf_map_lookup_elem(&syscall_specs, &key);
	if (!spec || !spec->enabled)
		return NULL;
	return spec;
}

/* compat_syscall tells whether task is in a 32-bit syscall (ia32 on
 * x86-64, AArch32 on arm64), numbered differently: raw_syscalls reports it
 * under that number, while the per-syscall tracepoints skip it. */
static __always_inline int compat_syscall(struct task_struct *task)
{
#if defined(__TARGET_ARCH_x86)
	return task->thread_info.status & 0x0002; /* TS_COMPAT */
#elif defined(__TARGET_ARCH_arm64)
	return (task->thread_info.flags >> 22) & 1; /* TIF_32BIT */
#else
	return 0;
#endif
}

/*
 * enter records the arguments of a selected syscall in the task's storage.
 * nargs < 0 (raw_syscalls) copies all six and clears those past the spec's
 * count; nargs >= 0 (a per-syscall tracepoint of a syscall with nargs
 * arguments) reads exactly those from the context, which is as far as such a
 * program may read, and much cheaper than a probe read.
 */
static __always_inline int enter(struct sys_enter_ctx *ctx, int nargs)
{
	struct syscall_spec *spec = enabled_spec(ctx->nr);
	struct task_struct *task;
	struct inflight *in;

	if (!spec)
		return 0;
	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	task = bpf_get_current_task_btf();
	if (nargs < 0 && compat_syscall(task))
		return 0;
	in = bpf_task_storage_get(&inflight, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!in) {
		count_drop(DROP_INFLIGHT);
		return 0;
	}
	in->nr = ctx->nr;
	if (nargs < 0) {
#pragma unroll
		for (int i = 0; i < 6; i++)
			in->args[i] = i < spec->nargs ? ctx->args[i] : 0;
	} else {
#pragma unroll
		for (int i = 0; i < 6; i++)
			in->args[i] = i < nargs ? ctx->args[i] : 0;
	}
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int sys_enter(struct sys_enter_ctx *ctx) { return enter(ctx, -1); }

#define SYS_ENTER_NARGS(n)                                       \
	SEC("tracepoint/syscalls/sys_enter_nargs" #n)            \
	int sys_enter##n(struct sys_enter_ctx *ctx) { return enter(ctx, n); }

SYS_ENTER_NARGS(0)
SYS_ENTER_NARGS(1)
SYS_ENTER_NARGS(2)
SYS_ENTER_NARGS(3)
SYS_ENTER_NARGS(4)
SYS_ENTER_NARGS(5)
SYS_ENTER_NARGS(6)

SEC("tracepoint/raw_syscalls/sys_exit")
int sys_exit(struct sys_exit_ctx *ctx)
{
	struct syscall_spec *spec = enabled_spec(ctx->nr);
	struct record_header *h;
	struct task_struct *task;
	struct inflight *in;

	__u8 *buf;
	__u32 off;

	if (!spec)
		return 0;
	task = bpf_get_current_task_btf();
	in = bpf_task_storage_get(&inflight, task, 0, 0);
	if (!in || in->nr != ctx->nr)
		return 0;
	in->nr = -1;
	if (!in->pidns)
		in->pidns = pidns_inum(task);
	if (!(spec->str_mask | spec->sa_arg | spec->struct_arg | spec->local_fd | spec->ret_fd_dir)) {
		/* No variable part: build the record in the ring buffer itself. */
		if (!pf_pass_args(ctx->nr, in->args, ctx->ret))
			return 0;
		h = bpf_ringbuf_reserve(&events, sizeof(*h), 0);
		if (!h) {
			count_drop(DROP_RINGBUF);
			return 0;
		}
		fill_header(h, task, KIND_SYSCALL, in->pidns);
		h->syscall = ctx->nr;
		h->ret = ctx->ret;
		__builtin_memcpy(h->args, in->args, sizeof(h->args));
		bpf_ringbuf_submit(h, wakeup_flags());
		return 0;
	}
	buf = scratch_buf();
	if (!buf)
		return 0;
	h = (void *)buf;
	/* The parts and the prefilter first: the rest of the header is read
	 * from the task only for a record that is shipped. */
	h->flags = 0;
	h->nparts = 0;
	h->syscall = ctx->nr;
	h->ret = ctx->ret;
	__builtin_memcpy(h->args, in->args, sizeof(h->args));
	if (spec->ret_fd_dir && ctx->ret >= 0 && fd_is_dir(task, ctx->ret))
		h->flags |= RECORD_OPENED_DIR;
	off = put_args(buf, sizeof(*h), task, h->args, spec, ctx->ret);
	if (!pf_check((struct scratch_buf *)buf, off))
		return 0;
	__u8 flags = h->flags;
	__u16 nparts = h->nparts;
	fill_header(h, task, KIND_SYSCALL, in->pidns);
	h->flags = flags;
	h->nparts = nparts;
	h->syscall = ctx->nr;
	h->ret = ctx->ret;
	submit(buf, off);
	return 0;
}

#endif
