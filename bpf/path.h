/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded dentry walk: bpf_d_path is not callable from tracepoints, so the
 * path of a file is written as its components, leaf first, each ending in a
 * NUL; user space joins them in reverse. Mount points are crossed through
 * struct mount. A pseudo file (memfd, anonymous) yields its own name. The
 * walk runs under bpf_loop so the verifier checks one step, not every path.
 */
#ifndef VIGIL_PATH_H
#define VIGIL_PATH_H

#define NAME_BYTES 256

struct walk {
	struct dentry *dentry;
	struct mount *mnt;
	__u32 start; /* offset of the first component */
	__u32 pos;   /* offset after the last component written */
	int done;    /* the walk reached the root */
	__u64 mnt_off; /* offsetof(struct mount, mnt) */
	__u32 key;     /* the scratch buffer written to */
};

static long walk_step(__u32 i, void *data)
{
	struct walk *w = data;
	struct dentry *dentry = w->dentry;
	struct mount *mnt = w->mnt;
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	struct vfsmount *vfs = (void *)mnt + w->mnt_off;
	struct dentry *mnt_root = BPF_CORE_READ(vfs, mnt_root);
	__u32 pos = w->pos;
	__u8 *buf;
	long n;

	if (dentry == mnt_root) {
		struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
		if (mnt_parent == mnt) {
			w->done = 1;
			return 1;
		}
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mnt_parent;
		return 0;
	}
	if (pos - w->start > PATH_MAX_BYTES - NAME_BYTES || pos > OFF_MASK)
		return 1;
	buf = bpf_map_lookup_elem(&scratch, &w->key);
	if (!buf)
		return 1;
	n = bpf_probe_read_kernel_str(&buf[pos & OFF_MASK], NAME_BYTES, BPF_CORE_READ(dentry, d_name.name));
	if (n <= 0)
		return 1;
	w->pos = pos + n;
	if (dentry == parent) {
		/* a pseudo file's dentry is its own parent */
		w->done = 1;
		return 1;
	}
	w->dentry = parent;
	return 0;
}

/* put_path writes PART_EXE for path and returns the new offset. */
static __always_inline __u32 put_path(__u8 *buf, __u32 off, const struct path *path)
{
	struct record_header *h = (void *)buf;
	struct walk w = {};

	if (off > OFF_MASK - (PART_HDR + PATH_MAX_BYTES))
		return off;
	w.mnt_off = bpf_core_field_offset(struct mount, mnt);
	w.key = ((struct scratch_buf *)buf)->key;
	w.dentry = BPF_CORE_READ(path, dentry);
	w.mnt = (struct mount *)((void *)BPF_CORE_READ(path, mnt) - w.mnt_off);
	w.start = off + PART_HDR;
	w.pos = w.start;
	bpf_loop(PATH_DEPTH, walk_step, &w, 0);
	if (!w.done)
		h->flags |= RECORD_PATH_TRUNCATED;
	return put_part_header(buf, off, PART_EXE, (w.pos - w.start) & (PATH_MAX_BYTES * 2 - 1));
}

#endif
