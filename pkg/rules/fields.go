package rules

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"github.com/vigilsec/vigil/pkg/event"
)

// FieldType is the type of a field's values, which decides the operators it
// accepts and how its values print.
type FieldType uint8

// Field types.
const (
	// TypeString is text; every string operator applies.
	TypeString FieldType = iota
	// TypeInt is a signed integer.
	TypeInt
	// TypeUint is an unsigned integer (counters, ids, times in ns).
	TypeUint
	// TypeBool is true or false.
	TypeBool
	// TypeIP is an IP address.
	TypeIP
	// TypeIPNet is an IP address compared against networks: `fd.net =
	// 10.0.0.0/8` tests membership.
	TypeIPNet
)

// String names the type as `vigil fields` prints it.
func (t FieldType) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeInt:
		return "int64"
	case TypeUint:
		return "uint64"
	case TypeBool:
		return "bool"
	case TypeIP:
		return "ipaddr"
	case TypeIPNet:
		return "ipnet"
	}
	return "unknown"
}

// FieldInfo describes one field of the registry.
type FieldInfo struct {
	// Name is the field's name; Arg, when not empty, shows its argument
	// (`[n]`, `[key]`, `.name`).
	Name, Arg string
	Type      FieldType
	// Desc says what the field holds and where its value comes from.
	Desc string
}

// Ctx is what field extractors read: the event being evaluated, the engine's
// lookups, and scratch space for values built on the fly. One Ctx belongs to
// one goroutine. Strings extracted through a Ctx may alias its scratch space
// and are valid only until the next extraction; copy them to keep them.
type Ctx struct {
	// Ev is the event being evaluated.
	Ev *event.Event
	// Hostname is the node's hostname (evt.hostname).
	Hostname string
	// UserName and GroupName resolve ids to names; nil leaves user.name,
	// user.loginname and group.name missing.
	UserName, GroupName func(id uint32) (string, bool)
	buf                 []byte
	// hosts names addresses for fd.*.name values.
	hosts *HostResolver

	// Leaf checks of the ruleset and their results for the current event:
	// rules share leaves (macros), and each is evaluated once per event.
	preds []pred
	stamp []uint32
	res   []bool
	gen   uint32
}

// leaf evaluates leaf check i on the current event, once per event.
func (c *Ctx) leaf(i int) bool {
	if c.stamp[i] == c.gen {
		return c.res[i]
	}
	c.buf = c.buf[:0]
	r := c.preds[i](c)
	c.stamp[i], c.res[i] = c.gen, r
	return r
}

// Reset forgets the scratch values of earlier extractions.
func (c *Ctx) Reset() { c.buf = c.buf[:0] }

// tail returns the bytes appended to the scratch space since start as a
// string that aliases them.
func (c *Ctx) tail(start int) string {
	if len(c.buf) == start {
		return ""
	}
	return unsafe.String(&c.buf[start], len(c.buf)-start)
}

// value is one extracted value; which part is meaningful depends on the
// field's type (bools are n != 0).
type value struct {
	s  string
	n  int64
	ip netip.Addr
}

// extractor returns the i-th value of a field for the event in c; a
// single-valued field has only i == 0. ok is false when the value cannot be
// extracted (or i is past the last value).
type extractor func(c *Ctx, i int) (v value, ok bool)

// argMode says whether and how a field takes an argument.
type argMode uint8

const (
	argNone     argMode = iota
	argIndex            // [n], required
	argOptIndex         // [n], optional: without it, any of the values
	argKey              // [key], required
	argName             // .name or [n] (evt.arg)
)

type fieldDef struct {
	name string
	typ  FieldType
	desc string
	arg  argMode
	// notCarried marks Falco fields whose data Vigil's events never carry:
	// they load, and never extract.
	notCarried bool
	// bind returns the extractor for a given argument.
	bind func(arg string, hasArg bool) (ex extractor, multi bool, err error)
	// str, when set, extracts a single-valued string field without an
	// argument directly: the fast path of string checks.
	str func(c *Ctx) (string, bool)
	// hostIP, when set, marks an fd.*.name field: its checks compare this
	// address with the addresses of host names.
	hostIP func(c *Ctx) (netip.Addr, bool)
}

var registry = map[string]*fieldDef{}

func register(defs ...*fieldDef) {
	for _, d := range defs {
		if _, dup := registry[d.name]; dup {
			panic("rules: field registered twice: " + d.name)
		}
		registry[d.name] = d
	}
}

// lookupField resolves a field name as written in a condition, handling the
// `evt.arg.NAME` form.
func lookupField(name string) (*fieldDef, string, bool, bool) {
	if d, ok := registry[name]; ok {
		return d, "", false, true
	}
	for _, pfx := range []string{"evt.arg.", "evt.rawarg."} {
		if strings.HasPrefix(name, pfx) && len(name) > len(pfx) {
			d := registry[pfx[:len(pfx)-1]]
			return d, name[len(pfx):], true, true
		}
	}
	return nil, "", false, false
}

