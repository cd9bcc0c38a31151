/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writers of the variable parts that follow a record header in the scratch
 * buffer. Each takes the offset of the next part and returns the offset
 * after what it wrote; a part that would not fit is left out.
 */
#ifndef VIGIL_PARTS_H
#define VIGIL_PARTS_H

static __always_inline __u32 put_part_header(__u8 *buf, __u32 off, __u8 tag, __u32 len)
{
	struct record_header *h = (void *)buf;
	buf[off & OFF_MASK] = tag;
	buf[(off + 1) & OFF_MASK] = 0;
	buf[(off + 2) & OFF_MASK] = len & 0xff;
	buf[(off + 3) & OFF_MASK] = (len >> 8) & 0xff;
	h->nparts++;
	return off + PART_HDR + len;
}

/* put_str copies a NUL-terminated string from user (user != 0) or kernel
 * memory; the part holds the string without its NUL. */
static __always_inline __u32 put_str(__u8 *buf, __u32 off, __u8 tag, const void *ptr, int user)
{
	long n;

	if (off > OFF_MASK - (PART_HDR + STR_MAX))
		return off;
	if (!ptr)
		return put_part_header(buf, off, tag, 0);
	if (user)
		n = bpf_probe_read_user_str(&buf[(off + PART_HDR) & OFF_MASK], STR_MAX, ptr);
	else
		n = bpf_probe_read_kernel_str(&buf[(off + PART_HDR) & OFF_MASK], STR_MAX, ptr);
	if (n <= 0)
		n = 1;
	return put_part_header(buf, off, tag, (__u32)(n - 1) & (STR_MAX - 1));
}

/* put_user_bytes copies len (1..max) bytes of user memory. */
static __always_inline __u32 put_user_bytes(__u8 *buf, __u32 off, __u8 tag, const void *ptr, __u32 len)
{
	if (off > OFF_MASK - (PART_HDR + ARGV_MAX))
		return off;
	if (!ptr || len == 0)
		return off;
	if (len > ARGV_MAX)
		len = ARGV_MAX;
	/* keep the bound in the register the helper gets */
	asm volatile("%[len] &= 0x7fff" : [len] "+r"(len));
	if (bpf_probe_read_user(&buf[(off + PART_HDR) & OFF_MASK], len, ptr))
		return off;
	return put_part_header(buf, off, tag, len);
}

struct msghdr_head {
	__u64 name;
	__s32 namelen;
	__u32 pad;
};

/* put_sockaddr copies the socket address that spec describes. */
static __always_inline __u32 put_sockaddr(__u8 *buf, __u32 off, const __u64 *args,
					  const struct syscall_spec *spec, __s64 ret)
{
	__u32 idx = spec->sa_arg - 1;
	__u32 lidx = spec->sa_len_arg;
	const void *ptr;
	__s64 len = 0;

	if (idx >= 6 || lidx >= 6)
		return off;
	ptr = (const void *)args[idx];
	switch (spec->sa_len_mode) {
	case SA_LEN_VALUE:
		len = (__s64)args[lidx];
		break;
	case SA_LEN_PTR: {
		/* accept: the kernel wrote the peer address on success only. */
		__s32 l = 0;
		if (ret < 0 || !ptr || bpf_probe_read_user(&l, sizeof(l), (const void *)args[lidx]))
			return off;
		len = l;
		break;
	}
	case SA_LEN_MSGHDR: {
		struct msghdr_head m = {};
		if (!ptr || bpf_probe_read_user(&m, sizeof(m), ptr))
			return off;
		ptr = (const void *)m.name;
		len = m.namelen;
		break;
	}
	default:
		return off;
	}
	if (!ptr || len <= 0)
		return off;
	if (len > SOCKADDR_MAX)
		len = SOCKADDR_MAX;
	return put_user_bytes(buf, off, PART_SOCKADDR, ptr, (__u32)len);
}

#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000

#define EINPROGRESS 115

/* fd_file returns the file that fd refers to in task, NULL when none. */
static __always_inline struct file *fd_file(struct task_struct *task, __s64 fd)
{
	struct fdtable *fdt = task->files->fdt;
	struct file *file = NULL;

	if (fd < 0 || fd >= fdt->max_fds)
		return NULL;
	bpf_core_read(&file, sizeof(file), &fdt->fd[fd & 0xfffff]);
	return file;
}

#define S_IFDIR 0040000

/* fd_is_dir tells whether fd in task refers to a directory. */
static __always_inline int fd_is_dir(struct task_struct *task, __s64 fd)
{
	struct file *file = fd_file(task, fd);

	return file && (BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) == S_IFDIR;
}

