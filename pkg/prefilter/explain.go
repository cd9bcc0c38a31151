package prefilter

import (
	"fmt"
	"io"
	"strings"

	"github.com/vigilsec/vigil/pkg/event"
)

// Explain writes, per event type the rules can match, the filter the
// kernel applies and what kept it from being tighter: the rules of the
// widest clause, or the rules and state needs that left the type
// unfiltered. Closes, which no rule may match but state tracking needs,
// get a line of their own.
func (f *Filter) Explain(w io.Writer) error {
	for t := range event.NumTypes {
		tf := &f.types[t]
		if t == event.TypeClose && tf.Rules == 0 {
			if _, err := fmt.Fprintf(w, "%s: only closes of descriptors user space holds an entry for (no rule; state tracking)\n", t); err != nil {
				return err
			}
			continue
		}
		if tf.Rules == 0 {
			continue
		}
		var err error
		switch {
		case !tf.Filtered:
			_, err = fmt.Fprintf(w, "%s: unfiltered (%d rules)\n", t, tf.Rules)
			for _, b := range tf.Blockers {
				if err == nil {
					if b.Rule == "" {
						_, err = fmt.Fprintf(w, "  kept by: %s\n", b.Reason)
					} else {
						_, err = fmt.Fprintf(w, "  kept by rule %q: %s\n", b.Rule, b.Reason)
					}
				}
			}
		case len(tf.Clauses) == 0:
			_, err = fmt.Fprintf(w, "%s: dropped: no rule can match it (%d rules)\n", t, tf.Rules)
		default:
			_, err = fmt.Fprintf(w, "%s: filtered, %d clauses (%d rules)\n", t, len(tf.Clauses), tf.Rules)
			if isOpen(t) && err == nil {
				_, err = fmt.Fprintf(w, "  always passes: O_DIRECTORY and O_PATH opens, opens returning a directory, relative or unclean paths\n")
			}
			var wide []string
			for i := range tf.Clauses {
				c := &tf.Clauses[i]
				if err == nil {
					_, err = fmt.Fprintf(w, "  %s\n    from: %s\n", c.String(), strings.Join(quoteAll(c.Rules), ", "))
				}
				if _, paths := pathArgs[t]; paths && c.Path == nil && c.Path2 == nil {
					wide = append(wide, c.Rules...)
				}
			}
			if len(wide) > 0 && err == nil {
				_, err = fmt.Fprintf(w, "  widened by (no path bound): %s\n", strings.Join(quoteAll(dedup(wide)), ", "))
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func quoteAll(xs []string) []string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return q
}
