package prefilter

import (
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/rules"
	"golang.org/x/sys/unix"
)

// pathArgs names, per event type, the evt.arg names that render the first
// (Args.Path) and second (Args.Path2) path arguments as passed.
var pathArgs = map[event.Type][2][]string{
	event.TypeOpen:        {{"name"}},
	event.TypeOpenat:      {{"name"}},
	event.TypeOpenat2:     {{"name"}},
	event.TypeCreat:       {{"name"}},
	event.TypeSymlink:     {{"target"}, {"linkpath"}},
	event.TypeSymlinkat:   {{"target"}, {"linkpath"}},
	event.TypeLink:        {{"oldpath"}, {"newpath"}},
	event.TypeLinkat:      {{"oldpath"}, {"newpath"}},
	event.TypeRename:      {{"oldpath"}, {"newpath"}},
	event.TypeRenameat:    {{"oldpath"}, {"newpath"}},
	event.TypeRenameat2:   {{"oldpath"}, {"newpath"}},
	event.TypeUnlink:      {{"path"}},
	event.TypeUnlinkat:    {{"name"}},
	event.TypeMkdir:       {{"path"}},
	event.TypeMkdirat:     {{"path"}},
	event.TypeRmdir:       {{"path"}},
	event.TypeChmod:       {{"filename"}},
	event.TypeFchmodat:    {{"filename"}},
	event.TypeChown:       {{"path"}},
	event.TypeLchown:      {{"path"}},
	event.TypeFchownat:    {{"pathname"}},
	event.TypeMount:       {{"dir"}, {"dev"}},
	event.TypeUmount2:     {{"name"}},
	event.TypeInitModule:  {{"uargs"}},
	event.TypeFinitModule: {{"uargs"}},
}

// isOpen reports the open family, whose fd.* fields describe the path
// being opened.
func isOpen(t event.Type) bool {
	return t == event.TypeOpen || t == event.TypeOpenat || t == event.TypeOpenat2 || t == event.TypeCreat
}

// hasFlags reports the open calls whose flags the kernel can bound (creat
// has none).
func hasFlags(t event.Type) bool {
	return t == event.TypeOpen || t == event.TypeOpenat || t == event.TypeOpenat2
}

// Access-mode sets for FlagAtom.Acc.
const (
	accRead    = 1<<unix.O_RDONLY | 1<<unix.O_RDWR
	accWrite   = 1<<unix.O_WRONLY | 1<<unix.O_RDWR
	accNoRead  = AccAll &^ accRead
	accNoWrite = AccAll &^ accWrite
)

// leaf derives the bound a check implies for events of type t; neg is set
// when the check is under an odd number of nots.
func leaf(t event.Type, ce *rules.CheckExpr, neg bool) dnf {
	f := ce.Field
	if len(f.Transformers) > 0 || ce.RHS != nil || ce.Op == "exists" {
		return dnfTrue()
	}
	vals := make([]string, len(ce.Values))
	for i, v := range ce.Values {
		vals[i] = v.Text
	}
	name := f.Name
	if f.HasArg && (name == "evt.arg" || name == "evt.rawarg") {
		name = "evt.arg." + f.Arg
	} else if f.HasArg {
		return dnfTrue()
	}
	name = strings.Replace(name, "evt.rawarg.", "evt.arg.", 1)

	switch name {
	case "evt.type":
		return evtType(t, ce.Op, vals, neg)
	case "evt.dir":
		return konst(strCheck(ce.Op, vals, "<"), neg)
	case "evt.failed":
		if b, ok := boolCheck(ce.Op, vals, neg); ok {
			if b {
				return retBound(RetErr)
			}
			return retBound(RetOK)
		}
	case "evt.rawres":
		return numRet(ce.Op, vals, neg, true)
	case "evt.res":
		return resBound(ce.Op, vals, neg)
	}
	if hasFlags(t) || t == event.TypeCreat {
		if d, ok := openLeaf(t, name, ce.Op, vals, neg); ok {
			return d
		}
	}
	if t == event.TypePtrace && name == "evt.arg.request" && !neg {
		return requestBound(ce.Op, vals)
	}
	if neg {
		return dnfTrue()
	}
	if isOpen(t) {
		switch name {
		case "fd.name", "fd.nameraw":
			return pathBound(1, pathSet(ce.Op, vals))
		case "fd.directory":
			return pathBound(1, dirSet(ce.Op, vals))
		case "fd.filename":
			return pathBound(1, baseSet(ce.Op, vals))
		}
	}
	if args, ok := pathArgs[t]; ok && strings.HasPrefix(name, "evt.arg.") {
		arg := strings.TrimPrefix(name, "evt.arg.")
		for i, names := range args {
			for _, n := range names {
				if n == arg {
					return pathBound(i+1, pathSet(ce.Op, vals))
				}
			}
		}
	}
	if fdSockLeaf(name, ce.Op, vals) {
		c := anyClause()
		c.fdSock = true
		return dnf{c}
	}
	return dnfTrue()
}

