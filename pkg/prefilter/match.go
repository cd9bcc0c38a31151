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

// pathMask returns the clauses path argument arg satisfies.
func (tb *Tables) pathMask(tt *TypeTable, t event.Type, arg uint8, p string) uint64 {
	if len(p) > MaxPath || !Clean(p) {
		return tt.All
	}
	m := tt.AnyPath[arg] | tb.Exact[PathKey{t, arg, p}]
	m |= longest(tb.Prefixes, t, arg, p)
	return m | longest(tb.Suffixes, t, arg, reverse(p))
}

// longest is a longest-prefix lookup, as a BPF LPM trie does it.
func longest(m map[PathKey]uint64, t event.Type, arg uint8, p string) uint64 {
	for i := len(p); i > 0; i-- {
		if v, ok := m[PathKey{t, arg, p[:i]}]; ok {
			return v
		}
	}
	return 0
}
