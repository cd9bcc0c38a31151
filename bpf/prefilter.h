/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prefilter: user space derives, from the loaded rules, per-syscall bounds
 * on what the kernel sees (path arguments, open flags, result, ptrace
 * request) and writes them to these maps (pkg/prefilter compiles them,
 * pkg/probe writes them). The program is fixed; the maps are data. A
 * record that no clause of its syscall accepts is not shipped.
 *
 * Every map value is a mask of the syscall's clauses: an event passes when
 * the AND of the masks of its checks is not zero. Paths are looked up by
 * hash while the path is scanned once. Entries carry a generation; user
 * space fills the inactive one and flips pf_gen, so a reload swaps the
 * whole filter at once.
 */
#ifndef VIGIL_PREFILTER_H
#define VIGIL_PREFILTER_H

#define PF_MAX_PATH 240
#define PF_MAX_ATOMS 16
#define PF_BLOOM_WORDS 32
#define PF_NONE 0xff

/* What pf_type.lookups asks for. */
enum pf_lookup {
	PF_EXACT = 1,
	PF_PREFIX = 2,
	PF_SUFFIX = 4,
};

/* Where pf_type.flags_src finds open flags. */
enum pf_flags_src {
	PF_FLAGS_NONE = 0,
	PF_FLAGS_ARG = 1,    /* raw argument flags_arg */
	PF_FLAGS_STRUCT = 2, /* the first u64 of PART_STRUCT (openat2's open_how) */
};

struct pf_atom {
	__u64 clauses;
	__u32 set;   /* bits that must be set */
	__u32 clear; /* bits that must be clear */
	__u8 acc;    /* bit m: access mode m (flags & 3) accepted */
	__u8 pad[7];
};

/* The filter of one syscall. */
struct pf_type {
	__u64 all;         /* every clause; 0 with filtered: nothing passes */
	__u64 any_path[2]; /* clauses not bounding path argument i */
	__u64 ret_ok;      /* clauses accepting success (ret >= 0) */
	__u64 ret_err;     /* clauses accepting failure */
	__u64 any_flags;   /* clauses not bounding open flags */
	__u64 any_req;     /* clauses not bounding the ptrace request */
	__u64 lens[2][2][4]; /* path i, prefix (0) or suffix (1): bit L when an entry has L bytes */
	__u64 bloom[PF_BLOOM_WORDS]; /* bit pf_bloom_bit(key) set for every path key */
	struct pf_atom atoms[PF_MAX_ATOMS];
	__u16 type;        /* event type, part of the value map keys */
	__u8 filtered;
	__u8 exact[2];     /* path i has exact entries */
	__u8 path_arg[2];  /* string argument holding path i, PF_NONE when none */
	__u8 flags_src;    /* pf_flags_src */
	__u8 flags_arg;
	__u8 req_arg;      /* argument holding the ptrace request, PF_NONE */
	__u8 is_open;      /* an open: pass_flags and returned directories pass */
	__u8 max_suffix[2]; /* length of the longest suffix entry of path i */
	__u8 tracked_only; /* close: only state tracking asks for it */
	__u8 pad[2];
	__u32 pass_flags;  /* open flags that always pass (O_DIRECTORY | O_PATH) */
};

/* Kinds of path entries (pf_path_key.kind). */
enum pf_path_kind {
	PF_PATH_EXACT = 0,
	PF_PATH_PREFIX = 1,
	PF_PATH_SUFFIX = 2, /* hashed from the last byte backwards */
};

/* Key of pf_paths: a 64-bit FNV-1a hash of a path, prefix or suffix and
 * its length. A collision can only let a record through. */
struct pf_path_key {
	__u8 gen;
	__u8 arg;
	__u16 type;
	__u8 kind;
	__u8 pad;
	__u16 len;
	__u64 hash;
};

struct pf_value_key {
	__u8 gen;
	__u8 pad;
	__u16 type;
	__u32 pad2;
	__s64 value;
};

/* The active generation: pf_types entry gen * MAX_SYSCALLS + nr. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} pf_gen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, struct pf_type);
} pf_types SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, struct pf_path_key);
	__type(value, __u64);
} pf_paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct pf_value_key);
	__type(value, __u64);
} pf_values SEC(".maps");

/* Records the prefilter kept from user space, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} pf_filtered SEC(".maps");

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

/* pf_lookup_type returns the active filter of syscall nr and its
 * generation, or NULL. */
static __always_inline struct pf_type *pf_lookup_type(__s32 nr, __u8 *gen)
{
	__u32 zero = 0, key;
	__u32 *g = bpf_map_lookup_elem(&pf_gen, &zero);

	if (!g || (__u32)nr >= MAX_SYSCALLS)
		return NULL;
	*gen = *g & 1;
	key = (*g & 1) * MAX_SYSCALLS + (__u32)nr;
	return bpf_map_lookup_elem(&pf_types, &key);
}

/* pf_find_part returns the offset of the data of the part tagged tag in the
 * record built in buf (end: its end), its length in *len; 0 if absent. */
