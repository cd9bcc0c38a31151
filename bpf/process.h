/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Process lifecycle: new tasks, successful execs and process exits. These are
 * always recorded, whatever the syscall set, so that user space can keep its
 * process table. A fork or exec takes over the record of the syscall that
 * caused it (a fork's arguments from the parent's registers, an exec's from
 * the in-flight storage its enter filled), so each syscall still yields one
 * record; a failed one is recorded at sys_exit.
 */
#ifndef VIGIL_PROCESS_H
#define VIGIL_PROCESS_H

#define OVERLAYFS_SUPER_MAGIC 0x794c7630

/* overlayfs may be a module, absent from vmlinux BTF: declare what we read. */
struct ovl_inode___vigil {
	struct inode vfs_inode;
	struct dentry *__upperdentry;
} __attribute__((preserve_access_index));

struct inode___new {
	time64_t i_ctime_sec;
	__u32 i_ctime_nsec;
	time64_t i_mtime_sec;
	__u32 i_mtime_nsec;
} __attribute__((preserve_access_index));

struct inode___mid {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

struct inode___old {
	struct timespec64 i_ctime;
	struct timespec64 i_mtime;
} __attribute__((preserve_access_index));

static __always_inline void inode_times(struct inode *inode, struct exe_info *info)
{
	struct inode___new *in = (void *)inode;
	struct inode___old *io = (void *)inode;
	struct inode___mid *im = (void *)inode;

	if (bpf_core_field_exists(in->i_ctime_sec)) {
		info->ctime_ns = BPF_CORE_READ(in, i_ctime_sec) * 1000000000LL + BPF_CORE_READ(in, i_ctime_nsec);
	} else if (bpf_core_field_exists(im->__i_ctime)) {
		info->ctime_ns = BPF_CORE_READ(im, __i_ctime.tv_sec) * 1000000000LL + BPF_CORE_READ(im, __i_ctime.tv_nsec);
	} else if (bpf_core_field_exists(io->i_ctime)) {
		info->ctime_ns = BPF_CORE_READ(io, i_ctime.tv_sec) * 1000000000LL + BPF_CORE_READ(io, i_ctime.tv_nsec);
	}
	if (bpf_core_field_exists(in->i_mtime_sec)) {
		info->mtime_ns = BPF_CORE_READ(in, i_mtime_sec) * 1000000000LL + BPF_CORE_READ(in, i_mtime_nsec);
	} else if (bpf_core_field_exists(io->i_mtime)) {
		info->mtime_ns = BPF_CORE_READ(io, i_mtime.tv_sec) * 1000000000LL + BPF_CORE_READ(io, i_mtime.tv_nsec);
	}
}

/* exe_flags tells whether file is a memfd or in an overlayfs upper layer. */
static __always_inline __u32 exe_flags(struct file *file)
{
	struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
	struct inode *inode = BPF_CORE_READ(dentry, d_inode);
	char name[8] = {};
	__u32 flags = 0;

	bpf_probe_read_kernel(name, 6, BPF_CORE_READ(dentry, d_name.name));
	if (name[0] == 'm' && name[1] == 'e' && name[2] == 'm' && name[3] == 'f' && name[4] == 'd' &&
	    name[5] == ':' && BPF_CORE_READ(inode, __i_nlink) == 0)
		flags |= EXE_MEMFD;
	if (bpf_core_type_exists(struct ovl_inode___vigil) &&
	    BPF_CORE_READ(inode, i_sb, s_magic) == OVERLAYFS_SUPER_MAGIC) {
		struct ovl_inode___vigil *oi =
			(void *)inode - bpf_core_field_offset(struct ovl_inode___vigil, vfs_inode);
		if (BPF_CORE_READ(oi, __upperdentry))
			flags |= EXE_UPPER;
	}
	return flags;
}

static __always_inline __u32 put_exe_info(__u8 *buf, __u32 off, struct file *file)
{
	struct exe_info info = {};

	if (off > OFF_MASK - (PART_HDR + sizeof(info)))
		return off;
	info.flags = exe_flags(file);
	inode_times(BPF_CORE_READ(file, f_inode), &info);
	__builtin_memcpy(&buf[(off + PART_HDR) & OFF_MASK], &info, sizeof(info));
	return put_part_header(buf, off, PART_EXEINFO, sizeof(info));
}

/* take_inflight returns the syscall task is in, and marks it taken so that
 * its sys_exit records nothing more; NULL when there is none. */
static __always_inline struct inflight *take_inflight(struct task_struct *task)
{
	struct inflight *in = bpf_task_storage_get(&inflight, task, 0, 0);

	if (!in || in->nr < 0)
		return NULL;
	return in;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct record_header *h;
	struct inflight *in;
	struct file *file;
	struct mm_struct *mm;
	__u32 off;
	__u8 *buf;

	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	in = take_inflight(task);
	buf = scratch_claim();
	if (!buf)
		return 0;
	h = (void *)buf;
	fill_header(h, task, KIND_EXEC);
	__builtin_memset(h->args, 0, sizeof(h->args));
	if (in) {
		h->syscall = in->nr;
		__builtin_memcpy(h->args, in->args, sizeof(h->args));
		in->nr = -1;
	}
	off = put_str(buf, sizeof(*h), PART_FILENAME, bprm->filename, 0);
	mm = task->mm;
	if (mm) {
		__u64 arg_start = mm->arg_start, arg_end = mm->arg_end;
		if (arg_end > arg_start)
			off = put_user_bytes(buf, off, PART_ARGV, (const void *)arg_start,
					     (__u32)(arg_end - arg_start));
	}
	file = bprm->file;
	off = put_path(buf, off, &file->f_path);
	off = put_exe_info(buf, off, file);
	submit(buf, off);
	scratch_release(buf);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_fork, struct task_struct *parent, struct task_struct *child)
{
	struct syscall_spec *spec = NULL;
	struct record_header *h;
	struct pt_regs *regs;
	__u32 off;
	__u8 *buf;
	__s32 nr;

	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	if (parent->flags & PF_KTHREAD)
		return 0;
	/* The parent is the current task, in the syscall that forks. */
	regs = (struct pt_regs *)bpf_task_pt_regs(parent);
	nr = regs_nr(regs);
	if (!compat_syscall(parent)) {
		spec = enabled_spec(nr);
		if (spec && spec->takeover != TAKEOVER_FORK)
			spec = NULL;
	}
	buf = scratch_claim();
	if (!buf)
		return 0;
	h = (void *)buf;
	fill_header(h, parent, KIND_FORK);
	h->ret = child->pid;
	__builtin_memset(h->args, 0, sizeof(h->args));
	off = sizeof(*h);
	if (spec) {
		h->syscall = nr;
		regs_args(regs, h->args, spec->nargs);
		off = put_args((struct scratch_buf *)buf, spec, h->ret);
	}
	submit(buf, off);
	scratch_release(buf);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_exit, struct task_struct *task)
{
	struct record_header *h;

	__u8 *buf;

	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	if (task->flags & PF_KTHREAD)
		return 0;
	/* signal->live reaches 0 when the last thread of the group exits. */
	if (task->signal->live.counter != 0)
		return 0;
	/* Several threads exiting at once may each see it at zero: the first
	 * to mark the leader records the exit. */
	__u64 *seen = bpf_task_storage_get(&exit_seen, task->group_leader, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (seen && __sync_val_compare_and_swap(seen, 0, 1) != 0)
		return 0;
	buf = scratch_claim();
	if (!buf)
		return 0;
	h = (void *)buf;
	fill_header(h, task, KIND_EXIT);
	__builtin_memset(h->args, 0, sizeof(h->args));
	h->ret = task->exit_code;
	submit(buf, sizeof(*h));
	scratch_release(buf);
	return 0;
}

#endif
