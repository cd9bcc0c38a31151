package state

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/pkg/event"
)

// ScanProc reads every process under procRoot ("/proc", or the host's
// /proc mounted elsewhere) into a Snapshot: pid, ppid, name (comm), exe
// (argv[0]), exepath, args, cwd, effective uid/gid, loginuid, tty, start
// time, session, vpid, effective capabilities, cgroup v2 id, the
// executable's inode times and whether it is a memfd (the overlayfs
// upper-layer flag is left false: only exec events carry it), and the open
// descriptors (files and
// directories with their paths; sockets with their endpoints, looked up by
// inode in the /proc/net tables of the process's network namespace).
//
// A process that exits during the scan is left out; a field that cannot be
// read (permissions) stays empty. The error is for procRoot itself.
func ScanProc(procRoot string) (*Snapshot, error) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", procRoot, err)
	}
	now := time.Now()
	sc := &scanner{
		root:    procRoot,
		bootNs:  bootTime(now),
		clkTck:  clockTicks(procRoot),
		cgroups: make(map[string]uint64),
		nets:    make(map[string]map[uint64]sockEntry),
	}
	if mi, err := os.ReadFile(filepath.Join(procRoot, "self", "mountinfo")); err == nil {
		sc.cgMount, sc.haveCg = cgroup2Mount(parseMountinfo(mi))
	}
	s := &Snapshot{Version: SnapshotVersion, TakenAt: now.UnixNano()}
	for _, e := range entries {
		pid, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil || !e.IsDir() {
			continue
		}
		if ps, ok := sc.process(uint32(pid)); ok {
			s.Processes = append(s.Processes, ps)
		}
	}
	sortProcesses(s.Processes)
	return s, nil
}

// deletedSuffix is what the kernel appends to the link target of an
// unlinked file; paths are kept without it, as the probe reports them.
const deletedSuffix = " (deleted)"

// sortProcesses orders processes by pid.
func sortProcesses(ps []ProcessSnapshot) {
	sort.Slice(ps, func(i, j int) bool { return ps[i].Pid < ps[j].Pid })
}

// bootTime returns the wall-clock boot time in Unix ns: now minus
// CLOCK_BOOTTIME, the clock /proc/PID/stat start times count in.
func bootTime(now time.Time) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return now.UnixNano() - ts.Nano()
}

// clockTicks returns USER_HZ from the auxiliary vector (AT_CLKTCK), 100
// when it cannot be read.
func clockTicks(procRoot string) uint64 {
	const atClkTck = 17
	data, err := os.ReadFile(filepath.Join(procRoot, "self", "auxv"))
	if err == nil {
		for i := 0; i+16 <= len(data); i += 16 {
			key := binary.NativeEndian.Uint64(data[i:])
			if key == atClkTck {
				if v := binary.NativeEndian.Uint64(data[i+8:]); v > 0 {
					return v
				}
			}
		}
	}
	return 100
}

// scanner holds what one ScanProc call caches.
type scanner struct {
	root    string
	bootNs  int64
	clkTck  uint64
	cgMount mountInfo
	haveCg  bool
	// cgroups caches cgroup path → id.
	cgroups map[string]uint64
	// nets caches network namespace → socket inode → socket.
	nets map[string]map[uint64]sockEntry
}

func (sc *scanner) path(pid uint32, elem ...string) string {
	return filepath.Join(append([]string{sc.root, strconv.FormatUint(uint64(pid), 10)}, elem...)...)
}

// process reads one process; false when it vanished or is unreadable.
func (sc *scanner) process(pid uint32) (ProcessSnapshot, bool) {
	var ps ProcessSnapshot
	data, err := os.ReadFile(sc.path(pid, "stat"))
	if err != nil {
		return ps, false
	}
	st, err := parseStat(data)
	if err != nil {
		return ps, false
	}
	ps.Pid, ps.PPid, ps.Name, ps.SID, ps.TTY = pid, st.PPid, st.Comm, st.Session, st.TTY
	if sc.clkTck > 0 && sc.bootNs != 0 {
		ps.StartTS = sc.bootNs + int64(st.StartTicks*uint64(time.Second)/sc.clkTck)
	}
	if data, err := os.ReadFile(sc.path(pid, "status")); err == nil {
		s := parseStatus(data)
		ps.UID, ps.GID, ps.VPid, ps.CapEffective = s.EUID, s.EGID, s.VPid, s.CapEff
	}
	ps.LoginUID = 0xffffffff
	if data, err := os.ReadFile(sc.path(pid, "loginuid")); err == nil {
		if v, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 32); err == nil {
			ps.LoginUID = uint32(v)
		}
	}
	if data, err := os.ReadFile(sc.path(pid, "cmdline")); err == nil {
		if argv := parseCmdline(data); len(argv) > 0 {
			ps.Exe = argv[0]
			if len(argv) > 1 {
				ps.Args = argv[1:]
			}
		}
	}
	if exe, err := os.Readlink(sc.path(pid, "exe")); err == nil {
		ps.ExePath = strings.TrimSuffix(exe, deletedSuffix)
		ps.ExeFromMemfd = strings.HasPrefix(exe, "/memfd:")
		var stx unix.Stat_t
		if unix.Stat(sc.path(pid, "exe"), &stx) == nil {
			ps.ExeInoCtime = stx.Ctim.Nano()
			ps.ExeInoMtime = stx.Mtim.Nano()
		}
	}
	if cwd, err := os.Readlink(sc.path(pid, "cwd")); err == nil {
		ps.Cwd = cwd
	}
	ps.CgroupID = sc.cgroupID(pid)
	ps.FDs = sc.fds(pid)
	return ps, true
}

