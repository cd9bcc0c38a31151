package prefilter

import (
	"github.com/vigilsec/vigil/pkg/event"
)

// Match reports whether the kernel would ship ev: it applies to a decoded
// event exactly the algorithm the probe applies to a record.
func (tb *Tables) Match(ev *event.Event) bool {
	if ev.Type >= event.NumTypes {
		return true
	}
	tt := &tb.Types[ev.Type]
	if !tt.Filtered {
		return true
	}
	if isOpen(ev.Type) && (ev.Args.Flags&passAlways != 0 || ev.Args.OpenedDir) {
		return true
	}
	m := tt.RetErr
	if ev.Ret >= 0 {
		m = tt.RetOK
	}
	m &= tt.All
	if m == 0 {
		return false
	}
	if _, ok := pathArgs[ev.Type]; ok {
		m &= tb.pathMask(tt, ev.Type, 0, ev.Args.Path)
		if m == 0 {
			return false
		}
		m &= tb.pathMask(tt, ev.Type, 1, ev.Args.Path2)
	}
	if hasFlags(ev.Type) {
		fm := tt.AnyFlags
		for _, a := range tt.Atoms {
			if a.Matches(ev.Args.Flags) {
				fm |= a.Clauses
			}
		}
		m &= fm
	}
	if ev.Type == event.TypePtrace {
		m &= tt.AnyRequest | tb.Requests[ValueKey{ev.Type, ev.Args.Request}]
	}
	return m != 0
}

// pathMask returns the clauses path argument arg satisfies, hashing and
// looking up the keys the kernel looks up.
func (tb *Tables) pathMask(tt *TypeTable, t event.Type, arg uint8, p string) uint64 {
	if len(p) > MaxPath || !Clean(p) {
		return tt.All
	}
	m := tt.AnyPath[arg]
	n := len(p)
	if hasLen(&tt.Lens[arg][2], n) {
		m |= tb.lookup(tt, PathKey{t, arg, PathExact, uint16(n), Hash(p, false)})
	}
	for l := 1; l <= n; l++ {
		if hasLen(&tt.Lens[arg][0], l) {
			m |= tb.lookup(tt, PathKey{t, arg, PathPrefix, uint16(l), Hash(p[:l], false)})
		}
		if hasLen(&tt.Lens[arg][1], l) {
			m |= tb.lookup(tt, PathKey{t, arg, PathSuffix, uint16(l), Hash(p[n-l:], true)})
		}
	}
	return m
}

// lookup returns the clauses of a path key, asking the bloom filter first
// as the kernel does.
func (tb *Tables) lookup(tt *TypeTable, k PathKey) uint64 {
	if b := BloomBit(k); tt.Bloom[b/64]&(1<<(b%64)) == 0 {
		return 0
	}
	return tb.Paths[k]
}
