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
	__u64 sfx_clauses[2]; /* clauses with suffix entries for path i */
	__u64 lens[2][3][4]; /* path i; prefix (0), suffix (1), exact (2): bit L-1 when an entry has L bytes */
	__u64 bloom[PF_BLOOM_WORDS]; /* bit pf_bloom_bit(key) set for every path key */
	struct pf_atom atoms[PF_MAX_ATOMS];
	__u16 type;        /* event type, part of the value map keys */
	__u8 filtered;
	__u8 path_arg[2];  /* string argument holding path i, PF_NONE when none */
	__u8 flags_src;    /* pf_flags_src */
	__u8 flags_arg;
	__u8 req_arg;      /* argument holding the ptrace request, PF_NONE */
	__u8 is_open;      /* an open: pass_flags and returned directories pass */
	__u8 max_suffix[2]; /* length of the longest suffix entry of path i */
	__u8 tracked_only; /* close: only state tracking asks for it */
	__u8 pad[4];
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

/* Paths are hashed 8 bytes at a time: each little-endian word of the path
 * (from its start for prefixes and exact paths, from its end for suffixes),
 * the last one holding only the bytes that remain, is folded in with
 * pf_fold. pkg/prefilter's Hash computes the same. */
static __always_inline __u64 pf_fold(__u64 h, __u64 v)
{
	h = (h ^ v) * FNV_PRIME;
	return h ^ (h >> 29);
}

#define PF_BYTES_HI 0x8080808080808080ULL
#define PF_BYTES_LO 0x7f7f7f7f7f7f7f7fULL

/* pf_eq has the high bit set in each byte of x that equals the byte of pat. */
static __always_inline __u64 pf_eq(__u64 x, __u64 pat)
{
	__u64 t = x ^ pat;

	return ~(((t & PF_BYTES_LO) + PF_BYTES_LO) | t) & PF_BYTES_HI;
}

/* pf_word_keys looks up the keys of the prefixes (or suffixes) that end in
 * one word: bit k of bits asks for the one of at + k + 1 bytes, where the
 * word's bytes are w and the hash of the at bytes before is h. meta packs
 * the generation, the argument and the kind. A global function, verified
 * once. */
__noinline __u64 pf_word_keys(struct pf_type *pt, __u64 h, __u64 w, __u32 meta, __u32 at_bits)
{
	struct pf_path_key k = {};
	__u32 at = at_bits >> 8;
	__u64 m = 0;

	if (!pt)
		return 0;
	k.gen = meta & 0xff;
	k.arg = (meta >> 8) & 0xff;
	k.kind = (meta >> 16) & 0xff;
	k.type = pt->type;
#pragma unroll
	for (int i = 0; i < 8; i++) {
		if (!((at_bits >> i) & 1))
			continue;
		__u64 v = w;
		if (i < 7)
			v = k.kind == PF_PATH_SUFFIX ? w >> (56 - 8 * i) : w & ((1ULL << (8 * (i + 1))) - 1);
		k.len = at + i + 1;
		k.hash = pf_fold(h, v);
		m |= pf_lookup_path(pt->bloom, &k);
	}
	return m;
}

/* pf_word loads the 8 bytes of buf at off. */
static __always_inline __u64 pf_word(__u8 *buf, __u32 off)
{
	return *(__u64 *)&buf[off & OFF_MASK];
}

/* pf_scan is the state of the prefix pass (one bpf_loop step per 8-byte
 * word from the start) and of the suffix pass (per word from the end). */
struct pf_scan {
	__u8 *buf;
	struct pf_type *pt;
	__u64 *lens;
	__u64 h;    /* hash of the words so far */
	__u64 m;    /* clauses of the entries found */
	__u64 full; /* prefix pass: hash of the whole path */
	__u64 bad;  /* prefix pass: high bits where // .. or /./ start */
	__u32 start, n, max, meta;
};

#define PF_SLASHES 0x2f2f2f2f2f2f2f2fULL
#define PF_DOTS 0x2e2e2e2e2e2e2e2eULL

/* pf_below has the high bit set in bytes 0..k-1 of a word, without a
 * branch: all of them for k >= 8 (k >= 0). */
