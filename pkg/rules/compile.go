package rules

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/vigilsec/vigil/pkg/event"
)

// Env is the environment compiled conditions run against. A condition is
// compiled to an expr program over P: P(i) evaluates the ruleset's i-th leaf
// check (a typed field comparison) on the current event, and the program
// combines the results with and, or and not, short-circuiting as Falco does
// ("let p = P; p(0) && !(p(1) || p(2))").
type Env struct {
	P func(int) bool
}

// macroUse is a macro reference replaced by the macro's tree; it keeps the
// macro so that problems inside it are reported at the macro's position.
type macroUse struct {
	Name string
	Body Expr
	Pos  int
	def  *macroDef
}

func (m *macroUse) Offset() int    { return m.Pos }
func (m *macroUse) String() string { return "(" + m.Body.String() + ")" }

// compileErr is a problem inside a rule's condition or a macro it uses.
type compileErr struct {
	def *macroDef // nil: the rule's own text
	off int
	msg string
}

type builder struct {
	c        *collector
	rs       *Ruleset
	leaves   map[string]int
	expanded map[string][]string
	warned   map[string]bool
	// cond and item are the rule being compiled.
	cond *composed
	item string
	// types are the event types of the rule being compiled: it only ever
	// runs on them, so evt.type checks decided by them become constants.
	types typeSet
	// hostEntries are the resolver's entries of the host names used so
	// far; dryRun checks conditions without acquiring names.
	hostEntries map[string]*hostEntry
	dryRun      bool
}

func (c *collector) compile() *Ruleset {
	b := &builder{c: c, rs: &Ruleset{hosts: c.hosts}, leaves: map[string]int{}, expanded: map[string][]string{}, warned: map[string]bool{},
		hostEntries: map[string]*hostEntry{}}

	lists := make([]*listDef, 0, len(c.lists))
	for _, l := range c.lists {
		lists = append(lists, l)
	}
	sort.Slice(lists, func(i, j int) bool { return lists[i].order < lists[j].order })
	for _, l := range lists {
		var items []string
		for _, it := range l.items {
			if ref, ok := b.expanded[it]; ok {
				items = append(items, ref...)
				c.lists[it].used = true
				continue
			}
			items = append(items, it)
		}
		b.expanded[l.name] = items
	}

	macros := make([]*macroDef, 0, len(c.macros))
	for _, m := range c.macros {
		macros = append(macros, m)
	}
	sort.Slice(macros, func(i, j int) bool { return macros[i].order < macros[j].order })
	for _, m := range macros {
		if m.bad {
			continue
		}
		ast, err := ParseCondition(m.cond.text)
		if err != nil {
			se := err.(*SyntaxError)
			c.errorf(m.cond.at(se.Offset), fmt.Sprintf("macro %q", m.name), "syntax error: %s", se.Msg)
			m.bad = true
			continue
		}
		m.ast = b.expandLists(ast)
	}
	for _, m := range macros {
		if m.ast != nil {
			markMacros(m.ast, c.macros)
		}
	}

	rules := make([]*ruleDef, 0, len(c.rules))
	for _, r := range c.rules {
		rules = append(rules, r)
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].order < rules[j].order })
	for _, r := range rules {
		if r.bad {
			continue // its errors are reported already
		}
		if rule := b.compileRule(r); rule != nil {
			b.rs.all = append(b.rs.all, rule)
			if rule.Enabled {
				b.rs.rules = append(b.rs.rules, rule)
				b.rs.types = b.rs.types.union(rule.types)
			}
		}
	}

	for _, m := range macros {
		b.checkUnused(m)
	}
	for _, m := range macros {
		if !m.used && !m.readBad {
			c.warnf(m.pos, fmt.Sprintf("macro %q", m.name), "macro not referred to by any rule or macro")
		}
	}
	for _, l := range lists {
		if !l.used {
			c.warnf(l.pos, fmt.Sprintf("list %q", l.name), "list not referred to by any rule, macro or list")
		}
	}
	return b.rs
}

func markMacros(e Expr, macros map[string]*macroDef) {
	walk(e, func(x Expr) {
		if m, ok := x.(*MacroRef); ok {
			if d := macros[m.Name]; d != nil {
				d.used = true
			}
		}
	})
}

