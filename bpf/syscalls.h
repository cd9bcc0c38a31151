/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Syscall records, built at exit alone: the arguments are read from the
 * task's saved user registers, which still hold them when the syscall
 * returns, so a recorded syscall runs one program, not an enter and an exit
 * pair. The same body runs from the syscalls:sys_exit_NAME tracepoints of
 * the selected syscalls (per-syscall mode) or from the sys_exit raw
 * tracepoint (generic mode, every syscall, filtered by the spec map).
 *
 * exec is the exception: a successful exec has replaced the registers and
 * the memory the arguments pointed to, so execve/execveat also run an enter
 * program that keeps their arguments in task storage for
 * sched_process_exec.
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
 * x86-64, AArch32 on arm64), numbered differently: the raw tracepoint
 * reports it under that number, while the per-syscall tracepoints skip it. */
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

/* regs_nr returns the syscall the saved registers are in. */
static __always_inline __s32 regs_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return (__s32)regs->orig_ax;
#elif defined(__TARGET_ARCH_arm64)
	return regs->syscallno;
#else
	return -1;
#endif
}

/* regs_args copies the first nargs syscall arguments from the saved user
 * registers and zeroes the rest. The return value has overwritten only the
 * result register (x86 ax; arm64 x0, whose argument orig_x0 keeps). */
static __always_inline void regs_args(struct pt_regs *regs, __u64 *args, __u8 nargs)
{
#if defined(__TARGET_ARCH_x86)
	args[0] = regs->di;
	args[1] = regs->si;
	args[2] = regs->dx;
	args[3] = regs->r10;
	args[4] = regs->r8;
	args[5] = regs->r9;
#elif defined(__TARGET_ARCH_arm64)
	args[0] = regs->orig_x0;
	args[1] = regs->regs[1];
	args[2] = regs->regs[2];
	args[3] = regs->regs[3];
	args[4] = regs->regs[4];
	args[5] = regs->regs[5];
#endif
	/* Without a branch: one verifier state whatever nargs. */
#pragma unroll
	for (int i = 0; i < 6; i++)
		args[i] &= (__u64)(((__s64)i - (__s64)nargs) >> 63);
}

/* enter keeps the arguments of an exec for sched_process_exec. A
 * per-syscall tracepoint program may read only its own context, hence one
 * program per argument count. */
static __always_inline int enter(struct sys_enter_ctx *ctx, int nargs)
{
	struct task_struct *task;
	struct inflight *in;

	if (!enabled_spec(ctx->nr))
		return 0;
	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	task = bpf_get_current_task_btf();
	in = bpf_task_storage_get(&inflight, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!in) {
		count_drop(DROP_INFLIGHT);
		return 0;
	}
	in->nr = ctx->nr;
#pragma unroll
	for (int i = 0; i < 6; i++)
		in->args[i] = i < nargs ? ctx->args[i] : 0;
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int sys_enter_execve(struct sys_enter_ctx *ctx) { return enter(ctx, 3); }

SEC("tracepoint/syscalls/sys_enter_execveat")
int sys_enter_execveat(struct sys_enter_ctx *ctx) { return enter(ctx, 5); }

/* taken_over tells whether the exit of a syscall is recorded elsewhere: a
 * successful exec by sched_process_exec, a fork by sched_process_fork in
 * the parent (and nothing in the child, where it returns 0). */
static __always_inline int taken_over(struct task_struct *task, const struct syscall_spec *spec, __s64 ret)
{
	if (spec->takeover == TAKEOVER_FORK)
		return ret >= 0;
	if (spec->takeover == TAKEOVER_EXEC) {
		if (ret == 0)
			return 1;
		/* A failed exec: its arguments are still in the registers. */
		struct inflight *in = bpf_task_storage_get(&inflight, task, 0, 0);
		if (in)
			in->nr = -1;
	}
	return 0;
}

/* fd_bits_of returns the untracked-descriptor bits of the current
 * process. */
static __always_inline struct fd_bits *fd_bits_of(__u64 flags)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return bpf_task_storage_get(&fd_untracked, task->group_leader, 0, flags);
}

/* close_skipped tells whether a close of fd need not be shipped: only
 * state tracking asks for closes of syscall nr, and user space has no
 * entry for the descriptor. A global function, like fd_shipped: verified
 * once, not once per state of its callers. */
