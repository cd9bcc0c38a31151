package prefilter

import (
	"slices"

	"github.com/vigilsec/vigil/pkg/event"
)

// Limits of the kernel's maps.
const (
	// MaxPath is the longest path the kernel compares; a longer path
	// passes.
	MaxPath = 240
	// MaxAtoms is the most open-flag atoms per event type; clauses whose
	// atoms do not fit accept any flags.
	MaxAtoms = 16
)

// Tables are the contents of the kernel's prefilter maps. Every map value
// is a mask of the type's clauses (bit i: clause i); an event passes when
// the AND of the masks of its checks is not zero.
//
// Paths are keyed by a 64-bit FNV-1a hash of the path, prefix or suffix
// (suffixes hashed from their last byte backwards) with its length: the
// kernel hashes while it scans the path once, and looks up only the
// lengths some entry has. A hash collision can only let an event through.
type Tables struct {
	// Types is indexed by event type.
	Types [event.NumTypes]TypeTable
	// Paths holds exact paths, prefixes and suffixes.
	Paths map[PathKey]uint64
	// Requests holds ptrace requests.
	Requests map[ValueKey]uint64
}

// PathKind tells what a PathKey hashes.
type PathKind uint8

// Kinds of path entries.
const (
	PathExact PathKind = iota
	PathPrefix
	PathSuffix
)

// PathKey keys the path map: event type, argument (0 or 1), kind, length
// and hash.
type PathKey struct {
	Type event.Type
	Arg  uint8
	Kind PathKind
	Len  uint16
	Hash uint64
}

// ValueKey keys value sets by event type.
type ValueKey struct {
	Type  event.Type
	Value int64
}

// TypeTable is the per-type part of the tables.
type TypeTable struct {
	// Filtered reports that the type is filtered; All is the mask of all
	// its clauses (0: nothing passes).
	Filtered bool
	All      uint64
	// AnyPath are the clauses that do not bound path argument i.
	AnyPath [2]uint64
	// Lens[i][0], Lens[i][1] and Lens[i][2] have bit L-1 set when a
	// prefix, a suffix or an exact path of L bytes has an entry for path
	// argument i.
	Lens [2][3][4]uint64
	// SuffixClauses are the clauses with suffix entries for path argument
	// i: the kernel hashes a path from its end only for them.
	SuffixClauses [2]uint64
	// Bloom has bit BloomBit(key) set for every path key of the type: the
	// kernel looks up only keys whose bit is set (a filter that can only
	// say "maybe").
	Bloom [BloomWords]uint64
	// RetOK and RetErr are the clauses accepting success and failure.
	RetOK, RetErr uint64
	// AnyFlags are the clauses that do not bound open flags; Atoms the
	// others' atoms.
	AnyFlags uint64
	Atoms    []AtomEntry
	// AnyRequest are the clauses that do not bound the ptrace request.
	AnyRequest uint64
	// TrackedOnly is set on close when no rule can match a close: only
	// state tracking needs closes, and only of descriptors user space
	// holds an entry for (see Tracker).
	TrackedOnly bool
}

// AtomEntry is an open-flag atom and the clauses it belongs to.
type AtomEntry struct {
	FlagAtom
	Clauses uint64
}

// The FNV-1a constants, used by Hash on 8-byte words.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// BloomWords is the size of TypeTable.Bloom in 64-bit words.
const BloomWords = 32

// BloomBit is the bit of a path key in TypeTable.Bloom.
func BloomBit(k PathKey) uint32 {
	return uint32((k.Hash>>7)^uint64(k.Len)*0x9e37^uint64(k.Kind)*0x45d9^uint64(k.Arg)*0x1f3) & (BloomWords*64 - 1)
}

// Hash is the hash the kernel computes of a path, a prefix or an exact
// path (backwards false), or of a suffix (backwards true): the
// little-endian 8-byte words of s, from its start or from its end, the
// last holding only the bytes left, each folded in by fold.
func Hash(s string, backwards bool) uint64 {
	h := uint64(fnvOffset)
	n := len(s)
	for o := 0; o < n; o += 8 {
		w := s[o:min(o+8, n)]
		if backwards {
			w = s[max(n-o-8, 0) : n-o]
		}
		var v uint64
		for i := len(w) - 1; i >= 0; i-- {
			v = v<<8 | uint64(w[i])
		}
		h = fold(h, v)
	}
	return h
}

