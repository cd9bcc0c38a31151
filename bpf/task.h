/* SPDX-License-Identifier: Apache-2.0 */
/* The fixed record header, filled from the current task. */
#ifndef VIGIL_TASK_H
#define VIGIL_TASK_H

#define PF_KTHREAD 0x00200000

/* tty_dev returns the controlling terminal as a user-space dev_t (the
 * encoding of /proc/PID/stat's tty_nr), 0 when there is none. */
static __always_inline __u32 tty_dev(struct task_struct *task)
{
	struct tty_struct *tty = task->signal->tty;
	struct tty_driver *driver;

	if (!tty)
		return 0;
	driver = tty->driver;
	if (!driver)
		return 0;
	__u32 major = driver->major;
	__u32 minor = driver->minor_start + tty->index;
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

/* pidns_inum returns the inode number of the task's own pid namespace:
 * that of the last of the pid's numbers, read with direct loads for the
 * common depths (the host, a container, a container in a container). */
static __always_inline __u32 pidns_inum(struct task_struct *task)
{
	struct pid *pid = task->thread_pid;
	struct pid_namespace *ns = NULL;

	if (!pid)
		return 0;
	switch (pid->level) {
	case 0:
		ns = pid->numbers[0].ns;
		break;
	case 1:
		ns = pid->numbers[1].ns;
		break;
	case 2:
		ns = pid->numbers[2].ns;
		break;
	default:
		bpf_core_read(&ns, sizeof(ns), &pid->numbers[pid->level & 31].ns);
		return ns ? BPF_CORE_READ(ns, ns.inum) : 0;
	}
	return ns ? ns->ns.inum : 0;
}

/*
 * fill_header fills the fixed header from task, which must be a trusted BTF
 * pointer to the current task (bpf_get_current_task_btf, or a tp_btf
 * argument): its fields are read with direct loads, far cheaper than one
 * probe-read helper call per field.
 */

/* cred with the kernel_cap_t of 6.3 and later (one u64). */
struct cred___capu64 {
	struct {
		__u64 val;
	} cap_effective;
} __attribute__((preserve_access_index));

static __always_inline __u64 cap_effective(const struct cred *cred)
{
	const struct cred___capu64 *c = (const void *)cred;
	__u64 caps = 0;

	if (bpf_core_field_exists(c->cap_effective.val))
		return c->cap_effective.val;
	/* before 6.3: two u32, the same 8 bytes */
	bpf_core_read(&caps, sizeof(caps), &cred->cap_effective);
	return caps;
}

static __always_inline void fill_header(struct record_header *h, struct task_struct *task, __u8 kind)
{
	__u64 pt = bpf_get_current_pid_tgid();
	const struct cred *cred = task->cred;

	h->kind = kind;
	h->flags = 0;
	h->nparts = 0;
	h->cpu = bpf_get_smp_processor_id();
	h->ts_boot = bpf_ktime_get_boot_ns();
	h->pid = pt >> 32;
	h->tid = (__u32)pt;
	h->ppid = task->real_parent->tgid;
	h->uid = cred->uid.val;
	h->gid = cred->gid.val;
	h->euid = cred->euid.val;
	h->egid = cred->egid.val;
	h->loginuid = task->loginuid.val;
	h->cap_effective = cap_effective(cred);
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->tty = tty_dev(task);
	h->pidns = pidns_inum(task);
	h->mntns = task->nsproxy->mnt_ns->ns.inum;
	h->syscall = -1;
	h->ret = 0;
	__builtin_memcpy(h->comm, task->comm, sizeof(h->comm));
}

#endif