func konst(b, neg bool) dnf {
	if b != neg {
		return dnfTrue()
	}
	return nil
}

func retBound(r uint8) dnf {
	c := anyClause()
	c.Ret = r
	return dnf{c}
}

func pathBound(which int, s *PathSet) dnf {
	if s == nil {
		return dnfTrue()
	}
	c := anyClause()
	if which == 1 {
		c.Path = s
	} else {
		c.Path2 = s
	}
	return dnf{c}
}

func flagBound(atoms ...FlagAtom) dnf {
	if len(atoms) == 0 {
		return nil
	}
	c := anyClause()
	c.Flags = atoms
	return dnf{c}
}

// evtType decides an evt.type check for type t.
func evtType(t event.Type, op string, vals []string, neg bool) dnf {
	in := false
	for _, v := range vals {
		if v == t.String() {
			in = true
		}
	}
	switch op {
	case "=", "==", "in", "intersects":
		return konst(in, neg)
	case "!=":
		return konst(!in, neg)
	}
	return dnfTrue()
}

// strCheck evaluates a string check on a known value.
func strCheck(op string, vals []string, s string) bool {
	var lit string
	if len(vals) > 0 {
		lit = vals[0]
	}
	switch op {
	case "=", "==":
		return s == lit
	case "!=":
		return s != lit
	case "in", "intersects":
		for _, v := range vals {
			if v == s {
				return true
			}
		}
		return false
	case "startswith":
		return strings.HasPrefix(s, lit)
	case "endswith":
		return strings.HasSuffix(s, lit)
	case "contains":
		return strings.Contains(s, lit)
	}
	return true // unknown: possibly true
}

// boolCheck returns the value a bool field must have for the check to hold.
func boolCheck(op string, vals []string, neg bool) (bool, bool) {
	if len(vals) != 1 {
		return false, false
	}
	var b bool
	switch strings.ToLower(vals[0]) {
	case "true":
		b = true
	case "false":
	default:
		return false, false
	}
	switch op {
	case "=", "==":
	case "!=":
		b = !b
	default:
		return false, false
	}
	return b != neg, true
}

// numExists reports whether some integer in [lo, hi] satisfies (or, with
// neg, fails) the numeric check; the answer is decided at the check's
// literals and their neighbours.
func numExists(op string, ns []int64, neg bool, lo, hi int64) bool {
	sat := func(v int64) bool {
		var r bool
		switch op {
		case "=", "==", "in", "intersects":
			for _, n := range ns {
				r = r || v == n
			}
		case "!=":
			r = v != ns[0]
		case "<":
			r = v < ns[0]
		case "<=":
			r = v <= ns[0]
		case ">":
			r = v > ns[0]
		case ">=":
			r = v >= ns[0]
		default:
			return true
		}
		return r != neg
	}
	cands := []int64{lo, hi}
	for _, n := range ns {
		for _, c := range []int64{n - 1, n, n + 1} {
			if c >= lo && c <= hi {
				cands = append(cands, c)
			}
		}
	}
	for _, c := range cands {
		if sat(c) {
			return true
		}
	}
	return false
}

