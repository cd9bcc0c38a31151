package prefilter

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Result values a clause accepts (Clause.Ret).
const (
	RetOK  uint8 = 1 << iota // the syscall succeeded (return value >= 0)
	RetErr                   // the syscall failed
	RetAny = RetOK | RetErr
)

// AccAll accepts every open access mode (FlagAtom.Acc).
const AccAll uint8 = 0xf

// FlagAtom bounds open flags: the access mode (flags & O_ACCMODE, 0 to 3)
// is one whose bit is set in Acc, every bit of Set is set and every bit of
// Clear is clear.
type FlagAtom struct {
	Acc        uint8
	Set, Clear uint32
}

// Matches reports whether flags satisfy the atom.
func (a FlagAtom) Matches(flags uint64) bool {
	f := uint32(flags)
	return a.Acc&(1<<(f&3)) != 0 && f&a.Set == a.Set && f&a.Clear == 0
}

func (a FlagAtom) and(b FlagAtom) (FlagAtom, bool) {
	r := FlagAtom{Acc: a.Acc & b.Acc, Set: a.Set | b.Set, Clear: a.Clear | b.Clear}
	return r, r.Acc != 0 && r.Set&r.Clear == 0
}

// Clause is a conjunction of bounds on what the kernel sees; a nil or zero
// bound accepts everything.
type Clause struct {
	// Rules are the rules this clause comes from.
	Rules []string
	// Path and Path2 bound the first and second path arguments.
	Path, Path2 *PathSet
	// Flags bound the open flags: one atom must match (nil: any flags).
	Flags []FlagAtom
	// Ret is the accepted results (RetOK, RetErr).
	Ret uint8
	// Requests bound the ptrace request (nil: any).
	Requests []int64

	// fdSock reports a bound that the event's descriptor is a socket
	// (derivation only, not applied by the kernel).
	fdSock bool
}

// unbounded reports whether the clause accepts everything the kernel sees.
func (c *Clause) unbounded() bool {
	return c.Path == nil && c.Path2 == nil && c.Flags == nil && c.Ret == RetAny && c.Requests == nil
}

func anyClause() Clause { return Clause{Ret: RetAny} }

// and returns the conjunction of two clauses; ok is false when it can never
// hold.
func (c Clause) and(o Clause) (Clause, bool) {
	r := Clause{Ret: c.Ret & o.Ret, fdSock: c.fdSock || o.fdSock}
	if r.Ret == 0 {
		return r, false
	}
	r.Path = andPath(c.Path, o.Path)
	r.Path2 = andPath(c.Path2, o.Path2)
	switch {
	case c.Flags == nil:
		r.Flags = o.Flags
	case o.Flags == nil:
		r.Flags = c.Flags
	default:
		r.Flags = []FlagAtom{}
		for _, a := range c.Flags {
			for _, b := range o.Flags {
				if x, ok := a.and(b); ok {
					r.Flags = appendAtom(r.Flags, x)
				}
			}
		}
		if len(r.Flags) == 0 {
			return r, false
		}
	}
	switch {
	case c.Requests == nil:
		r.Requests = o.Requests
	case o.Requests == nil:
		r.Requests = c.Requests
	default:
		r.Requests = []int64{}
		for _, v := range c.Requests {
			if slices.Contains(o.Requests, v) {
				r.Requests = append(r.Requests, v)
			}
		}
		if len(r.Requests) == 0 {
			return r, false
		}
	}
	return r, true
}

func andPath(a, b *PathSet) *PathSet {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return a.intersect(b)
}

func orPath(a, b *PathSet) *PathSet {
	if a == nil || b == nil {
		return nil
	}
	return a.union(b)
}

func appendAtom(as []FlagAtom, a FlagAtom) []FlagAtom {
	for i, b := range as {
		if b.Set == a.Set && b.Clear == a.Clear {
			as[i].Acc |= a.Acc
			return as
		}
	}
	return append(as, a)
}

// hull returns one clause accepting everything any of cs accepts.
func hull(cs []Clause) Clause {
	h := cs[0]
	h.Rules = slices.Clone(h.Rules)
	for _, c := range cs[1:] {
		h.Rules = append(h.Rules, c.Rules...)
		h.Path = orPath(h.Path, c.Path)
		h.Path2 = orPath(h.Path2, c.Path2)
		if h.Flags == nil || c.Flags == nil {
			h.Flags = nil
		} else {
			fl := slices.Clone(h.Flags)
			for _, a := range c.Flags {
				fl = appendAtom(fl, a)
			}
			h.Flags = fl
		}
		h.Ret |= c.Ret
		if h.Requests == nil || c.Requests == nil {
			h.Requests = nil
		} else {
			h.Requests = append(slices.Clone(h.Requests), c.Requests...)
			slices.Sort(h.Requests)
			h.Requests = slices.Compact(h.Requests)
		}
		h.fdSock = h.fdSock && c.fdSock
	}
	h.Rules = dedup(h.Rules)
	return h
}

// dnf is a disjunction of clauses: nil never holds, and a clause with no
// bound always does.
type dnf []Clause

// maxTerms bounds the clauses of one rule's predicate; beyond it they are
// merged into their hull.
const maxTerms = 32

func dnfTrue() dnf { return dnf{anyClause()} }

func (d dnf) or(o dnf) dnf {
	r := append(append(dnf{}, d...), o...)
	if len(r) > maxTerms {
		return dnf{hull(r)}
	}
	return r
}

func (d dnf) and(o dnf) dnf {
	var r dnf
	for _, a := range d {
		for _, b := range o {
			if c, ok := a.and(b); ok {
				r = append(r, c)
			}
		}
	}
	if len(r) > maxTerms {
		return dnf{hull(r)}
	}
	return r
}

// String prints the clause's bounds in the condition language.
func (c *Clause) String() string {
	var parts []string
	if c.Path != nil {
		parts = append(parts, "path "+c.Path.String())
	}
	if c.Path2 != nil {
		parts = append(parts, "path2 "+c.Path2.String())
	}
	if c.Flags != nil {
		var fs []string
		for _, a := range c.Flags {
			fs = append(fs, a.String())
		}
		parts = append(parts, "flags ("+strings.Join(fs, " or ")+")")
	}
	switch c.Ret {
	case RetOK:
		parts = append(parts, "succeeded")
	case RetErr:
		parts = append(parts, "failed")
	}
	if c.Requests != nil {
		rs := make([]string, len(c.Requests))
		for i, v := range c.Requests {
			rs[i] = strconv.FormatInt(v, 10)
		}
		parts = append(parts, "request in ("+strings.Join(rs, ", ")+")")
	}
	if len(parts) == 0 {
		return "any"
	}
	return strings.Join(parts, " and ")
}

var accNames = [4]string{"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"}

// String prints the atom: access modes, required and forbidden bits.
func (a FlagAtom) String() string {
	var parts []string
	if a.Acc&AccAll != AccAll {
		var acc []string
		for m := range 4 {
			if a.Acc&(1<<m) != 0 {
				acc = append(acc, accNames[m])
			}
		}
		parts = append(parts, strings.Join(acc, "|"))
	}
	if a.Set != 0 {
		parts = append(parts, fmt.Sprintf("+%#o", a.Set))
	}
	if a.Clear != 0 {
		parts = append(parts, fmt.Sprintf("-%#o", a.Clear))
	}
	if len(parts) == 0 {
		return "any"
	}
	return strings.Join(parts, " ")
}

func itoa(n int) string { return strconv.Itoa(n) }
