package rules

import (
	"fmt"
	"strings"
)

// maxDepth bounds the nesting of a condition, as Falco does.
const maxDepth = 1000

// transformers are the field transformers of the condition language.
var transformers = map[string]bool{"tolower": true, "toupper": true, "b64": true, "basename": true, "len": true}

// Operators of the condition language, longest symbol first.
var symbolOps = []string{"==", "!=", "<=", ">=", "=", "<", ">"}

var wordOps = map[string]bool{
	"contains": true, "icontains": true, "bcontains": true, "startswith": true,
	"bstartswith": true, "endswith": true, "glob": true, "iglob": true, "regex": true,
	"in": true, "intersects": true, "pmatch": true, "exists": true,
}

// listOps take a parenthesised list operand.
var listOps = map[string]bool{"in": true, "intersects": true, "pmatch": true}

// ParseCondition parses a condition into its AST. Macro names stay
// unresolved (MacroRef) and list names stay as values; Load resolves both.
func ParseCondition(s string) (Expr, error) {
	p := &parser{s: s}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipBlank()
	if p.i < len(p.s) {
		return nil, p.errf("unexpected %q after the end of the condition", p.rest(12))
	}
	return e, nil
}

type parser struct {
	s     string
	i     int
	depth int
}

func (p *parser) errf(format string, args ...any) error {
	return &SyntaxError{Offset: p.i, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) rest(n int) string {
	r := p.s[p.i:]
	if len(r) > n {
		r = r[:n] + "..."
	}
	return r
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\b' || c == '\f' || c == '\v'
}

func (p *parser) skipBlank() {
	for p.i < len(p.s) && isBlank(p.s[p.i]) {
		p.i++
	}
}

func isIdentStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' || c == '_' }

// keyword reports whether the word kw starts at the cursor and is followed by
// a blank, a parenthesis or the end (so "android" is not "and").
func (p *parser) keyword(kw string) bool {
	if !strings.HasPrefix(p.s[p.i:], kw) {
		return false
	}
	j := p.i + len(kw)
	return j == len(p.s) || isBlank(p.s[j]) || p.s[j] == '('
}

func (p *parser) enter() error {
	p.depth++
	if p.depth >= maxDepth {
		return p.errf("condition nested deeper than %d", maxDepth)
	}
	return nil
}

func (p *parser) parseOr() (Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.skipBlank()
	start := p.i
	first, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	kids := []Expr{first}
	for {
		p.skipBlank()
		if !p.keyword("or") {
			break
		}
		p.i += 2
		k, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &OrExpr{Kids: kids, Pos: start}, nil
}

func (p *parser) parseAnd() (Expr, error) {
	p.skipBlank()
	start := p.i
	first, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	kids := []Expr{first}
	for {
		p.skipBlank()
		if !p.keyword("and") {
			break
		}
		p.i += 3
		k, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &AndExpr{Kids: kids, Pos: start}, nil
}

func (p *parser) parseNot() (Expr, error) {
	p.skipBlank()
	if p.keyword("not") {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		start := p.i
		p.i += 3
		k, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &NotExpr{Kid: k, Pos: start}, nil
	}
	return p.parseCheck()
}

func (p *parser) parseCheck() (Expr, error) {
	p.skipBlank()
	if p.i >= len(p.s) {
		return nil, p.errf("unexpected end of condition, expected a field, a macro or '('")
	}
	start := p.i
	if p.s[p.i] == '(' {
		p.i++
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		p.skipBlank()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, p.errf("expected ')' to close the '(' at offset %d", start)
		}
		p.i++
		return e, nil
	}
	if !isIdentStart(p.s[p.i]) {
		return nil, p.errf("unexpected %q, expected a field, a macro or '('", p.rest(12))
	}
	name := p.ident()
	if !strings.Contains(name, ".") && !(transformers[name] && p.i < len(p.s) && p.s[p.i] == '(') {
		if name == "and" || name == "or" || name == "not" {
			return nil, &SyntaxError{Offset: start, Msg: fmt.Sprintf("unexpected keyword %q", name)}
		}
		return &MacroRef{Name: name, Pos: start}, nil
	}
	p.i = start
	f, err := p.parseField()
	if err != nil {
		return nil, err
	}
	return p.parseOperator(f, start)
}

// ident reads [a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z][a-zA-Z0-9_]*)*.
func (p *parser) ident() string {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if isIdentChar(c) {
			p.i++
			continue
		}
		if c == '.' && p.i+1 < len(p.s) && isIdentStart(p.s[p.i+1]) {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i]
}

// parseField reads a field, possibly wrapped in transformers.
func (p *parser) parseField() (FieldRef, error) {
	p.skipBlank()
	start := p.i
	if p.i >= len(p.s) || !isIdentStart(p.s[p.i]) {
		return FieldRef{}, p.errf("expected a field name, got %q", p.rest(12))
	}
	name := p.ident()
	if transformers[name] && p.i < len(p.s) && p.s[p.i] == '(' {
		if err := p.enter(); err != nil {
			return FieldRef{}, err
		}
		defer func() { p.depth-- }()
		p.i++
		inner, err := p.parseField()
		if err != nil {
			return FieldRef{}, err
		}
		p.skipBlank()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return FieldRef{}, p.errf("expected ')' after the argument of %s", name)
		}
		p.i++
		inner.Transformers = append(inner.Transformers, name)
		inner.Pos = start
		return inner, nil
	}
	if !strings.Contains(name, ".") {
		return FieldRef{}, &SyntaxError{Offset: start, Msg: fmt.Sprintf("%q is not a field name", name)}
	}
	f := FieldRef{Name: name, Pos: start}
	if p.i < len(p.s) && p.s[p.i] == '[' {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '"' || p.s[p.i] == '\'') {
			v, err := p.quoted()
			if err != nil {
				return FieldRef{}, err
			}
			f.Arg = v
		} else {
			a := p.i
			for p.i < len(p.s) && p.s[p.i] != ']' && p.s[p.i] != '[' && p.s[p.i] != '"' && p.s[p.i] != '\'' && !isBlank(p.s[p.i]) {
				p.i++
			}
			f.Arg = p.s[a:p.i]
			if f.Arg == "" {
				return FieldRef{}, p.errf("empty argument of field %s", name)
			}
		}
		if p.i >= len(p.s) || p.s[p.i] != ']' {
			return FieldRef{}, p.errf("expected ']' after the argument of field %s", name)
		}
		p.i++
		f.HasArg = true
	}
	return f, nil
}

