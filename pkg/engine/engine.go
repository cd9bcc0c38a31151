// Package engine evaluates a compiled ruleset against events: it dispatches
// each event to the rules indexed for its type, runs their conditions, and
// builds an alert for every match.
package engine

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/rules"
)

// Rule matching modes.
const (
	// MatchFirst fires only the first matching rule per event, in
	// definition order (Falco's default).
	MatchFirst = "first"
	// MatchAll fires every matching rule.
	MatchAll = "all"
)

// Options configure an Engine.
type Options struct {
	// RuleMatching is MatchFirst (the default when empty) or MatchAll.
	RuleMatching string
	// Hostname goes into alerts and evt.hostname.
	Hostname string
	// Now is the clock for events without a timestamp; nil means time.Now.
	Now func() time.Time
	// UserName and GroupName resolve ids to names (user.name, group.name).
	// Nil means the node's /etc/passwd and /etc/group, read once by New.
	UserName, GroupName func(id uint32) (string, bool)
}

// RuleStats counts one rule's work since its ruleset was installed.
type RuleStats struct {
	Rule string
	// Evaluated counts the events the rule's condition ran on; Matched
	// those it matched (and alerted on).
	Evaluated, Matched uint64
}

// Engine evaluates rules. Process runs on one goroutine (the pipeline's);
// Swap and Stats may be called from any goroutine.
type Engine struct {
	cur    atomic.Pointer[state]
	eval   *rules.Evaluator
	all    bool
	host   string
	now    func() time.Time
	errors atomic.Uint64
}

// state is one installed ruleset with its dispatch index and counters.
type state struct {
	rs     *rules.Ruleset
	rules  []*rules.Rule
	byType [event.NumTypes][]int32
	// Counters, kept cheap for the hot path: one add per event (seen by
	// type); a rule's evaluations are the events of its types minus those
	// on which an earlier rule matched first (skipped, counted on the
	// alert path).
	seen    [event.NumTypes]atomic.Uint64
	skipped []atomic.Uint64
	matched []atomic.Uint64
}

// New returns an Engine running rs (which may be nil: no rules until Swap).
func New(rs *rules.Ruleset, o Options) (*Engine, error) {
	switch o.RuleMatching {
	case "", MatchFirst, MatchAll:
	default:
		return nil, fmt.Errorf("rule_matching must be %q or %q, got %q", MatchFirst, MatchAll, o.RuleMatching)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.UserName == nil {
		o.UserName = idFileLookup("/etc/passwd")
	}
	if o.GroupName == nil {
		o.GroupName = idFileLookup("/etc/group")
	}
	e := &Engine{
		eval: rules.NewEvaluator(rules.EvalOptions{Hostname: o.Hostname, UserName: o.UserName, GroupName: o.GroupName}),
		all:  o.RuleMatching == MatchAll,
		host: o.Hostname,
		now:  o.Now,
	}
	e.Swap(rs)
	return e, nil
}

func newState(rs *rules.Ruleset) *state {
	st := &state{rs: rs}
	if rs == nil {
		return st
	}
	st.rules = rs.Rules()
	st.skipped = make([]atomic.Uint64, len(st.rules))
	st.matched = make([]atomic.Uint64, len(st.rules))
	for i, r := range st.rules {
		for _, t := range r.EventTypes() {
			st.byType[t] = append(st.byType[t], int32(i))
		}
	}
	return st
}

// Swap installs rs atomically: events processed after Swap returns see only
// rs. It is safe to call while Process runs on another goroutine. Counters
// start again from zero.
func (e *Engine) Swap(rs *rules.Ruleset) { e.cur.Store(newState(rs)) }

// Ruleset returns the installed ruleset.
func (e *Engine) Ruleset() *rules.Ruleset { return e.cur.Load().rs }

// Process evaluates ev against the rules indexed for its type and calls emit
// with an alert for each match (only the first with MatchFirst). It
// allocates only to build alerts.
func (e *Engine) Process(ev *event.Event, emit func(*alert.Alert)) {
	st := e.cur.Load()
	if ev.Type >= event.NumTypes {
		return
	}
	cands := st.byType[ev.Type]
	if len(cands) == 0 {
		return
	}
	st.seen[ev.Type].Add(1)
	e.eval.Begin(st.rs, ev)
	for k, i := range cands {
		r := st.rules[i]
		ok, err := e.eval.Match(r)
		if err != nil {
			e.errors.Add(1)
			continue
		}
		if !ok {
			continue
		}
		st.matched[i].Add(1)
		emit(e.build(r, ev))
		if !e.all {
			for _, j := range cands[k+1:] {
				st.skipped[j].Add(1)
			}
			return
		}
	}
}

// build makes the alert of rule r for ev.
func (e *Engine) build(r *rules.Rule, ev *event.Event) *alert.Alert {
	out, fields := e.eval.Format(r, ev)
	a := &alert.Alert{
		Rule:         r.Name,
		Priority:     r.Priority,
		Source:       "syscall",
		Output:       out,
		Tags:         append([]string(nil), r.Tags...),
		Hostname:     e.host,
		OutputFields: fields,
	}
	if ev.Timestamp != 0 {
		a.Time = time.Unix(0, ev.Timestamp).UTC()
	} else {
		a.Time = e.now().UTC()
	}
	if m := ev.Meta; m != nil {
		a.Tenant, a.Namespace, a.Pod = m.Tenant, m.Namespace, m.PodName
		if m.ContainerID != "host" {
			a.ContainerID = m.ContainerID
		}
	}
	return a
}

// Stats returns the counters of every enabled rule of the installed
// ruleset, in definition order.
func (e *Engine) Stats() []RuleStats {
	st := e.cur.Load()
	out := make([]RuleStats, len(st.rules))
	for i, r := range st.rules {
		// skipped first: it never exceeds seen at any instant.
		skipped := st.skipped[i].Load()
		var n uint64
		for _, t := range r.EventTypes() {
			n += st.seen[t].Load()
		}
		out[i] = RuleStats{Rule: r.Name, Evaluated: n - skipped, Matched: st.matched[i].Load()}
	}
	return out
}

// Errors counts evaluations that failed (a condition that could not run);
// such events are skipped for that rule.
func (e *Engine) Errors() uint64 { return e.errors.Load() }

// Reload loads rules files and installs the result only when it loads
// without error: a failed load never replaces the running ruleset.
func (e *Engine) Reload(paths ...string) ([]rules.Warning, error) {
	rs, warns, err := rules.Load(paths...)
	if err != nil {
		return warns, err
	}
	e.Swap(rs)
	return warns, nil
}
