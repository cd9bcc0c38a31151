package rules

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/pkg/event"
)

// pred is a compiled field check: the leaf of a condition.
type pred func(c *Ctx) bool

// opsByType lists the operators each field type accepts.
var stringOps = map[string]bool{"=": true, "==": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true,
	"contains": true, "icontains": true, "bcontains": true, "startswith": true, "bstartswith": true,
	"endswith": true, "glob": true, "iglob": true, "regex": true, "in": true, "intersects": true, "pmatch": true, "exists": true}
var numOps = map[string]bool{"=": true, "==": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true,
	"in": true, "intersects": true, "exists": true}
var eqOps = map[string]bool{"=": true, "==": true, "!=": true, "in": true, "intersects": true, "exists": true}

func opsFor(t FieldType) map[string]bool {
	switch t {
	case TypeString:
		return stringOps
	case TypeInt, TypeUint:
		return numOps
	}
	return eqOps
}

// posError is a compile problem at an offset of the condition.
type posError struct {
	off int
	msg string
}

func (e *posError) Error() string { return e.msg }

func errAt(off int, format string, args ...any) error {
	return &posError{off: off, msg: fmt.Sprintf(format, args...)}
}

// compileCheck turns a field check into a predicate. unknownTypes collects
// evt.type values that name no event type Vigil knows.
func compileCheck(ce *CheckExpr, unknownTypes func(name string, off int)) (pred, error) {
	ex, typ, multi, err := bindField(&ce.Field)
	if err != nil {
		return nil, errAt(ce.Field.Pos, "%v", err)
	}
	if !opsFor(typ)[ce.Op] {
		return nil, errAt(ce.Pos, "operator %s cannot be used with field %s of type %s", ce.Op, ce.Field.String(), typ)
	}
	if ce.Op == "exists" {
		return func(c *Ctx) bool { _, ok := ex(c, 0); return ok || (multi && anyOK(c, ex)) }, nil
	}
	if ce.Field.Name == "evt.type" && !ce.Field.HasArg && len(ce.Field.Transformers) == 0 && ce.RHS == nil {
		if p := compileEvtType(ce, unknownTypes); p != nil {
			return p, nil
		}
	}
	if d, _, hasDot, _ := lookupField(ce.Field.Name); d.str != nil && !hasDot && !ce.Field.HasArg &&
		len(ce.Field.Transformers) == 0 && ce.RHS == nil {
		f, err := stringMatcher(ce)
		if err != nil {
			return nil, err
		}
		str := d.str
		return func(c *Ctx) bool {
			s, ok := str(c)
			return ok && f(s)
		}, nil
	}
	var test func(c *Ctx, v value) bool
	if ce.RHS != nil {
		test, err = compileValTest(ce, typ)
	} else {
		test, err = compileLiteralTest(ce, typ)
	}
	if err != nil {
		return nil, err
	}
	if !multi {
		return func(c *Ctx) bool {
			v, ok := ex(c, 0)
			return ok && test(c, v)
		}, nil
	}
	return func(c *Ctx) bool {
		for i := 0; ; i++ {
			v, ok := ex(c, i)
			if !ok {
				return false
			}
			if test(c, v) {
				return true
			}
		}
	}, nil
}

func anyOK(c *Ctx, ex extractor) bool {
	for i := 1; i < 64; i++ {
		if _, ok := ex(c, i); ok {
			return true
		}
	}
	return false
}

// compileEvtType compiles `evt.type = x`, `!= x` and `in (...)` into a
// bitset test.
func compileEvtType(ce *CheckExpr, unknown func(string, int)) pred {
	var set typeSet
	switch ce.Op {
	case "=", "==", "!=", "in", "intersects":
	default:
		return nil
	}
	for _, v := range ce.Values {
		if t, ok := event.TypeByName(v.Text); ok {
			set.add(t)
		} else if unknown != nil {
			unknown(v.Text, v.Pos)
		}
	}
	if ce.Op == "!=" {
		return func(c *Ctx) bool { return !set.has(c.Ev.Type) }
	}
	return func(c *Ctx) bool { return set.has(c.Ev.Type) }
}

