package rules

import "strings"

// Expr is a node of a parsed condition.
type Expr interface {
	// Offset is the byte offset of the node in its condition text.
	Offset() int
	// String prints the node in the condition language; parsing the result
	// gives the same tree.
	String() string
}

// AndExpr is true when every child is.
type AndExpr struct {
	Kids []Expr
	Pos  int
}

// OrExpr is true when any child is.
type OrExpr struct {
	Kids []Expr
	Pos  int
}

// NotExpr negates its child.
type NotExpr struct {
	Kid Expr
	Pos int
}

// MacroRef names a macro, replaced by the macro's tree when rules load.
type MacroRef struct {
	Name string
	Pos  int
}

// FieldRef is a field with its optional argument and transformers, such as
// `proc.aname[2]`, `evt.arg.flags` or `tolower(fd.name)`.
type FieldRef struct {
	// Name is the field's name (`proc.aname`, `evt.arg.flags`).
	Name string
	// Arg is the bracketed argument, valid when HasArg is set.
	Arg    string
	HasArg bool
	// Transformers are applied innermost first: tolower(basename(x)) is
	// [basename tolower].
	Transformers []string
	Pos          int
}

// Value is a literal operand.
type Value struct {
	Text   string
	Quoted bool
	Pos    int
}

// CheckExpr compares a field: `field op value`, `field op (list)`, `field
// op val(field)` or `field exists`.
type CheckExpr struct {
	Field FieldRef
	Op    string
	// Values holds the operand (one item) or the list items.
	Values []Value
	// IsList reports a parenthesised list operand.
	IsList bool
	// RHS is the val(field) operand, nil otherwise.
	RHS *FieldRef
	Pos int
}

// Offset implements Expr.
func (e *AndExpr) Offset() int { return e.Pos }

// Offset implements Expr.
func (e *OrExpr) Offset() int { return e.Pos }

// Offset implements Expr.
func (e *NotExpr) Offset() int { return e.Pos }

// Offset implements Expr.
func (e *MacroRef) Offset() int { return e.Pos }

// Offset implements Expr.
func (e *CheckExpr) Offset() int { return e.Pos }

// String returns the expression as condition text.
func (e *AndExpr) String() string { return joinExprs(e.Kids, " and ") }

// String returns the expression as condition text.
func (e *OrExpr) String() string { return joinExprs(e.Kids, " or ") }

// String returns the expression as condition text.
func (e *NotExpr) String() string { return "not " + paren(e.Kid) }

// String returns the macro's name.
func (e *MacroRef) String() string {
	return e.Name
}

// String returns the check as condition text.
func (e *CheckExpr) String() string {
	var b strings.Builder
	b.WriteString(e.Field.String())
	b.WriteByte(' ')
	b.WriteString(e.Op)
	switch {
	case e.Op == "exists":
	case e.RHS != nil:
		b.WriteString(" val(")
		b.WriteString(e.RHS.String())
		b.WriteByte(')')
	case e.IsList:
		b.WriteString(" (")
		for i, v := range e.Values {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(v.String())
		}
		b.WriteByte(')')
	default:
		b.WriteByte(' ')
		b.WriteString(e.Values[0].String())
	}
	return b.String()
}

// String prints the field with its argument and transformers.
func (f *FieldRef) String() string {
	s := f.Name
	if f.HasArg {
		s += "[" + f.Arg + "]"
	}
	for _, t := range f.Transformers {
		s = t + "(" + s + ")"
	}
	return s
}

// String prints the value, quoted when it needs to be.
func (v Value) String() string {
	if !v.Quoted && v.Text != "" && isBareStr(v.Text) {
		return v.Text
	}
	return quote(v.Text)
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func joinExprs(kids []Expr, sep string) string {
	parts := make([]string, len(kids))
	for i, k := range kids {
		parts[i] = paren(k)
	}
	return strings.Join(parts, sep)
}

func paren(e Expr) string {
	switch e.(type) {
	case *AndExpr, *OrExpr:
		return "(" + e.String() + ")"
	}
	return e.String()
}
