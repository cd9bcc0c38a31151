package prefilter

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/rules"
	"golang.org/x/sys/unix"
)

// MaxClauses is the most clauses one event type's filter holds: the kernel
// keeps a 64-bit clause mask per map entry.
const MaxClauses = 64

// Filter is the prefilter derived from a ruleset, per event type.
type Filter struct {
	types [event.NumTypes]TypeFilter
}

// TypeFilter is the filter of one event type.
type TypeFilter struct {
	Type event.Type
	// Filtered reports that the kernel applies Clauses; otherwise every
	// event of the type passes.
	Filtered bool
	// Clauses accept an event when any of them does; with Filtered and no
	// clause, no event of the type passes (no rule can match it).
	Clauses []Clause
	// Blockers are the rules (or the state tracking) that kept the type
	// unfiltered.
	Blockers []Blocker
	// Rules counts the enabled rules that can match the type.
	Rules int
}

// Blocker names what kept an event type unfiltered.
type Blocker struct {
	// Rule is the rule's name, "" for state tracking.
	Rule   string
	Reason string
}

// keep are the event types never filtered: the process and descriptor
// tables, cwd and memfds depend on them.
var keep = []event.Type{
	event.TypeExecve, event.TypeExecveat, event.TypeFork, event.TypeVfork, event.TypeClone,
	event.TypeClone3, event.TypeProcExit, event.TypeChdir, event.TypeFchdir, event.TypeClose,
	event.TypeDup, event.TypeDup2, event.TypeDup3, event.TypeSocket, event.TypeConnect,
	event.TypeBind, event.TypeAccept, event.TypeAccept4, event.TypeListen, event.TypeSendto,
	event.TypeSendmsg, event.TypeMemfdCreate,
}

// fdUsers are the event types whose fd.* fields come from a descriptor an
// earlier open may have created.
var fdUsers = []event.Type{
	event.TypeClose, event.TypeDup, event.TypeDup2, event.TypeDup3, event.TypeFchmod,
	event.TypeFchown, event.TypeFinitModule, event.TypeSetns, event.TypeFchdir, event.TypeListen,
	event.TypeSendto, event.TypeSendmsg, event.TypeConnect, event.TypeBind, event.TypeAccept,
	event.TypeAccept4,
}

// Kept reports whether events of type t are never filtered.
func Kept(t event.Type) bool { return slices.Contains(keep, t) }

// Derive computes the prefilter of the enabled rules of rs.
func Derive(rs *rules.Ruleset) *Filter {
	f := &Filter{}
	for t := range event.NumTypes {
		f.types[t] = TypeFilter{Type: t}
	}
	per := make([][]Clause, event.NumTypes)
	for _, r := range rs.Rules() {
		tree := r.Tree()
		for _, t := range r.EventTypes() {
			tf := &f.types[t]
			tf.Rules++
			if Kept(t) {
				continue
			}
			d := derive(t, tree, false)
			for _, c := range d {
				if c.unbounded() {
					tf.Blockers = append(tf.Blockers, Blocker{r.Name, "no bound the kernel can check on " + t.String()})
					break
				}
				c.Rules = []string{r.Name}
				per[t] = append(per[t], c)
			}
		}
	}
	// Opens create descriptors that later events' fd.* fields read.
	var fdBlock []Blocker
	for _, r := range rs.Rules() {
		if !readsFD(r.Tree()) {
			continue
		}
		for _, t := range r.EventTypes() {
			if !slices.Contains(fdUsers, t) {
				continue
			}
			for _, c := range derive(t, r.Tree(), false) {
				if !c.fdSock {
					fdBlock = append(fdBlock, Blocker{r.Name, "reads fd.* on " + t.String() + " events, which may use any opened file"})
					break
				}
			}
		}
	}
	for t := range event.NumTypes {
		tf := &f.types[t]
		switch {
		case tf.Rules == 0:
			continue
		case Kept(t):
			tf.Blockers = []Blocker{{"", "state tracking needs every " + t.String() + " event"}}
			continue
		case isOpen(t) && len(fdBlock) > 0:
			tf.Blockers = append(tf.Blockers, fdBlock...)
		}
		if len(tf.Blockers) > 0 {
			continue
		}
		tf.Filtered = true
		tf.Clauses = mergeClauses(per[t])
	}
	return f
}

// Type returns the filter of type t.
func (f *Filter) Type(t event.Type) *TypeFilter {
	if t >= event.NumTypes {
		return nil
	}
	return &f.types[t]
}

// derive returns the bound e implies on events of type t (its negation's
// with neg).
func derive(t event.Type, e rules.Expr, neg bool) dnf {
	switch n := e.(type) {
	case *rules.AndExpr:
		return combine(t, n.Kids, neg, !neg)
	case *rules.OrExpr:
		return combine(t, n.Kids, neg, neg)
	case *rules.NotExpr:
		return derive(t, n.Kid, !neg)
	case *rules.CheckExpr:
		return leaf(t, n, neg)
	}
	return dnfTrue()
}

// combine joins the kids' bounds with and (all) or or.
func combine(t event.Type, kids []rules.Expr, neg, all bool) dnf {
	var d dnf
	for i, k := range kids {
		kd := derive(t, k, neg)
		switch {
		case i == 0:
			d = kd
		case all:
			d = d.and(kd)
		default:
			d = d.or(kd)
		}
	}
	return d
}

// readsFD reports whether a condition reads an fd.* field.
func readsFD(e rules.Expr) bool {
	switch n := e.(type) {
	case *rules.AndExpr:
		return slices.ContainsFunc(n.Kids, readsFD)
	case *rules.OrExpr:
		return slices.ContainsFunc(n.Kids, readsFD)
	case *rules.NotExpr:
		return readsFD(n.Kid)
	case *rules.CheckExpr:
		return strings.HasPrefix(n.Field.Name, "fd.") || (n.RHS != nil && strings.HasPrefix(n.RHS.Name, "fd."))
	}
	return true
}

// mergeClauses merges clauses with the same bounds but paths and ptrace
// requests, uniting those, and falls back to one hull clause beyond MaxClauses. Every open
// clause also accepts O_DIRECTORY and O_PATH opens (see passAlways).
func mergeClauses(cs []Clause) []Clause {
	var out []Clause
	idx := map[string]int{}
	for _, c := range cs {
		k := mergeKey(&c)
		if i, ok := idx[k]; ok {
			out[i] = hull([]Clause{out[i], c})
			continue
		}
		idx[k] = len(out)
		c.Rules = slices.Clone(c.Rules)
		out = append(out, c)
	}
	if len(out) > MaxClauses {
		out = []Clause{hull(out)}
	}
	return out
}

func mergeKey(c *Clause) string {
	return fmt.Sprintf("%v|%d|%t|%t|%t", c.Flags, c.Ret, c.Requests == nil, c.Path == nil, c.Path2 == nil)
}

// passAlways are open flags whose events always pass, as do opens that
// return a directory (Args.OpenedDir): such descriptors may become a dirfd
// or an fchdir target, which later path resolution reads.
const passAlways = unix.O_DIRECTORY | unix.O_PATH