func compileLiteralTest(ce *CheckExpr, typ FieldType) (func(*Ctx, value) bool, error) {
	op := ce.Op
	if len(ce.Values) == 0 && !listOps[op] {
		return nil, errAt(ce.Pos, "operator %s needs a value", op)
	}
	switch typ {
	case TypeString:
		return stringTest(ce)
	case TypeInt, TypeUint:
		nums := make([]int64, len(ce.Values))
		for i, v := range ce.Values {
			n, err := parseNum(v.Text)
			if err != nil {
				return nil, errAt(v.Pos, "field %s needs a number, got %q", ce.Field.String(), v.Text)
			}
			nums[i] = n
		}
		return numTest(op, nums), nil
	case TypeBool:
		bs := make([]int64, len(ce.Values))
		for i, v := range ce.Values {
			switch strings.ToLower(v.Text) {
			case "true", "1":
				bs[i] = 1
			case "false", "0":
			default:
				return nil, errAt(v.Pos, "field %s needs true or false, got %q", ce.Field.String(), v.Text)
			}
		}
		return numTest(op, bs), nil
	case TypeIP, TypeIPNet:
		nets := make([]netip.Prefix, len(ce.Values))
		for i, v := range ce.Values {
			p, err := parseNet(v.Text)
			if err != nil {
				return nil, errAt(v.Pos, "field %s needs an IP address or network, got %q", ce.Field.String(), v.Text)
			}
			nets[i] = p
		}
		in := func(a netip.Addr) bool {
			for _, n := range nets {
				if n.Contains(a) {
					return true
				}
			}
			return false
		}
		if op == "!=" {
			return func(_ *Ctx, v value) bool { return !in(v.ip) }, nil
		}
		return func(_ *Ctx, v value) bool { return in(v.ip) }, nil
	}
	return nil, errAt(ce.Pos, "field %s cannot be compared", ce.Field.String())
}

func parseNet(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parseNum parses a number as Falco does: decimal, with an optional sign,
// or hexadecimal after 0x. A leading zero is still decimal ("020" is 20);
// other forms ("0b1", "0o7", "2_0", "1e3") are errors. Values above the
// int64 range wrap, as uint64 fields are held in an int64.
func parseNum(s string) (int64, error) {
	t, neg, base := s, false, 10
	if len(t) > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') {
		t, base = t[2:], 16
	} else if t != "" && (t[0] == '-' || t[0] == '+') {
		t, neg = t[1:], t[0] == '-'
	}
	// ParseUint with an explicit base takes digits only: no sign, prefix
	// or underscore.
	if t == "" || t[0] == '+' || t[0] == '-' {
		return 0, fmt.Errorf("invalid number %q", s)
	}
	u, err := strconv.ParseUint(t, base, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid number %q", s)
	}
	if neg {
		if u > 1<<63 {
			return 0, fmt.Errorf("number %q out of range", s)
		}
		return -int64(u), nil
	}
	return int64(u), nil
}

func numTest(op string, nums []int64) func(*Ctx, value) bool {
	switch op {
	case "=", "==":
		x := nums[0]
		return func(_ *Ctx, v value) bool { return v.n == x }
	case "!=":
		x := nums[0]
		return func(_ *Ctx, v value) bool { return v.n != x }
	case "<":
		x := nums[0]
		return func(_ *Ctx, v value) bool { return v.n < x }
	case "<=":
		x := nums[0]
		return func(_ *Ctx, v value) bool { return v.n <= x }
	case ">":
		x := nums[0]
		return func(_ *Ctx, v value) bool { return v.n > x }
	case ">=":
		x := nums[0]
		return func(_ *Ctx, v value) bool { return v.n >= x }
	}
	// in, intersects
	return func(_ *Ctx, v value) bool {
		for _, x := range nums {
			if v.n == x {
				return true
			}
		}
		return false
	}
}

// stringSet tests membership without allocating: a map for large sets, a
// slice scan for small ones.
func stringSet(vals []string) func(string) bool {
	if len(vals) <= 6 {
		return func(s string) bool {
			for _, x := range vals {
				if s == x {
					return true
				}
			}
			return false
		}
	}
	m := make(map[string]struct{}, len(vals))
	for _, x := range vals {
		m[x] = struct{}{}
	}
	return func(s string) bool { _, ok := m[s]; return ok }
}

func stringTest(ce *CheckExpr) (func(*Ctx, value) bool, error) {
	f, err := stringMatcher(ce)
	if err != nil {
		return nil, err
	}
	return func(_ *Ctx, v value) bool { return f(v.s) }, nil
}

