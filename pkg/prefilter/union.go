package prefilter

import "github.com/vigilsec/vigil/pkg/event"

// Union returns a filter accepting every event either filter accepts: for
// a hot reload, the kernel applies the union while the engine swaps from
// the rules of a to those of b, so that neither set misses an event.
func Union(a, b *Filter) *Filter {
	u := &Filter{}
	for t := range event.NumTypes {
		x, y := &a.types[t], &b.types[t]
		tf := &u.types[t]
		tf.Type, tf.Rules = t, max(x.Rules, y.Rules)
		tf.Blockers = append(append([]Blocker{}, x.Blockers...), y.Blockers...)
		switch {
		case x.Rules == 0 && y.Rules == 0:
		case x.Filtered && y.Filtered || x.Filtered && y.Rules == 0 || y.Filtered && x.Rules == 0:
			tf.Filtered = true
			tf.Clauses = append(append([]Clause{}, x.Clauses...), y.Clauses...)
			if len(tf.Clauses) > MaxClauses {
				tf.Clauses = []Clause{hull(tf.Clauses)}
			}
		}
	}
	return u
}