func (p *parser) parseOperator(f FieldRef, start int) (Expr, error) {
	p.skipBlank()
	opPos := p.i
	op := ""
	for _, o := range symbolOps {
		if strings.HasPrefix(p.s[p.i:], o) {
			op = o
			p.i += len(o)
			break
		}
	}
	if op == "" {
		j := p.i
		for j < len(p.s) && isIdentChar(p.s[j]) {
			j++
		}
		w := p.s[p.i:j]
		if !wordOps[w] || (j < len(p.s) && !isBlank(p.s[j]) && p.s[j] != '(' && p.s[j] != ')') {
			if p.i >= len(p.s) {
				return nil, p.errf("expected an operator after field %s", f.String())
			}
			return nil, p.errf("unknown operator %q after field %s", p.rest(12), f.String())
		}
		op = w
		p.i = j
	}
	c := &CheckExpr{Field: f, Op: op, Pos: start}
	if op == "exists" {
		return c, nil
	}
	p.skipBlank()
	if p.i >= len(p.s) {
		return nil, p.errf("expected a value after operator %s", op)
	}
	if p.s[p.i] == '(' {
		if !listOps[op] {
			return nil, p.errf("operator %s takes a single value, not a list", op)
		}
		vals, err := p.list()
		if err != nil {
			return nil, err
		}
		c.Values, c.IsList = vals, true
		return c, nil
	}
	if strings.HasPrefix(p.s[p.i:], "val(") {
		p.i += 4
		rhs, err := p.parseField()
		if err != nil {
			return nil, err
		}
		p.skipBlank()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, p.errf("expected ')' to close val(")
		}
		p.i++
		c.RHS = &rhs
		return c, nil
	}
	if listOps[op] {
		return nil, &SyntaxError{Offset: opPos, Msg: fmt.Sprintf("operator %s needs a parenthesised list", op)}
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	c.Values = []Value{v}
	return c, nil
}

// list reads "(v1, v2, ...)"; "()" is the empty list.
func (p *parser) list() ([]Value, error) {
	p.i++ // (
	vals := []Value{}
	p.skipBlank()
	if p.i < len(p.s) && p.s[p.i] == ')' {
		p.i++
		return vals, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
		p.skipBlank()
		if p.i >= len(p.s) {
			return nil, p.errf("unterminated list, expected ')'")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ')':
			p.i++
			return vals, nil
		default:
			return nil, p.errf("expected ',' or ')' in list, got %q", p.rest(12))
		}
	}
}

func isBareChar(c byte) bool {
	return !isBlank(c) && c != '(' && c != ')' && c != '"' && c != '\'' && c != '=' && c != ','
}

func isBareStr(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isBareChar(s[i]) {
			return false
		}
	}
	return true
}

func (p *parser) value() (Value, error) {
	p.skipBlank()
	start := p.i
	if p.i >= len(p.s) {
		return Value{}, p.errf("expected a value")
	}
	if c := p.s[p.i]; c == '"' || c == '\'' {
		s, err := p.quoted()
		if err != nil {
			return Value{}, err
		}
		return Value{Text: s, Quoted: true, Pos: start}, nil
	}
	for p.i < len(p.s) && isBareChar(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		return Value{}, p.errf("expected a value, got %q", p.rest(12))
	}
	return Value{Text: p.s[start:p.i], Pos: start}, nil
}

// quoted reads a single- or double-quoted string with backslash escapes.
func (p *parser) quoted() (string, error) {
	q := p.s[p.i]
	start := p.i
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == q:
			p.i++
			return b.String(), nil
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return "", p.errf("unterminated escape in string")
			}
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case '\\', '"', '\'':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			default:
				// Unknown escapes stay as written, backslash included.
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", &SyntaxError{Offset: start, Msg: "unterminated string"}
}