static __always_inline __u64 pf_below(__s32 k)
{
	__u64 sel = (__u64)(__s64)((k - 8) >> 31); /* all ones when k < 8 */
	__u64 low = (1ULL << ((k & 7) * 8)) - 1;

	return ((low & sel) | ~sel) & PF_BYTES_HI;
}

/* pf_byte_bits gathers the high bits of the bytes of m into bits 0..7. */
static __always_inline __u32 pf_byte_bits(__u64 m)
{
	return ((m >> 7) * 0x0102040810204080ULL) >> 56;
}

/* pf_len_bits returns the bits of lens (bit L-1: an entry of L bytes) for
 * the lengths at+1..at+8 (at a multiple of 8) up to max (> at), without a
 * branch. */
static __always_inline __u32 pf_len_bits(__u64 *lens, __u32 at, __u32 max)
{
	__u32 w = at >> 6;
	/* keep the bound the verifier needs, which the compiler would drop */
	asm volatile("%[w] &= 3" : [w] "+r"(w));
	return (lens[w] >> (at & 56)) & 0xff & pf_byte_bits(pf_below(max - at));
}

/* pf_prefix_step handles word i from the start: it checks cleanness, looks
 * up the prefixes ending in the word and folds it into the hashes. No
 * branch but the lookups: the bytes past the path are masked out by
 * pf_below. */
static long pf_prefix_step(__u64 i, void *ctx)
{
	struct pf_scan *s = ctx;
	__u32 o = (__u32)i * 8;

	if (o >= s->n || o >= PF_MAX_PATH)
		return 1;
	__u32 at = s->start + o;
	__u64 x = pf_word(s->buf, at), y = pf_word(s->buf, at + 1), z = pf_word(s->buf, at + 2);
	__s32 d = s->n - o; /* bytes of the path from x on, >= 1 */
	__u64 vx = pf_below(d), vy = pf_below(d - 1), vz = vy & pf_below(d - 2);
	__u64 sx = pf_eq(x, PF_SLASHES), sy = pf_eq(y, PF_SLASHES);
	__u64 dx = pf_eq(x, PF_DOTS), dy = pf_eq(y, PF_DOTS);
	s->bad |= (((sx & sy) | (dx & dy)) & vy) | (sx & dy & pf_eq(z, PF_SLASHES) & vz);
	__u32 bits = pf_len_bits(s->lens, o, s->n);
	if (bits)
		s->m |= pf_word_keys(s->pt, s->h, x, s->meta, (o << 8) | bits);
	s->full = pf_fold(s->h, x & ((vx >> 7) * 0xff));
	s->h = pf_fold(s->h, x);
	return 0;
}

/* pf_suffix_step handles word i from the end: the suffixes ending in it. */
static long pf_suffix_step(__u64 i, void *ctx)
{
	struct pf_scan *s = ctx;
	__u32 o = (__u32)i * 8;

	if (o >= s->max || o >= PF_MAX_PATH)
		return 1;
	/* the 8 bytes that end o bytes before the path's end (bytes before
	 * the path are shifted out) */
	__u64 w = pf_word(s->buf, s->start + s->n - o - 8);
	__u32 bits = pf_len_bits(s->lens, o, s->max);
	if (bits)
		s->m |= pf_word_keys(s->pt, s->h, w, s->meta, (o << 8) | bits);
	s->h = pf_fold(s->h, w);
	return 0;
}

/* pf_path_mask returns the clauses that path argument arg satisfies: all of
 * them when the path is missing, too long, relative or not clean (it then
 * may differ from the resolved fd.name). One pass of 8-byte words checks
 * cleanness, hashes the path and looks its prefixes up; another hashes the
 * words from the end for suffixes, when a clause of want has suffixes.
 * gen_arg is the generation << 8 | the argument. A global function,
 * verified once. */