/* put_sock_addr writes, as part tag, an address of the socket that is fd
 * in the current task, when fd is an IPv4 or IPv6 socket: its own address,
 * or its peer's when peer is set. Both come from kernel memory, which a
 * tracepoint can always read. */
static __always_inline __u32 put_sock_addr(__u8 *buf, __u32 off, __u8 tag, struct task_struct *task,
					   __s64 fd, int peer)
{
	struct file *file;
	struct socket *sock;
	struct sock *sk;
	__u8 *p;

	if (off > OFF_MASK - (PART_HDR + 28))
		return off;
	file = fd_file(task, fd);
	if (!file)
		return off;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return off;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return off;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return off;
	p = &buf[(off + PART_HDR) & OFF_MASK];
	/* struct sockaddr_in / sockaddr_in6: family, port (big endian), ... */
	p[0] = family;
	p[1] = family >> 8;
	if (peer) {
		/* skc_dport is already in network order */
		bpf_core_read(p + 2, 2, &sk->__sk_common.skc_dport);
	} else {
		__u16 port = BPF_CORE_READ(sk, __sk_common.skc_num);
		p[2] = port >> 8;
		p[3] = port;
	}
	if (family == AF_INET) {
		if (peer)
			bpf_core_read(p + 4, 4, &sk->__sk_common.skc_daddr);
		else
			bpf_core_read(p + 4, 4, &sk->__sk_common.skc_rcv_saddr);
		__builtin_memset(p + 8, 0, 8);
		return put_part_header(buf, off, tag, 16);
	}
	__builtin_memset(p + 4, 0, 4);
	if (peer)
		bpf_core_read(p + 8, 16, &sk->__sk_common.skc_v6_daddr);
	else
		bpf_core_read(p + 8, 16, &sk->__sk_common.skc_v6_rcv_saddr);
	__builtin_memset(p + 24, 0, 4);
	return put_part_header(buf, off, tag, 28);
}

/* put_args writes, after the header of the record in sb, the parts that
 * spec asks for: strings, sockaddr, struct, and the socket's own address,
 * and returns the record's end. The current task made the syscall. A
 * global function: the verifier walks it once, not once for each way its
 * callers reach it, which older kernels could not afford. */
__noinline __u32 put_args(struct scratch_buf *sb, const struct syscall_spec *spec, __s64 ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 off = sizeof(struct record_header);
	const __u64 *args;
	__u8 *buf;

	if (!sb || !spec)
		return off;
	buf = sb->data;
	args = ((struct record_header *)buf)->args;
	__u8 mask = spec->str_mask;

#pragma unroll
	for (int i = 0; i < 6; i++) {
		if (mask & (1 << i))
			off = put_str(buf, off, PART_STR + i, (const void *)args[i], 1);
	}
	/* The socket whose addresses the kernel holds, -1 when none. */
	__s64 sfd = -1;
	if (spec->local_fd == LOCAL_FD_ARG0 && (ret >= 0 || ret == -EINPROGRESS))
		sfd = (__s64)args[0];
	else if (spec->local_fd == LOCAL_FD_RET && ret >= 0)
		sfd = ret;
	if (spec->sa_arg) {
		__u32 before = off;
		off = put_sockaddr(buf, off, args, spec, ret);
		/* User memory a tracepoint cannot fault in (reclaimed, being
		 * migrated) reads as an error: the socket knows its peer. */
		if (off == before && spec->sa_peer && sfd >= 0)
			off = put_sock_addr(buf, off, PART_SOCKADDR, task, sfd, 1);
	}
	__u32 sidx = spec->struct_arg - 1;
	if (sidx < 6) {
		__u32 size = spec->struct_size;
		if (size > STRUCT_MAX)
			size = STRUCT_MAX;
		off = put_user_bytes(buf, off, PART_STRUCT, (const void *)args[sidx], size);
	}
	if (sfd >= 0)
		off = put_sock_addr(buf, off, PART_LOCAL, task, sfd, 0);
	return off;
}

/* wakeup_flags: waking the reader for every record would cost a context
 * switch each; it is woken only when wakeup_bytes are waiting, and
 * otherwise polls. */
static __always_inline __u64 wakeup_flags(void)
{
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* submit copies the record built in buf to the ring buffer, or counts it;
 * it returns whether the record was shipped. */
static __always_inline int submit(__u8 *buf, __u32 off)
{
	if (off > OFF_MASK)
		off = OFF_MASK;
	/* the bound again, on the register passed: the compiler tests a copy */
	asm volatile("%[o] &= %[m]" : [o] "+r"(off) : [m] "i"(OFF_MASK));
	if (bpf_ringbuf_output(&events, buf, off, wakeup_flags())) {
		count_drop(DROP_RINGBUF);
		return 0;
	}
	return 1;
}

#endif