func walk(e Expr, fn func(Expr)) {
	fn(e)
	switch n := e.(type) {
	case *AndExpr:
		for _, k := range n.Kids {
			walk(k, fn)
		}
	case *OrExpr:
		for _, k := range n.Kids {
			walk(k, fn)
		}
	case *NotExpr:
		walk(n.Kid, fn)
	case *macroUse:
		walk(n.Body, fn)
	}
}

// expandLists replaces unquoted list-literal items that name a list with
// the list's items.
func (b *builder) expandLists(e Expr) Expr {
	walk(e, func(x Expr) {
		ce, ok := x.(*CheckExpr)
		if !ok || !ce.IsList {
			return
		}
		var out []Value
		changed := false
		for _, v := range ce.Values {
			if items, ok := b.expanded[v.Text]; ok && !v.Quoted {
				b.c.lists[v.Text].used = true
				for _, it := range items {
					out = append(out, listItemValue(it, v.Pos))
				}
				changed = true
				continue
			}
			out = append(out, v)
		}
		if changed {
			ce.Values = out
		}
	})
	return e
}

// listItemValue turns a list item into a value: an item written with
// quotes ('"10.0.0.0/8"') is a quoted string, as Falco's textual list
// substitution makes it.
func listItemValue(it string, pos int) Value {
	if it != "" && (it[0] == '"' || it[0] == '\'') {
		p := &parser{s: it}
		if s, err := p.quoted(); err == nil && p.i == len(it) {
			return Value{Text: s, Quoted: true, Pos: pos}
		}
	}
	return Value{Text: it, Pos: pos}
}

// resolve replaces macro references by the macros' trees.
func (b *builder) resolve(e Expr, def *macroDef, stack []string) (Expr, *compileErr) {
	switch n := e.(type) {
	case *AndExpr:
		kids := make([]Expr, len(n.Kids))
		for i, k := range n.Kids {
			r, err := b.resolve(k, def, stack)
			if err != nil {
				return nil, err
			}
			kids[i] = r
		}
		return &AndExpr{Kids: kids, Pos: n.Pos}, nil
	case *OrExpr:
		kids := make([]Expr, len(n.Kids))
		for i, k := range n.Kids {
			r, err := b.resolve(k, def, stack)
			if err != nil {
				return nil, err
			}
			kids[i] = r
		}
		return &OrExpr{Kids: kids, Pos: n.Pos}, nil
	case *NotExpr:
		k, err := b.resolve(n.Kid, def, stack)
		if err != nil {
			return nil, err
		}
		return &NotExpr{Kid: k, Pos: n.Pos}, nil
	case *MacroRef:
		m := b.c.macros[n.Name]
		if m == nil {
			return nil, &compileErr{def: def, off: n.Pos, msg: fmt.Sprintf("undefined macro %q", n.Name)}
		}
		m.used = true
		if m.bad {
			return nil, &compileErr{def: def, off: n.Pos, msg: fmt.Sprintf("macro %q has errors", n.Name)}
		}
		for _, s := range stack {
			if s == n.Name {
				return nil, &compileErr{def: def, off: n.Pos, msg: fmt.Sprintf("macro %q refers to itself (%s)", n.Name, strings.Join(append(stack, n.Name), " -> "))}
			}
		}
		body, err := b.resolve(m.ast, m, append(stack, n.Name))
		if err != nil {
			return nil, err
		}
		m.checked = true
		return &macroUse{Name: n.Name, Body: body, Pos: n.Pos, def: m}, nil
	}
	return e, nil
}

