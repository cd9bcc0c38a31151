package prefilter

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/rules"
)

// Renderings of numeric arguments, taken from the rules package's own
// renderer so that bounds on `evt.arg.flags contains O_TRUNC` or
// `evt.arg.request in (PTRACE_ATTACH)` agree with what rules see.
var (
	renderOnce sync.Once
	// requestNames maps each named ptrace request to its value.
	requestNames map[string][]int64
	// flagParts are the '|'-separated parts of rendered open flags with
	// the flag bits each one needs; accParts the access-mode names.
	flagParts []flagPart
	accParts  [4]string
)

// maxNamedRequest bounds the ptrace requests scanned for names; values
// above it render as numbers (checked by a test).
const maxNamedRequest = 0x4300

type flagPart struct {
	name string
	bits uint32
}

func render(ev *event.Event, field string) string {
	v, err := rules.NewEvaluator(rules.EvalOptions{}).Extract(field, ev)
	if err != nil || v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func loadRenderings() {
	renderOnce.Do(func() {
		ev := &event.Event{Type: event.TypePtrace}
		requestNames = map[string][]int64{}
		for r := int64(0); r <= maxNamedRequest; r++ {
			ev.Args.Request = r
			s := render(ev, "evt.arg.request")
			if s != strconv.FormatInt(r, 10) {
				requestNames[s] = append(requestNames[s], r)
			}
		}

		ev = &event.Event{Type: event.TypeOpenat}
		parts := func(f uint64) []string {
			ev.Args.Flags = f
			ps := strings.Split(render(ev, "evt.arg.flags"), "|")
			if f&3 != 3 && len(ps) > 0 {
				ps = ps[1:] // the access mode
			}
			return ps
		}
		for a := range uint64(3) {
			ev.Args.Flags = a
			accParts[a] = strings.Split(render(ev, "evt.arg.flags"), "|")[0]
		}
		single := map[string]bool{}
		for i := 2; i < 32; i++ {
			for _, p := range parts(1 << i) {
				if !single[p] {
					single[p] = true
					flagParts = append(flagParts, flagPart{p, 1 << i})
				}
			}
		}
		for i := 2; i < 32; i++ {
			for j := i + 1; j < 32; j++ {
				for _, p := range parts(1<<i | 1<<j) {
					if !single[p] {
						single[p] = true
						flagParts = append(flagParts, flagPart{p, 1<<i | 1<<j})
					}
				}
			}
		}
	})
}

// flagsContaining returns the atoms under which rendered open flags
// contain s: each part of the rendering that contains s needs its bits.
func flagsContaining(s string) []FlagAtom {
	loadRenderings()
	if strings.Contains(s, "|") || s == "" {
		return []FlagAtom{{Acc: AccAll}}
	}
	var atoms []FlagAtom
	for a, p := range accParts {
		if p != "" && strings.Contains(p, s) {
			atoms = appendAtom(atoms, FlagAtom{Acc: 1 << a})
		}
	}
	for _, p := range flagParts {
		if strings.Contains(p.name, s) {
			atoms = appendAtom(atoms, FlagAtom{Acc: AccAll, Set: p.bits})
		}
	}
	return atoms
}

// requestBound bounds the ptrace request from a check on evt.arg.request.
func requestBound(op string, vals []string) dnf {
	loadRenderings()
	var reqs []int64
	switch op {
	case "=", "==", "in", "intersects":
		for _, v := range vals {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && strconv.FormatInt(n, 10) == v {
				if render(&event.Event{Type: event.TypePtrace, Args: event.Args{Request: n}}, "evt.arg.request") == v {
					reqs = append(reqs, n)
				}
				continue
			}
			reqs = append(reqs, requestNames[v]...)
		}
	case "contains", "startswith", "endswith":
		// Values that are not all digits can only match names.
		if strings.Trim(vals[0], "-0123456789") == "" {
			return dnfTrue()
		}
		for name, rs := range requestNames {
			if strCheck(op, vals, name) {
				reqs = append(reqs, rs...)
			}
		}
	default:
		return dnfTrue()
	}
	if len(reqs) == 0 {
		return nil
	}
	slices.Sort(reqs)
	c := anyClause()
	c.Requests = slices.Compact(reqs)
	return dnf{c}
}