// stringMatcher compiles the operator and operand of a string check.
func stringMatcher(ce *CheckExpr) (func(string) bool, error) {
	texts := make([]string, len(ce.Values))
	for i, v := range ce.Values {
		texts[i] = v.Text
	}
	var lit string
	if len(texts) > 0 {
		lit = texts[0]
	}
	var f func(s string) bool
	switch ce.Op {
	case "=", "==":
		f = func(s string) bool { return s == lit }
	case "!=":
		f = func(s string) bool { return s != lit }
	case "<":
		f = func(s string) bool { return s < lit }
	case "<=":
		f = func(s string) bool { return s <= lit }
	case ">":
		f = func(s string) bool { return s > lit }
	case ">=":
		f = func(s string) bool { return s >= lit }
	case "contains":
		f = func(s string) bool { return strings.Contains(s, lit) }
	case "icontains":
		low := strings.ToLower(lit)
		f = func(s string) bool { return containsFold(s, low) }
	case "startswith":
		f = func(s string) bool { return strings.HasPrefix(s, lit) }
	case "endswith":
		f = func(s string) bool { return strings.HasSuffix(s, lit) }
	case "bcontains", "bstartswith":
		b, err := hex.DecodeString(lit)
		if err != nil {
			return nil, errAt(ce.Values[0].Pos, "operator %s needs a hex string, got %q", ce.Op, lit)
		}
		bs := string(b)
		if ce.Op == "bcontains" {
			f = func(s string) bool { return strings.Contains(s, bs) }
		} else {
			f = func(s string) bool { return strings.HasPrefix(s, bs) }
		}
	case "glob":
		f = func(s string) bool { return globMatch(lit, s) }
	case "iglob":
		low := strings.ToLower(lit)
		f = func(s string) bool { return globMatchFold(low, s) }
	case "regex":
		re, err := regexp.Compile("^(?:" + lit + ")$")
		if err != nil {
			return nil, errAt(ce.Values[0].Pos, "invalid regular expression %q: %v", lit, err)
		}
		f = re.MatchString
	case "in", "intersects":
		f = stringSet(texts)
	case "pmatch":
		f = func(s string) bool {
			for _, p := range texts {
				if pathPrefixMatch(s, p) {
					return true
				}
			}
			return false
		}
	default:
		return nil, errAt(ce.Pos, "unknown operator %s", ce.Op)
	}
	return f, nil
}

// globMatchFold is iglob: glob, ASCII case-insensitive. It lowercases s into
// a stack buffer when it fits, to avoid allocating.
func globMatchFold(lowPat, s string) bool {
	var buf [256]byte
	var b []byte
	if len(s) <= len(buf) {
		b = buf[:len(s)]
	} else {
		b = make([]byte, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return globMatch(lowPat, string(b))
}

// compileValTest compiles `field op val(other)`: the operand is the other
// field's value on the same event, which must have the same type.
func compileValTest(ce *CheckExpr, typ FieldType) (func(*Ctx, value) bool, error) {
	rex, rtyp, _, err := bindField(ce.RHS)
	if err != nil {
		return nil, errAt(ce.RHS.Pos, "%v", err)
	}
	if rtyp != typ {
		return nil, errAt(ce.RHS.Pos, "field %s has type %s while val(%s) has type %s", ce.Field.String(), typ, ce.RHS.String(), rtyp)
	}
	var cmp func(a, b value) bool
	switch ce.Op {
	case "=", "==", "in", "intersects":
		cmp = func(a, b value) bool { return a.s == b.s && a.n == b.n && a.ip == b.ip }
	case "!=":
		cmp = func(a, b value) bool { return a.s != b.s || a.n != b.n || a.ip != b.ip }
	case "<":
		cmp = func(a, b value) bool { return a.s < b.s || a.n < b.n }
	case "<=":
		cmp = func(a, b value) bool { return a.s <= b.s && a.n <= b.n }
	case ">":
		cmp = func(a, b value) bool { return a.s > b.s || a.n > b.n }
	case ">=":
		cmp = func(a, b value) bool { return a.s >= b.s && a.n >= b.n }
	case "contains":
		cmp = func(a, b value) bool { return strings.Contains(a.s, b.s) }
	case "icontains":
		cmp = func(a, b value) bool { return strings.Contains(strings.ToLower(a.s), strings.ToLower(b.s)) }
	case "startswith", "bstartswith":
		cmp = func(a, b value) bool { return strings.HasPrefix(a.s, b.s) }
	case "endswith":
		cmp = func(a, b value) bool { return strings.HasSuffix(a.s, b.s) }
	case "bcontains":
		cmp = func(a, b value) bool { return strings.Contains(a.s, b.s) }
	case "glob":
		cmp = func(a, b value) bool { return globMatch(b.s, a.s) }
	case "pmatch":
		cmp = func(a, b value) bool { return pathPrefixMatch(a.s, b.s) }
	default:
		return nil, errAt(ce.Pos, "operator %s cannot take val()", ce.Op)
	}
	return func(c *Ctx, v value) bool {
		r, ok := rex(c, 0)
		return ok && cmp(v, r)
	}, nil
}