func (b *builder) compileRule(r *ruleDef) *Rule {
	item := fmt.Sprintf("rule %q", r.name)
	if r.source != "syscall" {
		b.c.warnf(r.pos, item, "source %q is not supported by Vigil; rule skipped", r.source)
		return nil
	}
	cond := r.cond
	if len(r.exceptions) > 0 {
		cond = composed{segs: append([]segment{}, r.cond.segs...)}
		cond.text = "(" + r.cond.text + ")"
		for i := range cond.segs {
			cond.segs[i].start++
		}
		if ec := exceptionCondition(r.exceptions); ec != "" {
			cond.segs = append(cond.segs, segment{start: len(cond.text), loc: textLoc{file: &srcFile{path: r.pos.File}, line: r.pos.Line, col: r.pos.Col}})
			cond.text += ec
		}
	}
	rule := &Rule{Name: r.name, Desc: r.desc, Priority: r.priority, Tags: r.tags, Source: r.source,
		Enabled: r.enabled, Condition: cond.text, Output: r.output.text, Pos: r.pos,
		Capture: r.capture, CaptureDuration: r.captureDuration, hosts: b.rs.hosts}
	if rule.Tags == nil {
		rule.Tags = []string{}
	}
	ast, err := ParseCondition(cond.text)
	if err != nil {
		se := err.(*SyntaxError)
		b.c.errorf(cond.at(se.Offset), item, "syntax error: %s", se.Msg)
		return nil
	}
	ast = b.expandLists(ast)
	b.cond, b.item = &cond, item
	resolved, cerr := b.resolve(ast, nil, nil)
	if cerr == nil {
		b.types = eventTypes(resolved, false)
		var src strings.Builder
		// P is bound to a variable once so each leaf call is a cheap
		// variable load rather than a field fetch from the environment.
		src.WriteString("let p = P; ")
		cerr = b.emit(resolved, nil, &src)
		rule.ExprSource = src.String()
	}
	if cerr != nil {
		pos, where := cond.at(cerr.off), item
		if cerr.def != nil {
			pos = cerr.def.cond.at(cerr.off)
			where = fmt.Sprintf("macro %q (used by rule %q)", cerr.def.name, r.name)
		}
		if r.skipUnknown && strings.HasPrefix(cerr.msg, "unknown field") {
			b.c.warnf(pos, where, "%s; rule skipped (skip-if-unknown-filter)", cerr.msg)
			return nil
		}
		b.c.errorf(pos, where, "%s", cerr.msg)
		return nil
	}
	prog, err := expr.Compile(rule.ExprSource, expr.Env(Env{}), expr.AsBool())
	if err != nil {
		b.c.errorf(r.pos, item, "compiling condition: %v", err)
		return nil
	}
	rule.program = prog
	rule.tree = inline(resolved)
	rule.types = eventTypes(resolved, false)
	if n := rule.types.count(); n == 0 {
		b.c.warnf(r.pos, item, "rule matches no event type Vigil emits; it will never fire")
	} else if tooManyTypes(n) && r.warnEvttypes {
		b.c.warnf(r.pos, item, "rule matches too many evt.type values; this has a significant performance penalty")
	}
	f, err := parseOutput(rule.Output)
	if err != nil {
		if pe, ok := err.(*posError); ok {
			if r.skipUnknown && strings.HasPrefix(pe.msg, "unknown field") {
				b.c.warnf(r.output.at(pe.off), item, "output: %s; rule skipped (skip-if-unknown-filter)", pe.msg)
				return nil
			}
			b.c.errorf(r.output.at(pe.off), item, "output: %s", pe.msg)
		} else {
			b.c.errorf(r.pos, item, "output: %v", err)
		}
		return nil
	}
	rule.format = f
	return rule
}

// emit writes the expr source of e; leaf checks become P(i) calls.
func (b *builder) emit(e Expr, def *macroDef, sb *strings.Builder) *compileErr {
	switch n := e.(type) {
	case *AndExpr, *OrExpr:
		kids, op := []Expr(nil), " && "
		if a, ok := n.(*AndExpr); ok {
			kids = a.Kids
		} else {
			kids, op = n.(*OrExpr).Kids, " || "
		}
		sb.WriteByte('(')
		for i := 0; i < len(kids); {
			if i > 0 {
				sb.WriteString(op)
			}
			// A run of two or more leaf operands becomes one grouped leaf.
			j := i
			for j < len(kids) {
				if _, _, _, ok := leafOf(kids[j], def, false); !ok {
					break
				}
				j++
			}
			if j-i >= 2 {
				idx, err := b.groupIndex(kids[i:j], def, op == " && ")
				if err != nil {
					return err
				}
				sb.WriteString("p(")
				sb.WriteString(strconv.Itoa(idx))
				sb.WriteByte(')')
				i = j
				continue
			}
			if err := b.emit(kids[i], def, sb); err != nil {
				return err
			}
			i++
		}
		sb.WriteByte(')')
	case *NotExpr:
		sb.WriteString("!(")
		if err := b.emit(n.Kid, def, sb); err != nil {
			return err
		}
		sb.WriteByte(')')
	case *macroUse:
		return b.emit(n.Body, n.def, sb)
	case *CheckExpr:
		if c, ok := b.constEvtType(n); ok {
			sb.WriteString(strconv.FormatBool(c))
			return nil
		}
		idx, err := b.leafIndex(n, def)
		if err != nil {
			return err
		}
		sb.WriteString("p(")
		sb.WriteString(strconv.Itoa(idx))
		sb.WriteByte(')')
	default:
		return &compileErr{def: def, off: e.Offset(), msg: fmt.Sprintf("unexpected %T", e)}
	}
	return nil
}

