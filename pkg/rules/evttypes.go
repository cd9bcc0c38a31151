package rules

import (
	"math/bits"

	"github.com/vigilsec/vigil/pkg/event"
)

// typeSet is a set of event types.
type typeSet [(event.NumTypes + 63) / 64]uint64

func (s *typeSet) add(t event.Type)      { s[t/64] |= 1 << (t % 64) }
func (s *typeSet) has(t event.Type) bool { return t < event.NumTypes && s[t/64]&(1<<(t%64)) != 0 }

func allTypes() typeSet {
	var s typeSet
	for t := event.Type(1); t < event.NumTypes; t++ {
		s.add(t)
	}
	return s
}

func (s typeSet) union(o typeSet) typeSet {
	for i := range s {
		s[i] |= o[i]
	}
	return s
}

func (s typeSet) intersect(o typeSet) typeSet {
	for i := range s {
		s[i] &= o[i]
	}
	return s
}

func (s typeSet) complement() typeSet {
	all := allTypes()
	for i := range s {
		s[i] = ^s[i] & all[i]
	}
	return s
}

func (s typeSet) count() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

func (s typeSet) list() []event.Type {
	out := make([]event.Type, 0, s.count())
	for t := event.Type(1); t < event.NumTypes; t++ {
		if s.has(t) {
			out = append(out, t)
		}
	}
	return out
}

// eventTypes computes the event types a condition (macros resolved) can
// match, with Falco's algorithm: `and` intersects, `or` unions, `not` is
// pushed down (swapping the two and complementing evt.type sets), and only
// `evt.type` checks restrict; every other check matches every type.
func eventTypes(e Expr, inverted bool) typeSet {
	switch n := e.(type) {
	case *AndExpr:
		return combine(n.Kids, inverted, !inverted)
	case *OrExpr:
		return combine(n.Kids, inverted, inverted)
	case *NotExpr:
		return eventTypes(n.Kid, !inverted)
	case *macroUse:
		return eventTypes(n.Body, inverted)
	case *CheckExpr:
		if n.Field.Name != "evt.type" || n.Field.HasArg || len(n.Field.Transformers) > 0 || n.RHS != nil {
			return allTypes()
		}
		var set typeSet
		switch n.Op {
		case "=", "==", "in", "intersects":
		case "!=":
			inverted = !inverted
		default:
			return allTypes()
		}
		for _, v := range n.Values {
			if t, ok := event.TypeByName(v.Text); ok {
				set.add(t)
			}
		}
		if inverted {
			return set.complement()
		}
		return set
	}
	return allTypes()
}

func combine(kids []Expr, inverted, intersect bool) typeSet {
	var acc typeSet
	for i, k := range kids {
		s := eventTypes(k, inverted)
		switch {
		case i == 0:
			acc = s
		case intersect:
			acc = acc.intersect(s)
		default:
			acc = acc.union(s)
		}
	}
	return acc
}

// tooManyTypes reports whether a rule matching n event types deserves
// Falco's "too many evt.type values" warning: no evt.type check at all, or
// a negated one (`evt.type != open`) that leaves more than half of the
// types Vigil emits. (Falco warns above 100 of its 400-odd types.)
func tooManyTypes(n int) bool { return n > allTypes().count()/2 }