static __always_inline __u32 pf_find_part(__u8 *buf, __u32 end, __u8 tag, __u32 *len)
{
	__u32 off = sizeof(struct record_header);

#pragma unroll
	for (int i = 0; i < 8; i++) {
		if (off + PART_HDR > end || off > OFF_MASK - PART_HDR)
			return 0;
		__u32 n = buf[(off + 2) & OFF_MASK] | (buf[(off + 3) & OFF_MASK] << 8);
		if (buf[off & OFF_MASK] == tag) {
			*len = n;
			return off + PART_HDR;
		}
		off += PART_HDR + n;
	}
	return 0;
}

/* pf_bloom_bit is the bit of a path key in pf_type.bloom. */
static __always_inline __u32 pf_bloom_bit(__u8 arg, __u8 kind, __u32 len, __u64 hash)
{
	return (__u32)((hash >> 7) ^ ((__u64)len * 0x9e37) ^ ((__u64)kind * 0x45d9) ^ ((__u64)arg * 0x1f3)) &
	       (PF_BLOOM_WORDS * 64 - 1);
}

/* pf_lookup_path returns the clauses of a path key, asking the bloom filter
 * first: most keys have no entry. */
static __always_inline __u64 pf_lookup_path(__u64 *bloom, struct pf_path_key *k)
{
	__u32 b = pf_bloom_bit(k->arg, k->kind, k->len, k->hash);
	__u64 *v;

	if (!((bloom[(b >> 6) & (PF_BLOOM_WORDS - 1)] >> (b & 63)) & 1))
		return 0;
	v = bpf_map_lookup_elem(&pf_paths, k);
	return v ? *v : 0;
}

/* pf_scan is the state of one pass over a path by bpf_loop (a plain loop
 * of up to PF_MAX_PATH steps is too much for the verifier to walk). */
struct pf_scan {
	__u8 *buf;
	__u64 *lens; /* the lengths to look up */
	__u64 *bloom;
	__u64 hash;
	__u64 mask;  /* clauses of the entries found */
	__u32 start;
	__u32 len;
	__u32 end; /* bytes to scan */
	__u16 type;
	__u8 gen, arg, kind;
	__u8 p1, p2, bad;
};

/* pf_byte hashes byte i of the path (from the end for suffixes), checks
 * the forward pass for "//", ".." and "/./", and looks the prefix or
 * suffix of i+1 bytes up when an entry has that length. */
static __always_inline void pf_byte(struct pf_scan *s, __u32 i)
{
	__u32 l = i + 1;
	__u8 c;

	if (s->kind == PF_PATH_SUFFIX)
		c = s->buf[(s->start + s->len - 1 - i) & OFF_MASK];
	else {
		c = s->buf[(s->start + i) & OFF_MASK];
		if ((c == '/' && s->p1 == '/') || (c == '.' && s->p1 == '.') ||
		    (c == '/' && s->p1 == '.' && s->p2 == '/'))
			s->bad = 1;
		s->p2 = s->p1;
		s->p1 = c;
	}
	s->hash = (s->hash ^ c) * FNV_PRIME;
	__u32 w = l >> 6;
	/* keep the bound the verifier needs, which the compiler would drop */
	asm volatile("%[w] &= 3" : [w] "+r"(w));
	if ((s->lens[w] >> (l & 63)) & 1) {
		struct pf_path_key k = {.gen = s->gen, .arg = s->arg, .type = s->type, .kind = s->kind,
					.len = l, .hash = s->hash};
		s->mask |= pf_lookup_path(s->bloom, &k);
	}
}

/* pf_step handles bytes 8i to 8i+7 of the pass (s->end bytes in all):
 * one bpf_loop call per byte would cost more than the work. */
static long pf_step(__u64 i, void *ctx)
{
	struct pf_scan *s = ctx;

#pragma unroll
	for (__u32 j = 0; j < 8; j++) {
		__u32 at = (__u32)i * 8 + j;
		if (at >= s->end || at >= PF_MAX_PATH || s->bad)
			return 1;
		pf_byte(s, at);
	}
	return 0;
}

/* pf_path_mask returns the clauses that path argument arg satisfies: all of
 * them when the path is missing, too long, relative or not clean (it then
 * may differ from the resolved fd.name). */
static __always_inline __u64 pf_path_mask(__u8 *buf, __u32 end, struct pf_type *pt, __u8 gen, __u8 arg)
{
	__u32 len = 0, start;
	__u8 tag = pt->path_arg[arg & 1];
	struct pf_scan s = {};

	if (tag >= 6)
		return pt->all;
	start = pf_find_part(buf, end, PART_STR + tag, &len);
	if (!start || len == 0 || len > PF_MAX_PATH || buf[start & OFF_MASK] != '/')
		return pt->all;
	s.buf = buf;
	s.start = start;
	s.len = len;
	s.type = pt->type;
	s.gen = gen;
	s.arg = arg & 1;
	s.hash = FNV_OFFSET;
	s.bloom = pt->bloom;
	s.kind = PF_PATH_PREFIX;
	s.lens = pt->lens[arg & 1][0];
	s.end = len;
	bpf_loop((len + 7) / 8, pf_step, &s, 0);
	if (s.bad || (len > 1 && (s.p1 == '/' || (s.p1 == '.' && s.p2 == '/'))))
		return pt->all;
	if (pt->exact[arg & 1]) {
		struct pf_path_key k = {.gen = gen, .arg = arg & 1, .type = pt->type, .kind = PF_PATH_EXACT,
					.len = len, .hash = s.hash};
		s.mask |= pf_lookup_path(pt->bloom, &k);
	}
	if (pt->max_suffix[arg & 1]) {
		s.hash = FNV_OFFSET;
		s.kind = PF_PATH_SUFFIX;
		s.lens = pt->lens[arg & 1][1];
		s.end = len < pt->max_suffix[arg & 1] ? len : pt->max_suffix[arg & 1];
		bpf_loop((s.end + 7) / 8, pf_step, &s, 0);
	}
	return pt->any_path[arg & 1] | s.mask;
}

