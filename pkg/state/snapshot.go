package state

import (
	"fmt"
	"net/netip"

	"github.com/vigilsec/vigil/pkg/event"
)

// SnapshotVersion is the version of the Snapshot JSON layout.
const SnapshotVersion = 1

// Snapshot is the process state of a node at one instant: what ScanProc
// reads from /proc and Seed loads into a Table. It is stored in capture
// files, so its JSON form is stable and deterministic (processes by pid,
// descriptors by number).
type Snapshot struct {
	// Version is SnapshotVersion.
	Version int `json:"version"`
	// TakenAt is when the scan started, in Unix ns.
	TakenAt int64 `json:"taken_at"`
	// Processes are the processes, sorted by pid.
	Processes []ProcessSnapshot `json:"processes"`
}

// ProcessSnapshot is one process of a Snapshot; the fields mean what the
// same fields of event.Process mean.
type ProcessSnapshot struct {
	Pid          uint32       `json:"pid"`
	PPid         uint32       `json:"ppid"`
	Name         string       `json:"name"`
	Exe          string       `json:"exe,omitempty"`
	ExePath      string       `json:"exepath,omitempty"`
	Args         []string     `json:"args,omitempty"`
	Cwd          string       `json:"cwd,omitempty"`
	UID          uint32       `json:"uid"`
	GID          uint32       `json:"gid"`
	LoginUID     uint32       `json:"loginuid"`
	CapEffective uint64       `json:"cap_effective,omitempty"`
	TTY          uint32       `json:"tty,omitempty"`
	StartTS      int64        `json:"start_ts"`
	SID          uint32       `json:"sid"`
	VPid         uint32       `json:"vpid"`
	CgroupID     uint64       `json:"cgroup_id,omitempty"`
	ExeFromMemfd bool         `json:"exe_from_memfd,omitempty"`
	ExeUpper     bool         `json:"exe_upper_layer,omitempty"`
	ExeInoCtime  int64        `json:"exe_ino_ctime,omitempty"`
	ExeInoMtime  int64        `json:"exe_ino_mtime,omitempty"`
	FDs          []FDSnapshot `json:"fds,omitempty"`
}

// FDSnapshot is one descriptor of a ProcessSnapshot.
type FDSnapshot struct {
	Num int32 `json:"num"`
	// Type is Falco's fd.typechar ("f", "d", "4", "6", "u", "p", ...).
	Type      string         `json:"type"`
	Name      string         `json:"name,omitempty"`
	OpenFlags uint64         `json:"flags,omitempty"`
	Domain    int32          `json:"domain,omitempty"`
	SockType  int32          `json:"socktype,omitempty"`
	Protocol  int32          `json:"protocol,omitempty"`
	Local     netip.AddrPort `json:"local,omitzero"`
	Remote    netip.AddrPort `json:"remote,omitzero"`
	Server    bool           `json:"server,omitempty"`
	Connected bool           `json:"connected,omitempty"`
}

// fdTypeFromChar maps a typechar back to its FDType.
func fdTypeFromChar(c string) (event.FDType, error) {
	if len(c) == 1 {
		for t := event.FDUnknown; t <= event.FDBPF; t++ {
			if t.TypeChar() == c[0] {
				return t, nil
			}
		}
	}
	return 0, fmt.Errorf("unknown fd type %q", c)
}

// toFD converts a descriptor snapshot.
func (s FDSnapshot) toFD() (*event.FD, error) {
	typ, err := fdTypeFromChar(s.Type)
	if err != nil {
		return nil, err
	}
	return &event.FD{
		Num: s.Num, Type: typ, Name: s.Name, OpenFlags: s.OpenFlags,
		Domain: s.Domain, SockType: s.SockType, Protocol: s.Protocol,
		Local: s.Local, Remote: s.Remote, Server: s.Server, Connected: s.Connected,
	}, nil
}

// snapshotFD converts a descriptor to its snapshot.
func snapshotFD(fd *event.FD) FDSnapshot {
	return FDSnapshot{
		Num: fd.Num, Type: string(fd.Type.TypeChar()), Name: fd.Name, OpenFlags: fd.OpenFlags,
		Domain: fd.Domain, SockType: fd.SockType, Protocol: fd.Protocol,
		Local: fd.Local, Remote: fd.Remote, Server: fd.Server, Connected: fd.Connected,
	}
}

// Seed loads a snapshot into the table: each of its processes replaces the
// entry with the same pid, then parents are linked by ppid. A descriptor of
// an unknown type is an error naming the process; processes before it stay
// loaded.
func (t *Table) Seed(s *Snapshot) error {
	if s == nil {
		return nil
	}
	seeded := make([]*proc, 0, len(s.Processes))
	for i := range s.Processes {
		ps := &s.Processes[i]
		p := t.insert(ps.Pid)
		p.Process = event.Process{
			Pid: ps.Pid, PPid: ps.PPid, Name: ps.Name, Exe: ps.Exe, ExePath: ps.ExePath,
			Args: ps.Args, Cwd: ps.Cwd, UID: ps.UID, GID: ps.GID, LoginUID: ps.LoginUID,
			CapEffective: ps.CapEffective, TTY: ps.TTY, StartTS: ps.StartTS, SID: ps.SID,
			VPid: ps.VPid, CgroupID: ps.CgroupID, ExeFromMemfd: ps.ExeFromMemfd,
			ExeUpperLayer: ps.ExeUpper, ExeInoCtime: ps.ExeInoCtime, ExeInoMtime: ps.ExeInoMtime,
		}
		p.lastSeen = s.TakenAt
		for _, fs := range ps.FDs {
			fd, err := fs.toFD()
			if err != nil {
				return fmt.Errorf("snapshot: process %d fd %d: %w", ps.Pid, fs.Num, err)
			}
			t.setFD(p, fd)
		}
		seeded = append(seeded, p)
		t.stats.Seeded++
	}
	for _, p := range seeded {
		t.relink(p, p.PPid)
	}
	return nil
}

// Snapshot returns the table's live processes and their descriptors as a
// Snapshot taken at now (Unix ns).
func (t *Table) Snapshot(now int64) *Snapshot {
	s := &Snapshot{Version: SnapshotVersion, TakenAt: now}
	for _, p := range t.procs {
		if p.Exited {
			continue
		}
		ps := ProcessSnapshot{
			Pid: p.Pid, PPid: p.PPid, Name: p.Name, Exe: p.Exe, ExePath: p.ExePath,
			Args: p.Args, Cwd: p.Cwd, UID: p.UID, GID: p.GID, LoginUID: p.LoginUID,
			CapEffective: p.CapEffective, TTY: p.TTY, StartTS: p.StartTS, SID: p.SID,
			VPid: p.VPid, CgroupID: p.CgroupID, ExeFromMemfd: p.ExeFromMemfd,
			ExeUpper: p.ExeUpperLayer, ExeInoCtime: p.ExeInoCtime, ExeInoMtime: p.ExeInoMtime,
		}
		for _, fd := range p.fds.sorted() {
			ps.FDs = append(ps.FDs, snapshotFD(fd))
		}
		s.Processes = append(s.Processes, ps)
	}
	sortProcesses(s.Processes)
	return s
}