func parseNums(vals []string) ([]int64, bool) {
	if len(vals) == 0 {
		return nil, false
	}
	ns := make([]int64, len(vals))
	for i, v := range vals {
		n, err := strconv.ParseInt(v, 0, 64)
		if err != nil {
			return nil, false
		}
		ns[i] = n
	}
	return ns, true
}

// numRet bounds the result from a numeric check on the return value (raw)
// or on fd.num of an open (-1 on failure).
func numRet(op string, vals []string, neg, raw bool) dnf {
	ns, ok := parseNums(vals)
	if !ok {
		return dnfTrue()
	}
	const maxInt = int64(^uint64(0) >> 1)
	var r uint8
	if numExists(op, ns, neg, 0, maxInt) {
		r |= RetOK
	}
	errLo := int64(-1)
	if raw {
		errLo = -maxInt - 1
	}
	if numExists(op, ns, neg, errLo, -1) {
		r |= RetErr
	}
	if r == 0 {
		return nil
	}
	return retBound(r)
}

// resBound bounds the result from an evt.res check: SUCCESS on success,
// an errno name or a number otherwise.
func resBound(op string, vals []string, neg bool) dnf {
	var r uint8
	if strCheck(op, vals, "SUCCESS") != neg {
		r |= RetOK
	}
	onlySuccess := (op == "=" || op == "==" || op == "in" || op == "intersects") && !neg
	for _, v := range vals {
		if v != "SUCCESS" {
			onlySuccess = false
		}
	}
	if !onlySuccess {
		r |= RetErr
	}
	if r == 0 {
		return nil
	}
	return retBound(r)
}

// openLeaf derives bounds on open flags and results from the open family's
// fields.
func openLeaf(t event.Type, name, op string, vals []string, neg bool) (dnf, bool) {
	creat := t == event.TypeCreat
	switch name {
	case "evt.is_open_read", "evt.is_open_write":
		b, ok := boolCheck(op, vals, neg)
		if !ok {
			return nil, false
		}
		read := name == "evt.is_open_read"
		if creat {
			return konst(b != read, false), true
		}
		switch {
		case read && b:
			return flagBound(FlagAtom{Acc: accRead}), true
		case read:
			return flagBound(FlagAtom{Acc: accNoRead}), true
		case b:
			return flagBound(FlagAtom{Acc: accWrite}), true
		}
		return flagBound(FlagAtom{Acc: accNoWrite}), true
	case "evt.is_open_exec":
		b, ok := boolCheck(op, vals, neg)
		if !ok || !b || creat {
			return nil, false
		}
		return flagBound(FlagAtom{Acc: AccAll, Set: unix.O_CREAT}), true
	case "fd.num":
		return numRet(op, vals, neg, false), true
	case "fd.type", "fd.typechar":
		// An open's descriptor is a directory with O_DIRECTORY, a file
		// otherwise; both fields always extract.
		file, dir := "file", "directory"
		if name == "fd.typechar" {
			file, dir = "f", "d"
		}
		var fileOK, dirOK bool
		switch op {
		case "=", "==", "in", "intersects", "!=":
			fileOK, dirOK = strCheck(op, vals, file) != neg, strCheck(op, vals, dir) != neg
		default:
			return nil, false
		}
		if creat {
			return konst(fileOK, false), true
		}
		switch {
		case fileOK && dirOK:
			return dnfTrue(), true
		case fileOK:
			return flagBound(FlagAtom{Acc: AccAll, Clear: unix.O_DIRECTORY}), true
		case dirOK:
			return flagBound(FlagAtom{Acc: AccAll, Set: unix.O_DIRECTORY}), true
		}
		return nil, true
	case "evt.arg.flags":
		if creat || neg || op != "contains" || len(vals) != 1 {
			return nil, false
		}
		return flagBound(flagsContaining(vals[0])...), true
	}
	return nil, false
}

