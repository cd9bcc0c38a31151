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

SEC("tracepoint/raw_syscalls/sys_enter")
int sys_enter(struct sys_enter_ctx *ctx)
{
	struct syscall_spec *spec = enabled_spec(ctx->nr);
	struct inflight in = {};
	__u64 pt;
	__u32 tid;

	if (!spec)
		return 0;
	pt = bpf_get_current_pid_tgid();
	if ((pt >> 32) == self_tgid)
		return 0;
	tid = (__u32)pt;
	in.nr = ctx->nr;
	/* A per-syscall tracepoint only lets a program read as far as its own
	 * arguments by ctx access; copying all six is safe (the kernel passes a
	 * full array) and the unused ones are cleared. */
	bpf_probe_read_kernel(in.args, sizeof(in.args), ctx->args);
#pragma unroll
	for (int i = 0; i < 6; i++)
		if (i >= spec->nargs)
			in.args[i] = 0;
	if (bpf_map_update_elem(&inflight, &tid, &in, BPF_ANY))
		count_drop(DROP_INFLIGHT);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int sys_exit(struct sys_exit_ctx *ctx)
{
	struct syscall_spec *spec = enabled_spec(ctx->nr);
	struct record_header *h;
	struct inflight *in;
	__u32 tid, zero = 0;
	__u8 *buf;
	__u32 off;

	if (!spec)
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	in = bpf_map_lookup_elem(&inflight, &tid);
	if (!in)
		return 0;
	if (in->nr != ctx->nr)
		goto out;
	buf = bpf_map_lookup_elem(&scratch, &zero);
	if (!buf)
		goto out;
	h = (void *)buf;
	fill_header(h, (struct task_struct *)bpf_get_current_task(), KIND_SYSCALL);
	h->syscall = in->nr;
	h->ret = ctx->ret;
#pragma unroll
	for (int i = 0; i < 6; i++)
		h->args[i] = in->args[i];
	off = put_args(buf, sizeof(*h), in->args, spec, ctx->ret);
	submit(buf, off);
out:
	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}

#endif