// cgroupID returns the inode of the process's cgroup v2 directory.
func (sc *scanner) cgroupID(pid uint32) uint64 {
	if !sc.haveCg {
		return 0
	}
	data, err := os.ReadFile(sc.path(pid, "cgroup"))
	if err != nil {
		return 0
	}
	cg, ok := parseCgroupV2Path(data)
	if !ok {
		return 0
	}
	if id, ok := sc.cgroups[cg]; ok {
		return id
	}
	var id uint64
	if dir, ok := cgroupDir(sc.cgMount, cg); ok {
		var st unix.Stat_t
		if unix.Stat(dir, &st) == nil {
			id = st.Ino
		}
	}
	sc.cgroups[cg] = id
	return id
}

// fds reads the open descriptors of a process, sorted by number.
func (sc *scanner) fds(pid uint32) []FDSnapshot {
	dir := sc.path(pid, "fd")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []FDSnapshot
	var sockets map[uint64]sockEntry
	for _, e := range entries {
		num, err := strconv.ParseInt(e.Name(), 10, 32)
		if err != nil {
			continue
		}
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		fd := FDSnapshot{Num: int32(num)}
		if data, err := os.ReadFile(sc.path(pid, "fdinfo", e.Name())); err == nil {
			fd.OpenFlags, _ = parseFdinfoFlags(data)
		}
		typ := event.FDUnknown
		switch {
		case strings.HasPrefix(target, "socket:["):
			if sockets == nil {
				sockets = sc.sockets(pid)
			}
			ino, _ := strconv.ParseUint(strings.TrimSuffix(target[len("socket:["):], "]"), 10, 64)
			typ = sc.fillSocket(&fd, sockets, ino)
		case strings.HasPrefix(target, "/memfd:"):
			typ = event.FDMemfd
			fd.Name = strings.TrimSuffix(target[1:], deletedSuffix)
		case strings.HasPrefix(target, "/"):
			typ = event.FDFile
			fd.Name = strings.TrimSuffix(target, deletedSuffix)
			if fd.OpenFlags&oDirectory != 0 {
				typ = event.FDDirectory
			} else if fi, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && fi.IsDir() {
				typ = event.FDDirectory
			}
		default:
			typ, fd.Name = anonFDType(target), target
		}
		fd.Type = string(typ.TypeChar())
		out = append(out, fd)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Num < out[j].Num })
	return out
}

// anonFDType classifies a non-path, non-socket fd link target.
func anonFDType(target string) event.FDType {
	switch {
	case strings.HasPrefix(target, "pipe:"):
		return event.FDPipe
	case target == "anon_inode:[eventfd]":
		return event.FDEvent
	case target == "anon_inode:[signalfd]":
		return event.FDSignal
	case target == "anon_inode:inotify":
		return event.FDInotify
	case target == "anon_inode:[timerfd]":
		return event.FDTimer
	case strings.HasPrefix(target, "anon_inode:bpf"):
		return event.FDBPF
	}
	return event.FDUnknown
}

// fillSocket describes socket inode ino in fd and returns its type.
func (sc *scanner) fillSocket(fd *FDSnapshot, sockets map[uint64]sockEntry, ino uint64) event.FDType {
	e, ok := sockets[ino]
	if !ok {
		fd.Name = "socket:[" + strconv.FormatUint(ino, 10) + "]"
		return event.FDUnknown
	}
	fd.Domain, fd.SockType, fd.Protocol = e.Domain, e.SockType, e.Protocol
	switch e.Type {
	case event.FDUnix:
		fd.Name = e.Path
	case event.FDIPv4, event.FDIPv6:
		fd.Local, fd.Remote = e.Local, e.Remote
		fd.Connected = e.Remote.IsValid()
		// Listening sockets and the accepted ends of their connections
		// are server sockets.
		fd.Server = e.Listen || (fd.Connected && sockets[serverKey(e)].Listen)
	}
	return e.Type
}

// serverKey is the pseudo-inode under which sockets() records that a TCP
// port has a listener: top bit set, protocol and port below.
func serverKey(e sockEntry) uint64 {
	return 1<<63 | uint64(e.Protocol)<<16 | uint64(e.Local.Port())
}

// sockets returns the socket table of pid's network namespace.
func (sc *scanner) sockets(pid uint32) map[uint64]sockEntry {
	ns, err := os.Readlink(sc.path(pid, "ns", "net"))
	if err != nil {
		ns = "pid:" + strconv.FormatUint(uint64(pid), 10)
	}
	if m, ok := sc.nets[ns]; ok {
		return m
	}
	m := make(map[uint64]sockEntry)
	add := func(file string, parse func([]byte) []sockEntry) {
		data, err := os.ReadFile(sc.path(pid, "net", file))
		if err != nil {
			return
		}
		for _, e := range parse(data) {
			m[e.Inode] = e
			if e.Listen && e.Protocol == ipprotoTCP {
				m[serverKey(e)] = sockEntry{Listen: true}
			}
		}
	}
	ip := func(domain, typ int32) func([]byte) []sockEntry {
		return func(b []byte) []sockEntry { return parseNetIP(b, domain, typ) }
	}
	add("tcp", ip(event.AFInet, sockStream))
	add("tcp6", ip(event.AFInet6, sockStream))
	add("udp", ip(event.AFInet, sockDgram))
	add("udp6", ip(event.AFInet6, sockDgram))
	add("raw", ip(event.AFInet, sockRaw))
	add("raw6", ip(event.AFInet6, sockRaw))
	add("unix", parseNetUnix)
	add("netlink", parseNetlink)
	sc.nets[ns] = m
	return m
}