// pathSet is the set a string check on a path field bounds the path to,
// nil when it bounds nothing.
func pathSet(op string, vals []string) *PathSet {
	s := &PathSet{}
	switch op {
	case "=", "==", "in", "intersects":
		s.Exact = vals
	case "startswith", "bstartswith":
		v := vals[0]
		if op == "bstartswith" {
			b, err := hex.DecodeString(v)
			if err != nil {
				return nil
			}
			v = string(b)
		}
		if v == "" {
			return nil
		}
		s.Prefixes = []string{v}
	case "endswith":
		if vals[0] == "" {
			return nil
		}
		s.Suffixes = []string{vals[0]}
	case "pmatch":
		for _, v := range vals {
			p := strings.TrimRight(v, "/")
			if p == "" {
				return nil
			}
			s.Exact = append(s.Exact, p)
			s.Prefixes = append(s.Prefixes, p+"/")
		}
	case "glob":
		pre, suf, literal := globParts(vals[0])
		switch {
		case literal:
			s.Exact = []string{vals[0]}
		case pre != "":
			s.Prefixes = []string{pre}
		case suf != "":
			s.Suffixes = []string{suf}
		default:
			return nil
		}
	case "contains":
		// Only an unclean path can contain these, and unclean paths
		// always pass.
		v := vals[0]
		if !strings.Contains(v, "..") && !strings.Contains(v, "//") && !strings.Contains(v, "/./") {
			return nil
		}
	default:
		return nil
	}
	s.normalize()
	return s
}

// globParts returns the literal text before the first and after the last
// wildcard of a glob pattern, and whether it has no wildcard at all.
func globParts(pat string) (pre, suf string, literal bool) {
	i := strings.IndexAny(pat, `*?[\`)
	if i < 0 {
		return pat, pat, true
	}
	j := strings.LastIndexAny(pat, `*?[]\`)
	if strings.ContainsRune(pat, '\\') {
		return pat[:i], "", false
	}
	return pat[:i], pat[j+1:], false
}

// dirSet bounds the path from a check on fd.directory: the path is the
// directory itself (an O_DIRECTORY open) or lies below it.
func dirSet(op string, vals []string) *PathSet {
	s := &PathSet{}
	if op == "glob" {
		pre, _, literal := globParts(vals[0])
		switch {
		case literal:
			op = "="
		case pre != "":
			return pathSet("startswith", []string{pre})
		default:
			return nil
		}
	}
	switch op {
	case "=", "==", "in", "intersects":
		for _, d := range vals {
			if d == "/" || d == "" {
				return nil
			}
			s.Exact = append(s.Exact, d)
			s.Prefixes = append(s.Prefixes, d+"/")
		}
	case "startswith", "pmatch":
		return pathSet(op, vals)
	default:
		return nil
	}
	s.normalize()
	return s
}

// baseSet bounds the path from a check on fd.filename.
func baseSet(op string, vals []string) *PathSet {
	s := &PathSet{}
	switch op {
	case "=", "==", "in", "intersects":
		for _, b := range vals {
			if b == "" {
				return nil
			}
			s.Suffixes = append(s.Suffixes, "/"+b)
		}
	case "endswith":
		if vals[0] == "" {
			return nil
		}
		s.Suffixes = []string{vals[0]}
	case "glob":
		_, suf, literal := globParts(vals[0])
		switch {
		case literal:
			s.Suffixes = []string{"/" + vals[0]}
		case suf != "":
			s.Suffixes = []string{suf}
		default:
			return nil
		}
	default:
		return nil
	}
	s.normalize()
	return s
}

// fdSockLeaf reports a check that holds only when the event's descriptor
// is a socket: it is false for files, directories and unknown descriptors.
func fdSockLeaf(name, op string, vals []string) bool {
	switch op {
	case "=", "==", "in", "intersects":
	default:
		return false
	}
	switch name {
	case "fd.sockfamily", "fd.l4proto":
		return true
	case "fd.type":
		for _, v := range vals {
			if v == "file" || v == "directory" || v == "unknown" {
				return false
			}
		}
		return true
	case "fd.typechar":
		for _, v := range vals {
			if v == "f" || v == "d" || v == "?" || v == "m" {
				return false
			}
		}
		return true
	}
	return false
}