// Fields lists every field of the registry, sorted by name.
func Fields() []FieldInfo {
	out := make([]FieldInfo, 0, len(registry))
	for _, d := range registry {
		fi := FieldInfo{Name: d.name, Type: d.typ, Desc: d.desc}
		switch d.arg {
		case argIndex:
			fi.Arg = "[n]"
		case argOptIndex:
			fi.Arg = "[n] (optional)"
		case argKey:
			fi.Arg = "[key]"
		case argName:
			fi.Arg = ".name or [n]"
		}
		if d.notCarried {
			fi.Desc += " (Vigil's events do not carry this data: the field loads and never extracts)"
		}
		out = append(out, fi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// bindField resolves a FieldRef to its definition and extractor, applying
// transformers; it returns the resulting type.
func bindField(f *FieldRef) (ex extractor, typ FieldType, multi bool, err error) {
	d, dotArg, hasDot, ok := lookupField(f.Name)
	if !ok {
		return nil, 0, false, fmt.Errorf("unknown field %s", f.Name)
	}
	arg, hasArg := f.Arg, f.HasArg
	if hasDot {
		if hasArg {
			return nil, 0, false, fmt.Errorf("field %s takes one argument, got both .%s and [%s]", d.name, dotArg, arg)
		}
		arg, hasArg = dotArg, true
	}
	switch d.arg {
	case argNone:
		if hasArg {
			return nil, 0, false, fmt.Errorf("field %s takes no argument", d.name)
		}
	case argIndex, argKey, argName:
		if !hasArg {
			return nil, 0, false, fmt.Errorf("field %s needs an argument", d.name)
		}
	}
	if (d.arg == argIndex || d.arg == argOptIndex) && hasArg {
		if n, err := strconv.Atoi(arg); err != nil || n < 0 {
			return nil, 0, false, fmt.Errorf("field %s needs a non-negative index, got %q", d.name, arg)
		}
	}
	ex, multi, err = d.bind(arg, hasArg)
	if err != nil {
		return nil, 0, false, err
	}
	typ = d.typ
	for _, t := range f.Transformers {
		ex, typ, err = transform(t, ex, typ)
		if err != nil {
			return nil, 0, false, fmt.Errorf("%s(%s): %v", t, d.name, err)
		}
	}
	return ex, typ, multi, nil
}

// Small constructors for the common shapes of extractors.

func single(fn func(c *Ctx) (value, bool)) func(string, bool) (extractor, bool, error) {
	ex := func(c *Ctx, i int) (value, bool) {
		if i != 0 {
			return value{}, false
		}
		return fn(c)
	}
	return func(string, bool) (extractor, bool, error) { return ex, false, nil }
}

func strField(name, desc string, fn func(c *Ctx) (string, bool)) *fieldDef {
	return &fieldDef{name: name, typ: TypeString, desc: desc, str: fn, bind: single(func(c *Ctx) (value, bool) {
		s, ok := fn(c)
		return value{s: s}, ok
	})}
}

func numField(name string, typ FieldType, desc string, fn func(c *Ctx) (int64, bool)) *fieldDef {
	return &fieldDef{name: name, typ: typ, desc: desc, bind: single(func(c *Ctx) (value, bool) {
		n, ok := fn(c)
		return value{n: n}, ok
	})}
}

func boolField(name, desc string, fn func(c *Ctx) (bool, bool)) *fieldDef {
	return &fieldDef{name: name, typ: TypeBool, desc: desc, bind: single(func(c *Ctx) (value, bool) {
		b, ok := fn(c)
		if b {
			return value{n: 1}, ok
		}
		return value{}, ok
	})}
}

func ipField(name string, typ FieldType, desc string, fns ...func(c *Ctx) (netip.Addr, bool)) *fieldDef {
	ex := func(c *Ctx, i int) (value, bool) {
		if i >= len(fns) {
			return value{}, false
		}
		a, ok := fns[i](c)
		return value{ip: a}, ok
	}
	return &fieldDef{name: name, typ: typ, desc: desc, bind: func(string, bool) (extractor, bool, error) {
		return ex, len(fns) > 1, nil
	}}
}

// notCarried registers a Falco field whose data Vigil's events do not carry.
func notCarried(name string, typ FieldType, arg argMode, desc string) *fieldDef {
	ex := func(*Ctx, int) (value, bool) { return value{}, false }
	return &fieldDef{name: name, typ: typ, desc: desc, arg: arg, notCarried: true,
		bind: func(string, bool) (extractor, bool, error) { return ex, false, nil }}
}
