package rules

import (
	"fmt"

	"github.com/expr-lang/expr/vm"
	"github.com/vigilsec/vigil/pkg/event"
)

// EvalOptions configure an Evaluator.
type EvalOptions struct {
	// Hostname is evt.hostname.
	Hostname string
	// UserName and GroupName resolve ids for user.name, group.name and
	// uid arguments; nil leaves them missing.
	UserName, GroupName func(id uint32) (string, bool)
}

// Evaluator runs compiled rules on events. It holds one reused expr VM and
// scratch space, so it belongs to one goroutine; it does not allocate per
// evaluation.
type Evaluator struct {
	ctx Ctx
	env Env
	vm  vm.VM
	rs  *Ruleset
}

// NewEvaluator returns an Evaluator.
func NewEvaluator(o EvalOptions) *Evaluator {
	e := &Evaluator{ctx: Ctx{Hostname: o.Hostname, UserName: o.UserName, GroupName: o.GroupName, buf: make([]byte, 0, 4096)}}
	e.env.P = e.ctx.leaf
	return e
}

// Begin starts the evaluation of ev against rules of rs; Match then runs
// rules on it. Call Begin for every event, even when the *Event is reused.
func (e *Evaluator) Begin(rs *Ruleset, ev *event.Event) {
	c := &e.ctx
	c.Ev = ev
	if rs != e.rs {
		e.rs, c.preds, c.hosts = rs, rs.preds, rs.hosts
		c.stamp = make([]uint32, len(rs.preds))
		c.res = make([]bool, len(rs.preds))
		c.gen = 0
	}
	c.gen++
	if c.gen == 0 { // wrapped: forget every stamp
		clear(c.stamp)
		c.gen = 1
	}
}

// Match reports whether rule r of the ruleset passed to Begin matches the
// event passed to Begin. The caller checks the event type first
// (r.MatchesType); Match evaluates the whole condition.
func (e *Evaluator) Match(r *Rule) (bool, error) {
	out, err := e.vm.Run(r.program, &e.env)
	if err != nil {
		return false, fmt.Errorf("rule %q: %w", r.Name, err)
	}
	return out.(bool), nil
}

// Format renders r's output for ev: the text with every token substituted
// (<NA> when missing), and the output fields keyed by token with typed
// values (nil when missing). It allocates; call it only for matches.
func (e *Evaluator) Format(r *Rule, ev *event.Event) (string, map[string]any) {
	e.ctx.Ev = ev
	e.ctx.hosts = r.hosts
	f := r.format
	fields := make(map[string]any, len(f.Tokens))
	out := make([]byte, 0, 256)
	for _, p := range f.parts {
		if p.tok == "" {
			out = append(out, p.lit...)
			continue
		}
		e.ctx.buf = e.ctx.buf[:0]
		v, ok := p.ex(&e.ctx, 0)
		if !ok {
			out = append(out, "<NA>"...)
			fields[p.tok] = nil
			continue
		}
		out = appendValue(out, p.typ, v)
		if _, done := fields[p.tok]; !done {
			fields[p.tok] = typedValue(p.typ, v)
		}
	}
	return string(out), fields
}

// Extract returns the typed value of a field expression (as written in an
// output token, e.g. "proc.aname[2]") for ev, or nil when it is missing.
func (e *Evaluator) Extract(field string, ev *event.Event) (any, error) {
	p := &parser{s: field}
	ref, err := p.parseField()
	if err != nil {
		return nil, err
	}
	if p.i != len(field) {
		return nil, fmt.Errorf("unexpected %q after field", field[p.i:])
	}
	ex, typ, _, err := bindField(&ref)
	if err != nil {
		return nil, err
	}
	e.ctx.Ev = ev
	e.ctx.buf = e.ctx.buf[:0]
	v, ok := ex(&e.ctx, 0)
	if !ok {
		return nil, nil
	}
	return typedValue(typ, v), nil
}