// constEvtType decides an evt.type check from the rule's event types when
// it can: true when every type the rule runs on passes it, false when none
// does.
func (b *builder) constEvtType(n *CheckExpr) (bool, bool) {
	if n.Field.Name != "evt.type" || n.Field.HasArg || len(n.Field.Transformers) > 0 || n.RHS != nil {
		return false, false
	}
	var set typeSet
	switch n.Op {
	case "=", "==", "in", "intersects", "!=":
	default:
		return false, false
	}
	for _, v := range n.Values {
		if t, ok := event.TypeByName(v.Text); ok {
			set.add(t)
		}
	}
	if n.Op == "!=" {
		set = set.complement()
	}
	if b.types.count() == 0 {
		return false, false
	}
	switch {
	case b.types.intersect(set) == b.types:
		return true, true
	case b.types.intersect(set).count() == 0:
		return false, true
	}
	return false, false
}

// leafIndex compiles a check once per ruleset and returns its leaf index.
func (b *builder) leafIndex(n *CheckExpr, def *macroDef) (int, *compileErr) {
	key := n.String()
	idx, ok := b.leaves[key]
	if !ok {
		p, err := b.compileCheck(n, func(name string, off int) {
			k := fmt.Sprintf("%p/%d/%s", def, off, name)
			if !b.warned[k] {
				b.warned[k] = true
				pos, where := b.cond.at(off), b.item
				if def != nil {
					pos, where = def.cond.at(off), fmt.Sprintf("macro %q", def.name)
				}
				b.c.warnf(pos, where, "unknown event type %q: Vigil does not emit it, the check never matches it", name)
			}
		})
		if err != nil {
			pe := err.(*posError)
			return 0, &compileErr{def: def, off: pe.off, msg: pe.msg}
		}
		idx = len(b.rs.preds)
		b.rs.preds = append(b.rs.preds, p)
		b.leaves[key] = idx
	}
	return idx, nil
}

// leafOf unwraps a leaf operand: a check, possibly negated and possibly the
// whole body of a macro. It returns the check, whether it is negated, and
// the macro it comes from.
func leafOf(e Expr, def *macroDef, neg bool) (*CheckExpr, bool, *macroDef, bool) {
	switch n := e.(type) {
	case *CheckExpr:
		return n, neg, def, true
	case *NotExpr:
		return leafOf(n.Kid, def, !neg)
	case *macroUse:
		return leafOf(n.Body, n.def, neg)
	}
	return nil, false, nil, false
}

// groupMember is one operand of a grouped leaf: a leaf check (idx >= 0),
// possibly negated, or a constant.
type groupMember struct {
	idx   int
	neg   bool
	konst bool
}

// groupIndex compiles a run of leaf operands of an and (all) or an or (not
// all) into one leaf that evaluates them in order with short-circuit, as
// the expr program would; it saves the VM a call per operand.
func (b *builder) groupIndex(kids []Expr, def *macroDef, all bool) (int, *compileErr) {
	var ms []groupMember
	var key strings.Builder
	if all {
		key.WriteString("all(")
	} else {
		key.WriteString("any(")
	}
	for _, k := range kids {
		ce, neg, d, _ := leafOf(k, def, false)
		if c, ok := b.constEvtType(ce); ok {
			v := c != neg
			if v == all {
				continue // neutral: true in an and, false in an or
			}
			ms = append(ms, groupMember{idx: -1, konst: v})
			fmt.Fprintf(&key, "%t,", v)
			continue
		}
		idx, err := b.leafIndex(ce, d)
		if err != nil {
			return 0, err
		}
		ms = append(ms, groupMember{idx: idx, neg: neg})
		fmt.Fprintf(&key, "%t:%d,", neg, idx)
	}
	key.WriteByte(')')
	if idx, ok := b.leaves[key.String()]; ok {
		return idx, nil
	}
	p := func(c *Ctx) bool {
		for _, m := range ms {
			var r bool
			if m.idx < 0 {
				r = m.konst
			} else {
				r = c.leaf(m.idx) != m.neg
			}
			if r != all {
				return r
			}
		}
		return all
	}
	idx := len(b.rs.preds)
	b.rs.preds = append(b.rs.preds, p)
	b.leaves[key.String()] = idx
	return idx, nil
}

