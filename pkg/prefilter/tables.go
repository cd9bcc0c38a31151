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
type Tables struct {
	// Types is indexed by event type.
	Types [event.NumTypes]TypeTable
	// Exact holds exact paths.
	Exact map[PathKey]uint64
	// Prefixes holds path prefixes for a longest-prefix lookup; each
	// entry's mask includes the masks of its own prefixes in the set.
	Prefixes map[PathKey]uint64
	// Suffixes holds path suffixes, reversed ("gol." for ".log"), for a
	// longest-prefix lookup on the reversed path; masks as for Prefixes.
	Suffixes map[PathKey]uint64
	// Requests holds ptrace requests.
	Requests map[ValueKey]uint64
}

// PathKey keys the path maps: event type, argument (0 or 1) and path.
type PathKey struct {
	Type event.Type
	Arg  uint8
	Path string
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
	// RetOK and RetErr are the clauses accepting success and failure.
	RetOK, RetErr uint64
	// AnyFlags are the clauses that do not bound open flags; Atoms the
	// others' atoms.
	AnyFlags uint64
	Atoms    []AtomEntry
	// AnyRequest are the clauses that do not bound the ptrace request.
	AnyRequest uint64
}

// AtomEntry is an open-flag atom and the clauses it belongs to.
type AtomEntry struct {
	FlagAtom
	Clauses uint64
}

// Compile turns the filter into map contents.
func (f *Filter) Compile() *Tables {
	tb := &Tables{Exact: map[PathKey]uint64{}, Prefixes: map[PathKey]uint64{}, Suffixes: map[PathKey]uint64{}, Requests: map[ValueKey]uint64{}}
	for t := range event.NumTypes {
		tf := &f.types[t]
		if !tf.Filtered {
			continue
		}
		tt := &tb.Types[t]
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
						tb.Exact[PathKey{t, uint8(a), p}] |= bit
					}
				}
				for _, p := range ps.Prefixes {
					if len(p) <= MaxPath {
						tb.Prefixes[PathKey{t, uint8(a), p}] |= bit
					}
				}
				for _, p := range ps.Suffixes {
					if len(p) <= MaxPath {
						tb.Suffixes[PathKey{t, uint8(a), reverse(p)}] |= bit
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
	closePrefixes(tb.Prefixes)
	closePrefixes(tb.Suffixes)
	return tb
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

// closePrefixes ORs into each entry the masks of the entries that are its
// prefixes, since a longest-prefix lookup returns one entry only.
func closePrefixes(m map[PathKey]uint64) {
	add := map[PathKey]uint64{}
	for k := range m {
		for i := 1; i < len(k.Path); i++ {
			if v, ok := m[PathKey{k.Type, k.Arg, k.Path[:i]}]; ok {
				add[k] |= v
			}
		}
	}
	for k, v := range add {
		m[k] |= v
	}
}

func reverse(s string) string {
	b := []byte(s)
	slices.Reverse(b)
	return string(b)
}