/* pf_rest applies the checks that need no path: result, open flags,
 * ptrace request. */
static __always_inline __u64 pf_rest(struct pf_type *pt, __u8 gen, __u64 m, __u64 flags, const __u64 *args)
{
	if (m && pt->flags_src != PF_FLAGS_NONE) {
		__u64 fm = pt->any_flags;
		/* Branch-free, so that the verifier walks it once; unused atoms
		 * have no clauses. */
#pragma unroll
		for (int i = 0; i < PF_MAX_ATOMS; i++) {
			struct pf_atom *a = &pt->atoms[i];
			__u64 x = ((flags & a->set) ^ a->set) | (flags & a->clear);
			__u64 ok = ((a->acc >> (flags & 3)) & 1) & (((x | (0 - x)) >> 63) ^ 1);
			fm |= a->clauses & (0 - ok);
		}
		m &= fm;
	}
	if (m && pt->req_arg < 6) {
		__u32 i = pt->req_arg;
		struct pf_value_key vk = {.gen = gen, .type = pt->type};
		if (i < 6)
			vk.value = (__s64)args[i];
		__u64 *v = bpf_map_lookup_elem(&pf_values, &vk);
		m &= pt->any_req | (v ? *v : 0);
	}
	return m;
}

static __always_inline void pf_count(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&pf_filtered, &zero);
	if (n)
		*n += 1;
}

/* pf_check tells whether the record built in sb (end: its end) passes the
 * prefilter of its syscall, and counts it when it does not. A global
 * function: the verifier checks it once, apart from the many shapes of
 * record its callers build. */
__noinline int pf_check(struct scratch_buf *sb, __u32 end)
{
	struct record_header *h;
	struct pf_type *pt;
	__u64 m, flags = 0;
	__u8 gen = 0, *buf;

	if (!sb)
		return 1;
	buf = sb->data;
	h = (void *)buf;
	pt = pf_lookup_type(h->syscall, &gen);
	if (!pt || !pt->filtered)
		return 1;
	if (pt->is_open && (h->flags & RECORD_OPENED_DIR))
		return 1;
	if (pt->flags_src == PF_FLAGS_ARG) {
		__u32 i = pt->flags_arg;
		if (i < 6)
			flags = h->args[i];
	} else if (pt->flags_src == PF_FLAGS_STRUCT) {
		__u32 len = 0, at = pf_find_part(buf, end, PART_STRUCT, &len);
		if (at && len >= 8)
			__builtin_memcpy(&flags, &buf[at & OFF_MASK], sizeof(flags));
	}
	if (pt->is_open && (flags & pt->pass_flags))
		return 1;
	m = h->ret >= 0 ? pt->ret_ok : pt->ret_err;
	m &= pt->all;
	if (m && pt->path_arg[0] != PF_NONE)
		m &= pf_path_mask(buf, end, pt, gen, 0);
	if (m && pt->path_arg[1] != PF_NONE)
		m &= pf_path_mask(buf, end, pt, gen, 1);
	m = pf_rest(pt, gen, m, flags, h->args);
	if (m)
		return 1;
	pf_count();
	return 0;
}

/* pf_pass_args is the prefilter of a record without variable parts, from
 * the syscall's arguments and result. */
static __always_inline int pf_pass_args(__s32 nr, const __u64 *args, __s64 ret)
{
	struct pf_type *pt;
	__u64 m, flags = 0;
	__u8 gen = 0;

	pt = pf_lookup_type(nr, &gen);
	if (!pt || !pt->filtered)
		return 1;
	if (pt->flags_src == PF_FLAGS_ARG) {
		__u32 i = pt->flags_arg;
		if (i < 6)
			flags = args[i];
	}
	if (pt->is_open && (flags & pt->pass_flags))
		return 1;
	m = (ret >= 0 ? pt->ret_ok : pt->ret_err) & pt->all;
	if (pt->path_arg[0] != PF_NONE || pt->path_arg[1] != PF_NONE || pt->flags_src == PF_FLAGS_STRUCT)
		return 1; /* no path or struct captured: nothing to compare */
	if (pf_rest(pt, gen, m, flags, args))
		return 1;
	pf_count();
	return 0;
}

#endif
