package prefilter

import (
	"slices"
	"strings"
)

// PathSet bounds a path argument: the path is one of Exact, starts with one
// of Prefixes, or ends with one of Suffixes. A path that is not absolute and
// clean (see Clean) always passes, so an empty PathSet passes only those.
type PathSet struct {
	Exact, Prefixes, Suffixes []string
}

// Clean reports whether a raw path argument is absolute and clean enough to
// be compared: it starts with '/' and has no "//", no "/./", no "..", and
// no trailing "/." or "/". Only such a path equals the resolved fd.name.
// The kernel applies the same test.
func Clean(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	if n := len(p); n > 1 && (p[n-1] == '/' || p[n-2:] == "/.") {
		return false
	}
	return !strings.Contains(p, "//") && !strings.Contains(p, "/./") && !strings.Contains(p, "..")
}

// Matches reports whether the raw path p satisfies the set.
func (s *PathSet) Matches(p string) bool {
	if !Clean(p) {
		return true
	}
	if slices.Contains(s.Exact, p) {
		return true
	}
	for _, x := range s.Prefixes {
		if strings.HasPrefix(p, x) {
			return true
		}
	}
	for _, x := range s.Suffixes {
		if strings.HasSuffix(p, x) {
			return true
		}
	}
	return false
}

// normalize sorts and deduplicates the set and drops entries made
// redundant by a shorter prefix or suffix.
func (s *PathSet) normalize() {
	s.Prefixes = minimal(s.Prefixes, strings.HasPrefix)
	s.Suffixes = minimal(s.Suffixes, strings.HasSuffix)
	var ex []string
	for _, e := range dedup(s.Exact) {
		if !coveredBy(e, s.Prefixes, strings.HasPrefix) && !coveredBy(e, s.Suffixes, strings.HasSuffix) {
			ex = append(ex, e)
		}
	}
	s.Exact = ex
}

func dedup(xs []string) []string {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return slices.Compact(xs)
}

func coveredBy(x string, by []string, has func(s, p string) bool) bool {
	for _, b := range by {
		if has(x, b) {
			return true
		}
	}
	return false
}

// minimal keeps the entries no other entry covers.
func minimal(xs []string, has func(s, p string) bool) []string {
	xs = dedup(xs)
	var out []string
	for i, x := range xs {
		covered := false
		for j, y := range xs {
			if i != j && len(y) < len(x) && has(x, y) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, x)
		}
	}
	return out
}

// union returns a set matching what either matches.
func (s *PathSet) union(o *PathSet) *PathSet {
	u := &PathSet{
		Exact:    append(slices.Clone(s.Exact), o.Exact...),
		Prefixes: append(slices.Clone(s.Prefixes), o.Prefixes...),
		Suffixes: append(slices.Clone(s.Suffixes), o.Suffixes...),
	}
	u.normalize()
	return u
}

// intersect returns a set matching at least what both match: the exact
// entries of one filtered by the other when one has only exact entries,
// otherwise the smaller of the two.
func (s *PathSet) intersect(o *PathSet) *PathSet {
	only := func(a, b *PathSet) *PathSet {
		r := &PathSet{}
		for _, e := range a.Exact {
			if b.Matches(e) {
				r.Exact = append(r.Exact, e)
			}
		}
		return r
	}
	switch {
	case len(s.Prefixes)+len(s.Suffixes) == 0:
		return only(s, o)
	case len(o.Prefixes)+len(o.Suffixes) == 0:
		return only(o, s)
	case s.size() <= o.size():
		return s
	}
	return o
}

func (s *PathSet) size() int { return len(s.Exact) + len(s.Prefixes) + len(s.Suffixes) }

// String prints the set for explanations.
func (s *PathSet) String() string {
	var parts []string
	if len(s.Exact) > 0 {
		parts = append(parts, "= "+listString(s.Exact))
	}
	if len(s.Prefixes) > 0 {
		parts = append(parts, "startswith "+listString(s.Prefixes))
	}
	if len(s.Suffixes) > 0 {
		parts = append(parts, "endswith "+listString(s.Suffixes))
	}
	if len(parts) == 0 {
		return "(only relative or unclean paths)"
	}
	return strings.Join(parts, " or ")
}

// listString prints at most eight items of a list.
func listString(xs []string) string {
	const show = 8
	if len(xs) <= show {
		return "(" + strings.Join(xs, ", ") + ")"
	}
	return "(" + strings.Join(xs[:show], ", ") + ", ... " + itoa(len(xs)-show) + " more)"
}
