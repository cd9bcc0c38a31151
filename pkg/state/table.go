package state

import (
	"time"

	"github.com/vigilsec/vigil/pkg/event"
)

// Options bound the table. Zero values select the defaults.
type Options struct {
	// MaxProcs is the most processes the table holds (default 65536).
	MaxProcs int
	// MaxFDsPerProc is the most descriptors kept per process (default
	// 4096); further ones are counted in Stats.FDsDropped, not stored.
	MaxFDsPerProc int
	// ExitGrace is how long an exited process stays for its children's
	// ancestry (default 30s).
	ExitGrace time.Duration
	// ReapInterval is how often Apply reaps, in event time (default 5s).
	ReapInterval time.Duration
}

// Default bounds.
const (
	DefaultMaxProcs      = 65536
	DefaultMaxFDsPerProc = 4096
	DefaultExitGrace     = 30 * time.Second
	DefaultReapInterval  = 5 * time.Second
)

func (o Options) withDefaults() Options {
	if o.MaxProcs <= 0 {
		o.MaxProcs = DefaultMaxProcs
	}
	if o.MaxFDsPerProc <= 0 {
		o.MaxFDsPerProc = DefaultMaxFDsPerProc
	}
	if o.ExitGrace <= 0 {
		o.ExitGrace = DefaultExitGrace
	}
	if o.ReapInterval <= 0 {
		o.ReapInterval = DefaultReapInterval
	}
	return o
}

// Stats are the table's counters, for metrics.
type Stats struct {
	// Procs is the number of processes in the table, exited ones included.
	Procs int
	// Seeded counts processes loaded from snapshots.
	Seeded uint64
	// Forks counts processes created by fork/vfork/clone/clone3 events.
	Forks uint64
	// FromHeader counts processes first seen in an event header (started
	// before the parent's clone event arrived, or missed).
	FromHeader uint64
	// Execs counts successful execve/execveat events.
	Execs uint64
	// Exits counts process exits.
	Exits uint64
	// Reaped counts exited processes removed after their grace period.
	Reaped uint64
	// Evicted counts processes removed early because the table was full.
	Evicted uint64
	// FDsDropped counts descriptors not stored because their process
	// already had MaxFDsPerProc.
	FDsDropped uint64
	// UnknownFDs counts events about a descriptor the table did not know.
	UnknownFDs uint64
}

// proc is a table entry: the process view plus what only the table needs.
type proc struct {
	event.Process
	parent *proc
	fds    fdTable
	// exitedAt is the exit time (Unix ns) of an exited process.
	exitedAt int64
	// lastSeen is the time of the latest event of the process.
	lastSeen int64
	// fromHeader marks a process created from an event header: its clone
	// event, if it arrives later, must not overwrite it.
	fromHeader bool
	// removed marks an entry no longer in the table (reaped, evicted or
	// replaced); children pointing at it re-link on their next event.
	removed bool
}

// exitRec queues an exited process for reaping.
type exitRec struct {
	p  *proc
	at int64
}

// Table is the process and fd table. It is not safe for concurrent use: see
// the package documentation.
type Table struct {
	opts     Options
	procs    map[uint32]*proc
	exited   []exitRec
	head     int
	nextReap int64
	stats    Stats
}

// New returns an empty table.
func New(opts Options) *Table {
	return &Table{opts: opts.withDefaults(), procs: make(map[uint32]*proc)}
}

// Len returns the number of processes in the table, exited ones included.
func (t *Table) Len() int { return len(t.procs) }

// Stats returns the counters.
func (t *Table) Stats() Stats {
	s := t.stats
	s.Procs = len(t.procs)
	return s
}

// Process returns the process with thread-group id pid, or nil.
func (t *Table) Process(pid uint32) *event.Process {
	if p := t.procs[pid]; p != nil {
		return &p.Process
	}
	return nil
}

// FD returns descriptor num of process pid, or nil.
func (t *Table) FD(pid uint32, num int32) *event.FD {
	if p := t.procs[pid]; p != nil {
		return p.fds.get(num)
	}
	return nil
}

// FDs returns the descriptors of process pid in increasing order.
func (t *Table) FDs(pid uint32) []*event.FD {
	if p := t.procs[pid]; p != nil {
		return p.fds.sorted()
	}
	return nil
}

// insert puts a fresh entry for pid in the table, replacing any entry with
// that pid and evicting when the table is full.
func (t *Table) insert(pid uint32) *proc {
	if old := t.procs[pid]; old != nil {
		old.removed = true
	} else if len(t.procs) >= t.opts.MaxProcs {
		t.evict()
	}
	p := &proc{}
	p.Pid = pid
	t.procs[pid] = p
	return p
}

// link makes pp the parent of p (nil when unknown), keeping ppid.
func link(p, pp *proc, ppid uint32) {
	p.PPid = ppid
	p.parent = pp
	if pp != nil {
		p.Parent = &pp.Process
	} else {
		p.Parent = nil
	}
}

// maxAncestry bounds parent chains; deeper ones are not linked.
const maxAncestry = 1024

// acyclic reports whether making pp the parent of p keeps the parent links
// a forest: consistent kernel data never makes a cycle, but a corrupt
// capture or reordered events must not make rules walk ancestry forever.
func acyclic(p, pp *proc) bool {
	n := 0
	for a := pp; a != nil; a = a.parent {
		if a == p || n == maxAncestry {
			return false
		}
		n++
	}
	return true
}

// relink points p at the table's entry for ppid.
func (t *Table) relink(p *proc, ppid uint32) {
	if ppid == 0 || ppid == p.Pid {
		link(p, nil, ppid)
		return
	}
	pp := t.procs[ppid]
	if pp != nil && (pp.removed || !acyclic(p, pp)) {
		pp = nil
	}
	link(p, pp, ppid)
}

// setFD stores fd in p's table, counting a refusal.
func (t *Table) setFD(p *proc, fd *event.FD) {
	if !p.fds.set(fd.Num, fd, t.opts.MaxFDsPerProc) {
		t.stats.FDsDropped++
	}
}
