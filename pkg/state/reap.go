package state

import "sort"

// markExited records the exit of p at time at and queues it for reaping.
func (t *Table) markExited(p *proc, at int64) {
	if p.Exited {
		return
	}
	p.Exited = true
	p.exitedAt = at
	p.fds = fdTable{}
	t.exited = append(t.exited, exitRec{p: p, at: at})
	t.stats.Exits++
}

// Reap removes the processes that exited at least the grace period before
// now (Unix ns). Apply calls it every ReapInterval of event time, so callers
// need it only to reap while no events arrive. Children of a reaped process
// re-link to their current parent (from their next event's header).
func (t *Table) Reap(now int64) {
	grace := int64(t.opts.ExitGrace)
	for t.head < len(t.exited) {
		r := t.exited[t.head]
		if r.at+grace > now {
			break
		}
		t.exited[t.head] = exitRec{}
		t.head++
		if stillExited(r) && t.remove(r.p) {
			t.stats.Reaped++
		}
	}
	t.compactExited()
	t.nextReap = now + int64(t.opts.ReapInterval)
}

// compactExited releases the consumed front of the exit queue.
func (t *Table) compactExited() {
	if t.head == len(t.exited) {
		t.exited = t.exited[:0]
		t.head = 0
		return
	}
	if t.head > 1024 && t.head > len(t.exited)/2 {
		n := copy(t.exited, t.exited[t.head:])
		clear(t.exited[n:])
		t.exited = t.exited[:n]
		t.head = 0
	}
}

// remove takes p out of the table if it is still there and cuts its own
// parent link, so that a removed entry never keeps a chain of removed
// ancestors alive. It reports whether p was in the table.
func (t *Table) remove(p *proc) bool {
	if p.removed || t.procs[p.Pid] != p {
		return false
	}
	delete(t.procs, p.Pid)
	p.removed = true
	p.parent = nil
	p.Parent = nil
	p.fds = fdTable{}
	return true
}

// evict makes room in a full table: first the oldest exited processes
// regardless of their grace period, else the least recently seen sixteenth
// of the table.
func (t *Table) evict() {
	want := max(1, t.opts.MaxProcs/16)
	n := 0
	for t.head < len(t.exited) && n < want {
		r := t.exited[t.head]
		t.exited[t.head] = exitRec{}
		t.head++
		if stillExited(r) && t.remove(r.p) {
			n++
		}
	}
	t.compactExited()
	if n == 0 {
		all := make([]*proc, 0, len(t.procs))
		for _, p := range t.procs {
			all = append(all, p)
		}
		sort.Slice(all, func(i, j int) bool {
			if all[i].lastSeen != all[j].lastSeen {
				return all[i].lastSeen < all[j].lastSeen
			}
			return all[i].Pid < all[j].Pid
		})
		for _, p := range all[:min(want, len(all))] {
			if t.remove(p) {
				n++
			}
		}
	}
	t.stats.Evicted += uint64(n)
}

// stillExited reports whether the queued exit is still the process's state
// (an exec seen after a missed fork can revive a reused pid's entry).
func stillExited(r exitRec) bool {
	return r.p.Exited && r.p.exitedAt == r.at
}