__noinline __u64 pf_path_mask(struct scratch_buf *sb, __u32 end, struct pf_type *pt, __u32 gen_arg, __u64 want)
{
	__u32 n = 0, start, a = gen_arg & 1;
	__u8 gen = (gen_arg >> 8) & 1, tag, *buf;
	struct pf_scan s = {};

	if (!sb || !pt)
		return ~0ULL;
	buf = sb->data;
	tag = pt->path_arg[a];
	if (tag >= 6)
		return pt->all;
	start = pf_find_part(buf, end, PART_STR + tag, &n);
	if (!start || n == 0 || n > PF_MAX_PATH || buf[start & OFF_MASK] != '/')
		return pt->all;
	if (n > 1) {
		__u8 last = buf[(start + n - 1) & OFF_MASK], prev = buf[(start + n - 2) & OFF_MASK];
		if (last == '/' || (last == '.' && prev == '/'))
			return pt->all;
	}
	/* bpf_loop rather than a plain loop: older verifiers walk a plain
	 * loop's lookups once per step and give up on long paths. */
	s.buf = buf;
	s.pt = pt;
	s.start = start;
	s.n = n;
	s.lens = pt->lens[a][0];
	s.h = FNV_OFFSET;
	s.meta = gen | (a << 8) | (PF_PATH_PREFIX << 16);
	bpf_loop((n + 7) / 8, pf_prefix_step, &s, 0);
	if (s.bad)
		return pt->all;
	if ((pf_len_bits(pt->lens[a][2], (n - 1) & ~7U, n) >> ((n - 1) & 7)) & 1) {
		struct pf_path_key k = {.gen = gen, .arg = a, .type = pt->type, .kind = PF_PATH_EXACT,
					.len = n, .hash = s.full};
		s.m |= pf_lookup_path(pt->bloom, &k);
	}
	if (pt->max_suffix[a] && (want & pt->sfx_clauses[a])) {
		s.max = n < pt->max_suffix[a] ? n : pt->max_suffix[a];
		s.lens = pt->lens[a][1];
		s.h = FNV_OFFSET;
		s.meta = gen | (a << 8) | (PF_PATH_SUFFIX << 16);
		bpf_loop((s.max + 7) / 8, pf_suffix_step, &s, 0);
	}
	return pt->any_path[a] | s.m;
}

/* pf_rest applies the checks that need no path: open flags, and the
 * request (reqv: the value of argument pt->req_arg). A global function:
 * the verifier walks it once, not on every path of its callers. */
__noinline __u64 pf_rest(struct pf_type *pt, __u8 gen, __u64 m, __u64 flags, __u64 reqv)
{
	if (!pt)
		return m;
	if (m && pt->flags_src != PF_FLAGS_NONE) {
		__u64 fm = pt->any_flags;
		/* Branch-free, so that the verifier walks it once; unused atoms
		 * have no clauses. */
#pragma unroll
		for (int i = 0; i < PF_MAX_ATOMS; i++) {
			struct pf_atom *a = &pt->atoms[i];
			__u64 x = ((flags & a->set) ^ a->set) | (flags & a->clear);
			__u64 nz = x | (0 - x);
			/* the compiler would turn x == 0 into a branch */
			asm volatile("%[v] >>= 63" : [v] "+r"(nz));
			__u64 ok = ((a->acc >> (flags & 3)) & 1) & (nz ^ 1);
			fm |= a->clauses & (0 - ok);
		}
		m &= fm;
	}
	if (m && pt->req_arg < 6) {
		struct pf_value_key vk = {.gen = gen, .type = pt->type, .value = (__s64)reqv};
		__u64 *v = bpf_map_lookup_elem(&pf_values, &vk);
		m &= pt->any_req | (v ? *v : 0);
	}
	return m;
}

/* pf_req_value returns argument pt->req_arg of args, or 0. */
static __always_inline __u64 pf_req_value(struct pf_type *pt, const __u64 *args)
{
	__u32 i = pt->req_arg;

	return i < 6 ? args[i] : 0;
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
	/* the cheap checks first: the paths are looked at only for the
	 * clauses left */
	m = pf_rest(pt, gen, m, flags, pf_req_value(pt, h->args));
	if (m && pt->path_arg[0] != PF_NONE)
		m &= pf_path_mask(sb, end, pt, (__u32)gen << 8, m);
	if (m && pt->path_arg[1] != PF_NONE)
		m &= pf_path_mask(sb, end, pt, ((__u32)gen << 8) | 1, m);
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
	if (pf_rest(pt, gen, m, flags, pf_req_value(pt, args)))
		return 1;
	pf_count();
	return 0;
}

#endif