func fold(h, v uint64) uint64 {
	h = (h ^ v) * fnvPrime
	return h ^ h>>29
}

// setLen sets the bit of length l (1..MaxPath) in lens.
func setLen(lens *[4]uint64, l int) { lens[(l-1)/64] |= 1 << ((l - 1) % 64) }

// hasLen reports whether lens has the bit of length l.
func hasLen(lens *[4]uint64, l int) bool { return l > 0 && lens[(l-1)/64]&(1<<((l-1)%64)) != 0 }

// Compile turns the filter into map contents.
func (f *Filter) Compile() *Tables {
	tb := &Tables{Paths: map[PathKey]uint64{}, Requests: map[ValueKey]uint64{}}
	for t := range event.NumTypes {
		tf := &f.types[t]
		tt := &tb.Types[t]
		tt.TrackedOnly = t == event.TypeClose && tf.Rules == 0
		if !tf.Filtered {
			continue
		}
		tt.Filtered = true
		for i, c := range tf.Clauses {
			bit := uint64(1) << i
			tt.All |= bit
			for a, ps := range [2]*PathSet{c.Path, c.Path2} {
				if ps == nil {
					tt.AnyPath[a] |= bit
					continue
				}
				for _, p := range ps.Exact {
					if Clean(p) && len(p) <= MaxPath {
						tt.addPath(tb, PathKey{t, uint8(a), PathExact, uint16(len(p)), Hash(p, false)}, bit)
						setLen(&tt.Lens[a][2], len(p))
					}
				}
				for k, list := range [2][]string{ps.Prefixes, ps.Suffixes} {
					for _, p := range list {
						if len(p) == 0 || len(p) > MaxPath {
							continue
						}
						kind := PathPrefix + PathKind(k)
						tt.addPath(tb, PathKey{t, uint8(a), kind, uint16(len(p)), Hash(p, k == 1)}, bit)
						setLen(&tt.Lens[a][k], len(p))
						if kind == PathSuffix {
							tt.SuffixClauses[a] |= bit
						}
					}
				}
			}
			if c.Ret&RetOK != 0 {
				tt.RetOK |= bit
			}
			if c.Ret&RetErr != 0 {
				tt.RetErr |= bit
			}
			if c.Flags == nil {
				tt.AnyFlags |= bit
			} else {
				tt.addAtoms(c.Flags, bit)
			}
			if c.Requests == nil {
				tt.AnyRequest |= bit
			}
			for _, r := range c.Requests {
				tb.Requests[ValueKey{t, r}] |= bit
			}
		}
	}
	return tb
}

func (tt *TypeTable) addPath(tb *Tables, k PathKey, bit uint64) {
	tb.Paths[k] |= bit
	b := BloomBit(k)
	tt.Bloom[b/64] |= 1 << (b % 64)
}

// addAtoms adds a clause's atoms; when they do not all fit, the clause
// accepts any flags.
func (tt *TypeTable) addAtoms(atoms []FlagAtom, bit uint64) {
	n := len(tt.Atoms)
	for _, a := range atoms {
		if i := slices.IndexFunc(tt.Atoms, func(e AtomEntry) bool { return e.FlagAtom == a }); i >= 0 {
			continue
		}
		n++
	}
	if n > MaxAtoms {
		tt.AnyFlags |= bit
		return
	}
	for _, a := range atoms {
		if i := slices.IndexFunc(tt.Atoms, func(e AtomEntry) bool { return e.FlagAtom == a }); i >= 0 {
			tt.Atoms[i].Clauses |= bit
			continue
		}
		tt.Atoms = append(tt.Atoms, AtomEntry{a, bit})
	}
}

// MaxLen returns the greatest length whose bit lens has, 0 when none.
func MaxLen(lens *[4]uint64) int {
	for l := MaxPath; l > 0; l-- {
		if hasLen(lens, l) {
			return l
		}
	}
	return 0
}
