package probe

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/prefilter"
)

// pfNone marks an absent argument in the kernel's pf_type.
const pfNone = 0xff

// prefilterState is what the probe keeps of the installed prefilter: the
// active generation and the map keys each generation wrote.
type prefilterState struct {
	gen   uint32
	paths [2][]vigilPfPathKey
	vals  [2][]vigilPfValueKey
}

// SetPrefilter installs tb, compiled by pkg/prefilter from the loaded
// rules, as the kernel's prefilter; nil installs none (every record of a
// recorded syscall is shipped). The new contents are written as the
// inactive generation and made active with one map update, so each record
// sees either the old filter or the new one, whole; then the old
// generation's entries are deleted. Not safe for concurrent use with
// itself.
func (p *Probe) SetPrefilter(tb *prefilter.Tables) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := &p.pf
	next := st.gen ^ 1
	if err := p.clearGen(next); err != nil {
		return err
	}
	for t := range event.NumTypes {
		nr, ok := p.table.Nr(t)
		if !ok {
			continue
		}
		v := pfTypeOf(tb, t)
		if err := p.objs.PfTypes.Put(next*event.MaxSyscall+uint32(nr), v); err != nil {
			return fmt.Errorf("probe: prefilter of %s: %w", t, err)
		}
	}
	if tb != nil {
		for k, m := range tb.Paths {
			key := vigilPfPathKey{Gen: uint8(next), Arg: k.Arg, Type: uint16(k.Type), Kind: uint8(k.Kind), Len: k.Len, Hash: k.Hash}
			if err := p.objs.PfPaths.Put(key, m); err != nil {
				return fmt.Errorf("probe: prefilter path entry of %s: %w", k.Type, err)
			}
			st.paths[next] = append(st.paths[next], key)
		}
		for k, m := range tb.Requests {
			key := vigilPfValueKey{Gen: uint8(next), Type: uint16(k.Type), Value: k.Value}
			if err := p.objs.PfValues.Put(key, m); err != nil {
				return fmt.Errorf("probe: prefilter value %d of %s: %w", k.Value, k.Type, err)
			}
			st.vals[next] = append(st.vals[next], key)
		}
	}
	if err := p.objs.PfGen.Put(uint32(0), next); err != nil {
		return fmt.Errorf("probe: activate prefilter: %w", err)
	}
	old := st.gen
	st.gen = next
	return p.clearGen(old)
}

// clearGen deletes the path and value entries generation gen wrote.
func (p *Probe) clearGen(gen uint32) error {
	st := &p.pf
	var errs []error
	for _, k := range st.paths[gen] {
		if err := p.objs.PfPaths.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, err)
		}
	}
	for _, k := range st.vals[gen] {
		if err := p.objs.PfValues.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, err)
		}
	}
	st.paths[gen], st.vals[gen] = nil, nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("probe: clear prefilter: %w", err)
	}
	return nil
}

// pfTypeOf is the kernel's filter of type t: its layout always (opens are
// flagged when they return a directory), its clauses when tb filters it.
func pfTypeOf(tb *prefilter.Tables, t event.Type) vigilPfType {
	l := prefilter.LayoutOf(t)
	v := vigilPfType{Type: uint16(t), PathArg: [2]uint8{pfNone, pfNone}, FlagsSrc: uint8(l.Flags),
		ReqArg: pfNone, PassFlags: uint32(prefilter.PassFlags)}
	for i, s := range l.PathStr {
		if s != prefilter.None {
			v.PathArg[i] = uint8(s)
		}
	}
	if l.FlagsArg != prefilter.None {
		v.FlagsArg = uint8(l.FlagsArg)
	}
	if l.RequestArg != prefilter.None {
		v.ReqArg = uint8(l.RequestArg)
	}
	if l.Open {
		v.IsOpen = 1
	}
	if tb != nil && tb.Types[t].TrackedOnly {
		v.TrackedOnly = 1
	}
	if tb == nil || !tb.Types[t].Filtered {
		return v
	}
	tt := &tb.Types[t]
	v.Filtered = 1
	v.All, v.AnyPath, v.RetOk, v.RetErr = tt.All, tt.AnyPath, tt.RetOK, tt.RetErr
	v.AnyFlags, v.AnyReq = tt.AnyFlags, tt.AnyRequest
	for i, a := range tt.Atoms {
		v.Atoms[i] = vigilPfAtom{Clauses: a.Clauses, Set: a.Set, Clear: a.Clear, Acc: a.Acc}
	}
	v.Bloom = tt.Bloom
	for i := range 2 {
		v.Lens[i] = tt.Lens[i]
		v.MaxSuffix[i] = uint8(prefilter.MaxLen(&tt.Lens[i][1]))
		v.SfxClauses[i] = tt.SuffixClauses[i]
	}
	return v
}

// PrefilterDropped returns how many records the kernel's prefilter has kept
// from user space.
func (p *Probe) PrefilterDropped() uint64 {
	var per []uint64
	if err := p.objs.PfFiltered.Lookup(uint32(0), &per); err != nil {
		return 0
	}
	var n uint64
	for _, v := range per {
		n += v
	}
	return n
}