// checkUnused resolves and type-checks a macro that no compiled rule used,
// so that an undefined macro or a bad check inside it is still reported.
// Falco loads such macros without compiling them, so the problems are
// warnings.
func (b *builder) checkUnused(m *macroDef) {
	if m.checked || m.bad || m.ast == nil {
		return
	}
	// Macros a compiled rule used are checked already: skip them.
	done := map[*macroDef]bool{}
	for _, d := range b.c.macros {
		done[d] = d.checked
	}
	resolved, cerr := b.resolve(&MacroRef{Name: m.name}, m, nil)
	if cerr == nil {
		b.dryRun = true
		cerr = b.checkLeaves(resolved, m, done)
		b.dryRun = false
	}
	m.checked = true
	if cerr == nil {
		return
	}
	def := cerr.def
	if def == nil {
		def = m
	}
	where := fmt.Sprintf("macro %q", def.name)
	if def != m {
		where = fmt.Sprintf("macro %q (used by macro %q)", def.name, m.name)
	}
	b.c.warnf(def.cond.at(cerr.off), where, "%s (no rule uses the macro)", cerr.msg)
}

// checkLeaves compiles every check of a resolved tree, except in the
// macros marked done, and returns the first problem.
func (b *builder) checkLeaves(e Expr, def *macroDef, done map[*macroDef]bool) *compileErr {
	switch n := e.(type) {
	case *AndExpr:
		for _, k := range n.Kids {
			if err := b.checkLeaves(k, def, done); err != nil {
				return err
			}
		}
	case *OrExpr:
		for _, k := range n.Kids {
			if err := b.checkLeaves(k, def, done); err != nil {
				return err
			}
		}
	case *NotExpr:
		return b.checkLeaves(n.Kid, def, done)
	case *macroUse:
		if done[n.def] {
			return nil
		}
		return b.checkLeaves(n.Body, n.def, done)
	case *CheckExpr:
		if _, err := b.compileCheck(n, nil); err != nil {
			pe := err.(*posError)
			return &compileErr{def: def, off: pe.off, msg: pe.msg}
		}
	}
	return nil
}

// compileCheck compiles a leaf check; fd.*.name comparisons get the
// resolver's entries of their host names.
func (b *builder) compileCheck(ce *CheckExpr, unknownTypes func(name string, off int)) (pred, error) {
	d, _, hasDot, ok := lookupField(ce.Field.Name)
	if !ok || d.hostIP == nil || hasDot || ce.Field.HasArg || len(ce.Field.Transformers) > 0 || ce.RHS != nil || ce.Op == "exists" {
		return compileCheck(ce, unknownTypes)
	}
	var any bool
	switch ce.Op {
	case "=", "==", "in", "intersects":
		any = true
	case "!=":
	default:
		return nil, errAt(ce.Pos, "operator %s cannot be used with field %s: it compares the address with those of host names (use =, !=, in or exists)", ce.Op, d.name)
	}
	if len(ce.Values) == 0 && !ce.IsList {
		return nil, errAt(ce.Pos, "operator %s needs a value", ce.Op)
	}
	if b.dryRun {
		return func(*Ctx) bool { return false }, nil
	}
	es := make([]*hostEntry, 0, len(ce.Values))
	for _, v := range ce.Values {
		e, ok := b.hostEntries[v.Text]
		if !ok {
			e = b.rs.hosts.acquire([]string{v.Text})[0]
			b.hostEntries[v.Text] = e
			if e == nil {
				b.c.warnf(Position{}, "", "host name %q is not resolved: the resolver holds its maximum of names; checks on it are false", v.Text)
			} else {
				b.rs.hostEntries = append(b.rs.hostEntries, e)
			}
		}
		es = append(es, e)
	}
	ip := d.hostIP
	return func(c *Ctx) bool {
		a, ok := ip(c)
		return ok && hostMatch(es, a, any)
	}, nil
}
