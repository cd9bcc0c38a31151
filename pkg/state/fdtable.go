package state

import (
	"sort"

	"github.com/vigilsec/vigil/pkg/event"
)

// denseFDs is the number of low descriptor numbers kept in a slice; larger
// numbers go to a map, so a process with one fd at 500000 costs one map entry.
const denseFDs = 1024

// fdTable is one process's descriptors. The *event.FD values are shared with
// the events they were attached to and with forked children (a forked child
// shares the parent's open file descriptions, as in the kernel).
type fdTable struct {
	dense  []*event.FD
	sparse map[int32]*event.FD
	n      int
}

func (t *fdTable) get(num int32) *event.FD {
	if num < 0 {
		return nil
	}
	if num < denseFDs {
		if int(num) < len(t.dense) {
			return t.dense[num]
		}
		return nil
	}
	return t.sparse[num]
}

// set stores fd at num, replacing what was there. It refuses a new entry
// (returning false) when the table already holds limit entries.
func (t *fdTable) set(num int32, fd *event.FD, limit int) bool {
	if num < 0 {
		return false
	}
	if num < denseFDs {
		if int(num) >= len(t.dense) {
			if t.n >= limit {
				return false
			}
			n := max(2*len(t.dense), int(num)+1, 8)
			n = min(n, denseFDs)
			grown := make([]*event.FD, n)
			copy(grown, t.dense)
			t.dense = grown
		}
		if t.dense[num] == nil {
			if t.n >= limit {
				return false
			}
			t.n++
		}
		t.dense[num] = fd
		return true
	}
	if _, ok := t.sparse[num]; !ok {
		if t.n >= limit {
			return false
		}
		if t.sparse == nil {
			t.sparse = make(map[int32]*event.FD)
		}
		t.n++
	}
	t.sparse[num] = fd
	return true
}

// del removes and returns the fd at num.
func (t *fdTable) del(num int32) *event.FD {
	fd := t.get(num)
	if fd == nil {
		return nil
	}
	if num < denseFDs {
		t.dense[num] = nil
	} else {
		delete(t.sparse, num)
	}
	t.n--
	return fd
}

// clone returns a copy of the table that shares the fd values.
func (t *fdTable) clone() fdTable {
	c := fdTable{n: t.n}
	if t.n == 0 {
		return c
	}
	last := len(t.dense) - 1
	for last >= 0 && t.dense[last] == nil {
		last--
	}
	if last >= 0 {
		c.dense = make([]*event.FD, last+1)
		copy(c.dense, t.dense)
	}
	if len(t.sparse) > 0 {
		c.sparse = make(map[int32]*event.FD, len(t.sparse))
		for k, v := range t.sparse {
			c.sparse[k] = v
		}
	}
	return c
}

// dropCloexec removes the descriptors opened with O_CLOEXEC (at exec).
func (t *fdTable) dropCloexec() {
	for i, fd := range t.dense {
		if fd != nil && fd.OpenFlags&oCloexec != 0 {
			t.dense[i] = nil
			t.n--
		}
	}
	for k, fd := range t.sparse {
		if fd.OpenFlags&oCloexec != 0 {
			delete(t.sparse, k)
			t.n--
		}
	}
}

// sorted returns the descriptors in increasing number order.
func (t *fdTable) sorted() []*event.FD {
	out := make([]*event.FD, 0, t.n)
	for _, fd := range t.dense {
		if fd != nil {
			out = append(out, fd)
		}
	}
	start := len(out)
	for _, fd := range t.sparse {
		out = append(out, fd)
	}
	sort.Slice(out[start:], func(i, j int) bool { return out[start+i].Num < out[start+j].Num })
	return out
}
