package rules

import (
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/event"
)

// Rule is one compiled rule.
type Rule struct {
	// Name, Desc, Priority, Tags (sorted) and Source are as loaded.
	Name     string
	Desc     string
	Priority alert.Priority
	Tags     []string
	Source   string
	// Enabled reports whether the rule runs.
	Enabled bool
	// Condition is the condition text that was compiled: the rule's
	// condition with appends, followed by its exceptions as Falco writes
	// them ("(cond) and not (...)").
	Condition string
	// Output is the output format with its %field tokens.
	Output string
	// Pos is where the rule was (last) defined.
	Pos Position
	// Capture asks for a capture of the events around each alert of the
	// rule; CaptureDuration is its length (0: the configured default).
	Capture         bool
	CaptureDuration time.Duration

	hosts   *HostResolver
	types   typeSet
	tree    Expr
	program *vm.Program
	format  *Format
	// ExprSource is the expr program text: leaf checks are P(i) calls.
	ExprSource string
}

// EventTypes returns the event types the rule's condition can match, in
// type order.
func (r *Rule) EventTypes() []event.Type { return r.types.list() }

// MatchesType reports whether the rule can match events of type t.
func (r *Rule) MatchesType(t event.Type) bool { return r.types.has(t) }

// Format returns the parsed output format.
func (r *Rule) Format() *Format { return r.format }

// Ruleset is the compiled result of loading rules files. It is immutable and
// safe to share between goroutines; evaluation state lives in an Evaluator.
type Ruleset struct {
	all   []*Rule
	rules []*Rule
	preds []pred
	types typeSet
	// hosts resolves the names of fd.*.name checks; hostEntries are the
	// names this ruleset holds, released when it is garbage.
	hosts       *HostResolver
	hostEntries []*hostEntry
}

// Rules returns the enabled rules in definition order.
func (rs *Ruleset) Rules() []*Rule { return rs.rules }

// AllRules returns every rule, disabled ones included, in definition order.
func (rs *Ruleset) AllRules() []*Rule { return rs.all }

// EventTypes returns the union of the enabled rules' event types: what the
// kernel must emit.
func (rs *Ruleset) EventTypes() []event.Type { return rs.types.list() }

// Leaves returns the number of distinct field checks compiled.
func (rs *Ruleset) Leaves() int { return len(rs.preds) }