__noinline int close_skipped(__s32 nr, __u64 fd)
{
	struct pf_type *pt;
	struct fd_bits *b;
	__u8 gen;

	if (fd >= TRACKED_FDS)
		return 0;
	pt = pf_lookup_type(nr, &gen);
	if (!pt || !pt->tracked_only)
		return 0;
	b = fd_bits_of(0);
	if (!b || !((b->untracked[(fd >> 6) & (TRACKED_FDS / 64 - 1)] >> (fd & 63)) & 1))
		return 0;
	pf_count();
	return 1;
}

static __always_inline void fd_bit(struct fd_bits *b, __u64 fd, int set)
{
	__u64 bit = 1ULL << (fd & 63);
	__u32 w = (fd >> 6) & (TRACKED_FDS / 64 - 1);

	if (fd >= TRACKED_FDS)
		return;
	if (set)
		b->untracked[w] |= bit;
	else
		b->untracked[w] &= ~bit;
}

/* fd_shipped keeps the untracked-descriptor bits in step with a record of
 * a syscall whose fd_track is track that reached user space. */
__noinline int fd_shipped(__u32 track, __u64 arg0, __s64 ret)
{
	struct fd_bits *b;

	if (!track)
		return 0;
	b = fd_bits_of((track & FD_TRACK_CLOSE) ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (!b)
		return 0;
	if (track & FD_TRACK_CLOSE)
		fd_bit(b, arg0, 1);
	if (track & FD_TRACK_ARG0)
		fd_bit(b, arg0, 0);
	if ((track & FD_TRACK_RET) && ret >= 0)
		fd_bit(b, ret, 0);
	return 0;
}

/* on_exit records syscall nr of the current task, which returns ret. */
static __always_inline int on_exit(struct task_struct *task, struct pt_regs *regs, __s32 nr, __s64 ret)
{
	struct syscall_spec *spec = enabled_spec(nr);
	struct record_header *h, *r;
	__u8 *buf;
	__u32 off;

	if (!spec)
		return 0;
	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	if (spec->takeover && taken_over(task, spec, ret))
		return 0;
	/* The arguments go to the scratch buffer, not the stack: the verifier
	 * does not follow map contents, so their values do not multiply the
	 * states it walks. */
	buf = scratch_claim();
	if (!buf)
		return 0;
	h = (void *)buf;
	regs_args(regs, h->args, spec->nargs);
	if (!(spec->str_mask | spec->sa_arg | spec->struct_arg | spec->local_fd | spec->ret_fd_dir)) {
		/* No variable part: build the record in the ring buffer itself. */
		if ((spec->fd_track & FD_TRACK_CLOSE) && close_skipped(nr, h->args[0]))
			goto out;
		if (!pf_pass_args(nr, h->args, ret))
			goto out;
		r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
		if (!r) {
			count_drop(DROP_RINGBUF);
			goto out;
		}
		fill_header(r, task, KIND_SYSCALL);
		r->syscall = nr;
		r->ret = ret;
		__builtin_memcpy(r->args, h->args, sizeof(r->args));
		bpf_ringbuf_submit(r, wakeup_flags());
		if (spec->fd_track)
			fd_shipped(spec->fd_track, h->args[0], ret);
		goto out;
	}
	/* The parts and the prefilter first: the rest of the header is read
	 * from the task only for a record that is shipped. */
	h->flags = 0;
	h->nparts = 0;
	h->syscall = nr;
	h->ret = ret;
	if (spec->ret_fd_dir && ret >= 0 && fd_is_dir(task, ret))
		h->flags |= RECORD_OPENED_DIR;
	off = put_args((struct scratch_buf *)buf, spec, ret);
	if (!pf_check((struct scratch_buf *)buf, off))
		goto out;
	__u8 flags = h->flags;
	__u16 nparts = h->nparts;
	fill_header(h, task, KIND_SYSCALL);
	h->flags = flags;
	h->nparts = nparts;
	h->syscall = nr;
	h->ret = ret;
	if (submit(buf, off) && spec->fd_track)
		fd_shipped(spec->fd_track, h->args[0], ret);
out:
	scratch_release(buf);
	return 0;
}

/* Per-syscall mode: attached to syscalls:sys_exit_NAME of the selected
 * syscalls only, so an unselected syscall runs no program. */
SEC("tracepoint/syscalls/sys_exit")
int sys_exit(struct sys_exit_ctx *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return on_exit(task, (struct pt_regs *)bpf_task_pt_regs(task), ctx->nr, ctx->ret);
}

/* Generic mode: every syscall, the unselected ones stopped by the spec map. */
SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_raw, struct pt_regs *regs, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (compat_syscall(task))
		return 0;
	return on_exit(task, regs, regs_nr(regs), ret);
}

#endif
