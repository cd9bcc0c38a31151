package state

import "path"

// resolve returns p made absolute against base and cleaned (".." and "."
// removed, slashes collapsed), or "" when p is relative and base unknown.
// An already clean absolute path is returned without allocating.
func resolve(base, p string) string {
	if p == "" {
		return ""
	}
	if p[0] == '/' {
		return path.Clean(p)
	}
	if base == "" || base[0] != '/' {
		return ""
	}
	return path.Join(base, p)
}

// dirOf returns the directory part of an absolute path ("/" for "/x").
func dirOf(p string) string {
	return path.Dir(p)
}

// baseOf returns the last element of p.
func baseOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// base returns the directory relative paths of p start from: its cwd for
// AT_FDCWD, else the path of descriptor dirfd ("" when unknown).
func (t *Table) base(p *proc, dirfd int32) string {
	if dirfd == atFDCWD {
		return p.Cwd
	}
	fd := p.fds.get(dirfd)
	if fd == nil {
		t.stats.UnknownFDs++
		return ""
	}
	return fd.Name
}

// resolveAt resolves path for an *at syscall: against dirfd, or the path of
// dirfd itself when path is empty and AT_EMPTY_PATH is allowed and set.
func (t *Table) resolveAt(p *proc, dirfd int32, pth string, emptyPath bool) string {
	if pth == "" {
		if emptyPath {
			if fd := p.fds.get(dirfd); fd != nil {
				return fd.Name
			}
		}
		return ""
	}
	if pth[0] == '/' {
		return path.Clean(pth)
	}
	return resolve(t.base(p, dirfd), pth)
}
