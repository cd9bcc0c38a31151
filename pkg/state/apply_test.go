package state

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/event"
)

const (
	t0      = int64(1_700_000_000_000_000_000)
	initPID = 1
	bashPID = 100
)

// seedSnapshot is a small node: init and an interactive bash in /home/u
// with a terminal on fds 0-2 and a directory on fd 9.
func seedSnapshot() *Snapshot {
	return &Snapshot{Version: SnapshotVersion, TakenAt: t0, Processes: []ProcessSnapshot{
		{Pid: initPID, Name: "systemd", Exe: "/sbin/init", ExePath: "/usr/lib/systemd/systemd", Cwd: "/", SID: 1, VPid: 1, StartTS: t0 - int64(time.Hour)},
		{Pid: bashPID, PPid: initPID, Name: "bash", Exe: "-bash", ExePath: "/usr/bin/bash", Cwd: "/home/u", SID: bashPID, VPid: bashPID, UID: 1000, GID: 1000, LoginUID: 1000, StartTS: t0 - int64(time.Minute),
			FDs: []FDSnapshot{
				{Num: 0, Type: "f", Name: "/dev/pts/0", OpenFlags: oRdwr},
				{Num: 1, Type: "f", Name: "/dev/pts/0", OpenFlags: oRdwr},
				{Num: 2, Type: "f", Name: "/dev/pts/0", OpenFlags: oRdwr},
				{Num: 9, Type: "d", Name: "/srv/data", OpenFlags: oDirectory | oCloexec},
			}},
	}}
}

// harness applies events with increasing timestamps.
type harness struct {
	t   *testing.T
	tab *Table
	now int64
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, tab: New(opts), now: t0}
	if err := h.tab.Seed(seedSnapshot()); err != nil {
		t.Fatal(err)
	}
	return h
}

// ev builds an event of process pid with parent ppid.
func ev(typ event.Type, pid, ppid uint32, ret int64, args event.Args) event.Event {
	return event.Event{Type: typ, Pid: pid, Tid: pid, PPid: ppid, Ret: ret, Args: args, Comm: "bash", UID: 1000, EUID: 1000, GID: 1000, EGID: 1000, LoginUID: 1000}
}

func (h *harness) apply(e event.Event) *event.Event {
	h.t.Helper()
	h.now += int64(time.Millisecond)
	if e.Timestamp == 0 {
		e.Timestamp = h.now
	}
	out := e
	h.tab.Apply(&out)
	if out.Proc == nil {
		h.t.Fatalf("%s: no process view", e.Type)
	}
	return &out
}

func sa4(ip string, port uint16) event.Sockaddr {
	return event.Sockaddr{Family: event.AFInet, Addr: netip.MustParseAddr(ip), Port: port}
}

func sa6(ip string, port uint16) event.Sockaddr {
	return event.Sockaddr{Family: event.AFInet6, Addr: netip.MustParseAddr(ip), Port: port}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		run  func(t *testing.T, h *harness)
	}{
		{"dup2 onto stdin marks fd 0 as the socket", Options{}, func(t *testing.T, h *harness) {
			h.apply(ev(event.TypeSocket, bashPID, initPID, 3, event.Args{Domain: event.AFInet, SockType: sockStream}))
			c := h.apply(ev(event.TypeConnect, bashPID, initPID, 0, event.Args{Fd: 3, Addr: sa4("1.2.3.4", 80), LocalAddr: sa4("10.0.0.1", 40000)}))
			if !c.FD.NameChanged || !c.FD.Connected || FDName(c.FD) != "10.0.0.1:40000->1.2.3.4:80" {
				t.Fatalf("connect fd = %+v name %q", c.FD, FDName(c.FD))
			}
			d := h.apply(ev(event.TypeDup2, bashPID, initPID, 0, event.Args{Fd: 3, Fd2: 0}))
			if d.FD == nil || d.FD.Num != 0 || d.FD.Type.String() != "ipv4" || d.FD.NameChanged {
				t.Fatalf("dup2 fd = %+v", d.FD)
			}
			if got := FDName(d.FD); got != "10.0.0.1:40000->1.2.3.4:80" {
				t.Fatalf("dup2 fd.name = %q", got)
			}
			if fd := h.tab.FD(bashPID, 0); fd == nil || fd.Type != event.FDIPv4 {
				t.Fatalf("table fd 0 = %+v", fd)
			}
			if fd := h.tab.FD(bashPID, 3); fd == nil || fd.Num != 3 {
				t.Fatalf("old fd 3 = %+v", fd)
			}
		}},
		{"dup3 with O_CLOEXEC and dup of an unknown fd", Options{}, func(t *testing.T, h *harness) {
			d := h.apply(ev(event.TypeDup3, bashPID, initPID, 7, event.Args{Fd: 9, Fd2: 7, Flags: oCloexec}))
			if d.FD.Num != 7 || d.FD.Name != "/srv/data" || d.FD.OpenFlags&oCloexec == 0 {
				t.Fatalf("dup3 fd = %+v", d.FD)
			}
			d = h.apply(ev(event.TypeDup, bashPID, initPID, 8, event.Args{Fd: 9}))
			if d.FD.OpenFlags&oCloexec != 0 {
				t.Fatalf("dup kept O_CLOEXEC: %+v", d.FD)
			}
			before := h.tab.Stats().UnknownFDs
			d = h.apply(ev(event.TypeDup2, bashPID, initPID, 1, event.Args{Fd: 55, Fd2: 1}))
			if d.FD.Type != event.FDUnknown || h.tab.FD(bashPID, 1).Name != "" || h.tab.Stats().UnknownFDs != before+1 {
				t.Fatalf("dup2 of unknown fd = %+v", d.FD)
			}
			f := h.apply(ev(event.TypeDup2, bashPID, initPID, -9, event.Args{Fd: 2, Fd2: 0}))
			if f.FD != h.tab.FD(bashPID, 2) || h.tab.FD(bashPID, 0).Name != "/dev/pts/0" {
				t.Fatalf("failed dup2 changed state or view: %+v", f.FD)
			}
		}},
		{"forked child's ancestry reaches its grandparent", Options{}, func(t *testing.T, h *harness) {
			f := h.apply(ev(event.TypeClone, bashPID, initPID, 200, event.Args{Flags: 0x1200011}))
			c := h.tab.Process(200)
			if c == nil || c.Parent != f.Proc || c.Ancestor(2) == nil || c.Ancestor(2).Pid != initPID {
				t.Fatalf("child = %+v", c)
			}
			if c.Cwd != "/home/u" || c.ExePath != "/usr/bin/bash" || c.StartTS != f.Timestamp || len(h.tab.FDs(200)) != 4 {
				t.Fatalf("child did not copy the parent: %+v fds %d", c, len(h.tab.FDs(200)))
			}
			// Grandchild through vfork, then exec.
			h.apply(ev(event.TypeVfork, 200, bashPID, 300, event.Args{}))
			ex := ev(event.TypeExecve, 300, 200, 0, event.Args{Path: "/usr/bin/curl", Argv: []string{"curl", "-s", "http://x"}})
			ex.Comm = "curl"
			e := h.apply(ex)
			if e.Proc.Ancestor(1).Pid != 200 || e.Proc.Ancestor(2).Pid != bashPID || e.Proc.Ancestor(3).Pid != initPID || e.Proc.Ancestor(4) != nil {
				t.Fatalf("ancestry of %d broken", e.Proc.Pid)
			}
			if e.Proc.Exe != "curl" || e.Proc.ExePath != "/usr/bin/curl" || e.Proc.CmdLine() != "curl -s http://x" {
				t.Fatalf("exec: exe %q exepath %q cmdline %q", e.Proc.Exe, e.Proc.ExePath, e.Proc.CmdLine())
			}
			if SessionLeader(e.Proc).Pid != bashPID {
				t.Fatalf("session leader = %+v", SessionLeader(e.Proc))
			}
		}},
		{"the child's vpid", Options{}, func(t *testing.T, h *harness) {
			if err := h.tab.Seed(&Snapshot{Processes: []ProcessSnapshot{{Pid: 700, PPid: initPID, VPid: 7, Name: "app"}}}); err != nil {
				t.Fatal(err)
			}
			h.apply(ev(event.TypeClone, 700, initPID, 8, event.Args{TargetPid: 701}))
			h.apply(ev(event.TypeClone, 700, initPID, 702, event.Args{TargetPid: 702}))
			h.apply(ev(event.TypeFork, bashPID, initPID, 703, event.Args{TargetPid: 703}))
			for pid, want := range map[uint32]uint32{701: 8, 702: 0, 703: 703} {
				if got := h.tab.Process(pid).VPid; got != want {
					t.Errorf("vpid of %d = %d, want %d", pid, got, want)
				}
			}
		}},
		{"CLONE_THREAD and flagless kernel forks make no process, CLONE_PARENT makes a sibling", Options{}, func(t *testing.T, h *harness) {
			h.apply(ev(event.TypeClone, bashPID, initPID, 101, event.Args{Flags: cloneThread | 0x100}))
			if h.tab.Process(101) != nil {
				t.Fatal("thread became a process")
			}
			kernelFork := ev(event.TypeClone, bashPID, initPID, 103, event.Args{TargetPid: 103})
			kernelFork.Syscall = -1
			h.apply(kernelFork)
			if h.tab.Process(103) != nil {
				t.Fatal("a fork record without its syscall's flags made a process")
			}
			h.apply(ev(event.TypeClone3, bashPID, initPID, 102, event.Args{Flags: cloneParent}))
			if p := h.tab.Process(102); p == nil || p.PPid != initPID || p.Parent.Pid != initPID {
				t.Fatalf("CLONE_PARENT child = %+v", p)
			}
		}},
		{"child seen before its clone event keeps its exec", Options{}, func(t *testing.T, h *harness) {
			ex := ev(event.TypeExecve, 400, bashPID, 0, event.Args{Path: "/bin/ls", Argv: []string{"ls", "-l"}, ExePath: "/usr/bin/ls"})
			ex.Comm = "ls"
			e := h.apply(ex)
			if e.Proc.Parent.Pid != bashPID || e.Proc.Cwd != "/home/u" || h.tab.FD(400, 0) == nil || h.tab.FD(400, 9) != nil {
				t.Fatalf("header-created child = %+v", e.Proc)
			}
			f := h.apply(ev(event.TypeFork, bashPID, initPID, 400, event.Args{}))
			p := h.tab.Process(400)
			if p.Name != "ls" || p.ExePath != "/usr/bin/ls" || p.StartTS != f.Timestamp {
				t.Fatalf("clone event overwrote the child: %+v", p)
			}
			if s := h.tab.Stats(); s.FromHeader != 1 || s.Forks != 0 {
				t.Fatalf("stats = %+v", s)
			}
		}},
		{"openat against a dirfd", Options{}, func(t *testing.T, h *harness) {
			o := h.apply(ev(event.TypeOpenat, bashPID, initPID, 5, event.Args{DirFd: 9, Path: "rel/file", Flags: oWronly | oCreat, Mode: 0o644}))
			if o.Args.ResolvedPath != "/srv/data/rel/file" || o.FD.Name != "/srv/data/rel/file" || o.FD.NameRaw != "rel/file" || o.FD.Num != 5 || o.FD.Type != event.FDFile {
				t.Fatalf("openat = %+v / %+v", o.Args, o.FD)
			}
			if h.tab.FD(bashPID, 5) != o.FD {
				t.Fatal("fd not stored")
			}
			d, _ := FDDirectory(o.FD)
			n, _ := FDFilename(o.FD)
			if d != "/srv/data/rel" || n != "file" {
				t.Fatalf("directory %q filename %q", d, n)
			}
			u := h.apply(ev(event.TypeOpenat, bashPID, initPID, 6, event.Args{DirFd: 77, Path: "x"}))
			if u.Args.ResolvedPath != "" || u.FD.Name != "x" {
				t.Fatalf("unknown dirfd resolved to %q", u.Args.ResolvedPath)
			}
		}},
		{"chdir then relative open", Options{}, func(t *testing.T, h *harness) {
			h.apply(ev(event.TypeChdir, bashPID, initPID, -2, event.Args{Path: "missing"}))
			if c := h.tab.Process(bashPID).Cwd; c != "/home/u" {
				t.Fatalf("failed chdir moved cwd to %q", c)
			}
			c := h.apply(ev(event.TypeChdir, bashPID, initPID, 0, event.Args{Path: "proj/./src/"}))
			if c.Proc.Cwd != "/home/u/proj/src" {
				t.Fatalf("cwd = %q", c.Proc.Cwd)
			}
			o := h.apply(ev(event.TypeOpen, bashPID, initPID, 4, event.Args{Path: "../../../../etc//passwd"}))
			if o.FD.Name != "/etc/passwd" || o.FD.NameRaw != "../../../../etc//passwd" || !IsOpenRead(o.FD.OpenFlags) || IsOpenWrite(o.FD.OpenFlags) {
				t.Fatalf("open = %+v", o.FD)
			}
			h.apply(ev(event.TypeFchdir, bashPID, initPID, 0, event.Args{Fd: 9}))
			if c := h.tab.Process(bashPID).Cwd; c != "/srv/data" {
				t.Fatalf("fchdir cwd = %q", c)
			}
		}},
		{"failed open names the file but stores nothing", Options{}, func(t *testing.T, h *harness) {
			o := h.apply(ev(event.TypeOpenat, bashPID, initPID, -13, event.Args{DirFd: atFDCWD, Path: "/etc/shadow"}))
			if o.FD == nil || o.FD.Num != -1 || o.FD.Name != "/etc/shadow" || len(h.tab.FDs(bashPID)) != 4 {
				t.Fatalf("failed open fd = %+v", o.FD)
			}
			cr := h.apply(ev(event.TypeCreat, bashPID, initPID, 3, event.Args{Path: "out.txt"}))
			if cr.FD.Name != "/home/u/out.txt" || !IsOpenWrite(cr.FD.OpenFlags) {
				t.Fatalf("creat fd = %+v", cr.FD)
			}
		}},
		{"close removes the fd, a failed close does not", Options{}, func(t *testing.T, h *harness) {
			c := h.apply(ev(event.TypeClose, bashPID, initPID, -9, event.Args{Fd: 9}))
			if c.FD == nil || h.tab.FD(bashPID, 9) == nil {
				t.Fatal("failed close removed the fd")
			}
			c = h.apply(ev(event.TypeClose, bashPID, initPID, 0, event.Args{Fd: 9}))
			if c.FD == nil || c.FD.Name != "/srv/data" || h.tab.FD(bashPID, 9) != nil {
				t.Fatalf("close: view %+v, still stored %v", c.FD, h.tab.FD(bashPID, 9) != nil)
			}
		}},
		{"exec drops close-on-exec fds and renames", Options{}, func(t *testing.T, h *harness) {
			h.apply(ev(event.TypeOpen, bashPID, initPID, 3, event.Args{Path: "/tmp/keep"}))
			h.apply(ev(event.TypeOpen, bashPID, initPID, 4, event.Args{Path: "/tmp/drop", Flags: oCloexec}))
			h.apply(ev(event.TypeSocket, bashPID, initPID, 5, event.Args{Domain: event.AFInet6, SockType: sockStream | sockCloexec}))
			h.apply(ev(event.TypeMemfdCreate, bashPID, initPID, 6, event.Args{Name: "x", Flags: mfdCloexec}))
			failed := ev(event.TypeExecve, bashPID, initPID, -2, event.Args{Path: "/nope", Argv: []string{"nope"}})
			h.apply(failed)
			if p := h.tab.Process(bashPID); p.Name != "bash" || h.tab.FD(bashPID, 4) == nil {
				t.Fatal("failed exec changed the process")
			}
			ex := ev(event.TypeExecveat, bashPID, initPID, 0, event.Args{DirFd: 6, Flags: atEmptyPath, Argv: []string{"payload", "--x"}, ExeFromMemfd: true, ExePath: "/memfd:x (deleted)", ExeInoCtime: 5})
			ex.Comm = "6"
			e := h.apply(ex)
			if e.Args.ResolvedPath != "memfd:x" {
				t.Fatalf("execveat AT_EMPTY_PATH resolved %q", e.Args.ResolvedPath)
			}
			got := []int32{}
			for _, fd := range h.tab.FDs(bashPID) {
				got = append(got, fd.Num)
			}
			if fmt.Sprint(got) != "[0 1 2 3]" {
				t.Fatalf("fds after exec = %v", got)
			}
			if h.tab.FD(bashPID, 4) != nil || h.tab.FD(bashPID, 5) != nil || h.tab.FD(bashPID, 6) != nil {
				t.Fatal("O_CLOEXEC/SOCK_CLOEXEC/MFD_CLOEXEC fd survived exec")
			}
			p := e.Proc
			if p.Name != "6" || p.Exe != "payload" || !p.ExeFromMemfd || p.ExeInoCtime != 5 || len(p.Args) != 1 || p.StartTS != t0-int64(time.Minute) {
				t.Fatalf("after exec = %+v", p)
			}
		}},
		{"accept makes a server-side connected socket", Options{}, func(t *testing.T, h *harness) {
			h.apply(ev(event.TypeSocket, bashPID, initPID, 3, event.Args{Domain: event.AFInet, SockType: sockStream, Protocol: ipprotoTCP}))
			b := h.apply(ev(event.TypeBind, bashPID, initPID, 0, event.Args{Fd: 3, Addr: sa4("0.0.0.0", 8080)}))
			if FDName(b.FD) != "0.0.0.0:8080" || !b.FD.NameChanged {
				t.Fatalf("bind fd.name = %q", FDName(b.FD))
			}
			l := h.apply(ev(event.TypeListen, bashPID, initPID, 0, event.Args{Fd: 3, Backlog: 5}))
			if !l.FD.Server || l.FD.NameChanged {
				t.Fatalf("listen fd = %+v", l.FD)
			}
			a := h.apply(ev(event.TypeAccept4, bashPID, initPID, 4, event.Args{Fd: 3, Addr: sa4("192.168.1.9", 51000), LocalAddr: sa4("10.0.0.1", 8080), Flags: sockCloexec}))
			cl, sv, ok := Endpoints(a.FD)
			if !ok || !a.FD.Server || cl.String() != "192.168.1.9:51000" || sv.String() != "10.0.0.1:8080" || a.FD.OpenFlags&oCloexec == 0 {
				t.Fatalf("accept fd = %+v", a.FD)
			}
			if FDName(a.FD) != "192.168.1.9:51000->10.0.0.1:8080" || L4Proto(a.FD) != "tcp" {
				t.Fatalf("accept fd.name = %q l4 %q", FDName(a.FD), L4Proto(a.FD))
			}
		}},
		{"sendto on an unconnected UDP socket follows the destination", Options{}, func(t *testing.T, h *harness) {
			h.apply(ev(event.TypeSocket, bashPID, initPID, 3, event.Args{Domain: event.AFInet6, SockType: sockDgram}))
			s := h.apply(ev(event.TypeSendto, bashPID, initPID, 12, event.Args{Fd: 3, Addr: sa6("2001:db8::1", 53)}))
			if !s.FD.NameChanged || s.FD.Type != event.FDIPv6 || FDName(s.FD) != "0.0.0.0:0->2001:db8::1:53" || L4Proto(s.FD) != "udp" {
				t.Fatalf("sendto fd = %+v name %q", s.FD, FDName(s.FD))
			}
			s = h.apply(ev(event.TypeSendmsg, bashPID, initPID, 12, event.Args{Fd: 3, Addr: sa6("2001:db8::1", 53)}))
			if s.FD.NameChanged {
				t.Fatal("same destination flagged as a name change")
			}
			u := h.apply(ev(event.TypeSendto, bashPID, initPID, 12, event.Args{Fd: 30, Addr: sa4("8.8.8.8", 53)}))
			if u.FD == nil || u.FD.Type != event.FDIPv4 || FDName(u.FD) != "0.0.0.0:0->8.8.8.8:53" || h.tab.FD(bashPID, 30) != u.FD {
				t.Fatalf("sendto on a missed socket = %+v", u.FD)
			}
		}},
		{"IPv4-mapped connect on an IPv6 socket is IPv4", Options{}, func(t *testing.T, h *harness) {
			h.apply(ev(event.TypeSocket, bashPID, initPID, 3, event.Args{Domain: event.AFInet6, SockType: sockStream | sockNonblock}))
			c := h.apply(ev(event.TypeConnect, bashPID, initPID, -eInProgress, event.Args{Fd: 3, Addr: sa6("::ffff:10.1.2.3", 22)}))
			if c.FD.Type != event.FDIPv4 || c.FD.Remote.String() != "10.1.2.3:22" || !c.FD.Connected {
				t.Fatalf("EINPROGRESS connect fd = %+v", c.FD)
			}
			f := h.apply(ev(event.TypeConnect, bashPID, initPID, -111, event.Args{Fd: 3, Addr: sa4("10.9.9.9", 23)}))
			if f.FD.Remote.String() != "10.1.2.3:22" || f.FD.NameChanged {
				t.Fatalf("failed connect changed the fd: %+v", f.FD)
			}
		}},
		{"unix sockets and connect on an fd the table missed", Options{}, func(t *testing.T, h *harness) {
			c := h.apply(ev(event.TypeConnect, bashPID, initPID, 0, event.Args{Fd: 12, Addr: event.Sockaddr{Family: event.AFUnix, Path: "/run/docker.sock"}}))
			if c.FD == nil || c.FD.Type != event.FDUnix || FDName(c.FD) != "/run/docker.sock" || h.tab.FD(bashPID, 12) != c.FD {
				t.Fatalf("unix connect fd = %+v", c.FD)
			}
		}},
		{"path arguments of the *at and two-path syscalls", Options{}, func(t *testing.T, h *harness) {
			s := h.apply(ev(event.TypeSymlinkat, bashPID, initPID, 0, event.Args{Path: "../etc/shadow", DirFd2: 9, Path2: "link"}))
			if s.Args.ResolvedPath2 != "/srv/data/link" || s.Args.ResolvedPath != "/srv/etc/shadow" {
				t.Fatalf("symlinkat = %q -> %q", s.Args.ResolvedPath2, s.Args.ResolvedPath)
			}
			l := h.apply(ev(event.TypeLinkat, bashPID, initPID, 0, event.Args{DirFd: atFDCWD, Path: "a", DirFd2: 9, Path2: "b"}))
			if l.Args.ResolvedPath != "/home/u/a" || l.Args.ResolvedPath2 != "/srv/data/b" {
				t.Fatalf("linkat = %+v", l.Args)
			}
			r := h.apply(ev(event.TypeRename, bashPID, initPID, 0, event.Args{Path: "x", Path2: "/tmp/y"}))
			if r.Args.ResolvedPath != "/home/u/x" || r.Args.ResolvedPath2 != "/tmp/y" {
				t.Fatalf("rename = %+v", r.Args)
			}
			m := h.apply(ev(event.TypeMount, bashPID, initPID, 0, event.Args{Path: "mnt", Path2: "proc"}))
			if m.Args.ResolvedPath != "/home/u/mnt" || m.Args.ResolvedPath2 != "" {
				t.Fatalf("mount = %+v", m.Args)
			}
			f := h.apply(ev(event.TypeFchownat, bashPID, initPID, 0, event.Args{DirFd: 9, Flags: atEmptyPath}))
			if f.Args.ResolvedPath != "/srv/data" {
				t.Fatalf("fchownat AT_EMPTY_PATH = %q", f.Args.ResolvedPath)
			}
			fm := h.apply(ev(event.TypeFchmod, bashPID, initPID, 0, event.Args{Fd: 2}))
			if fm.FD == nil || fm.FD.Name != "/dev/pts/0" {
				t.Fatalf("fchmod fd = %+v", fm.FD)
			}
		}},
		{"reaping keeps ancestry during the grace period", Options{ExitGrace: 10 * time.Second, ReapInterval: time.Second}, func(t *testing.T, h *harness) {
			h.apply(ev(event.TypeFork, bashPID, initPID, 200, event.Args{}))
			h.apply(ev(event.TypeFork, 200, bashPID, 300, event.Args{}))
			// The group's last thread need not be its leader.
			exit := ev(event.TypeProcExit, 200, bashPID, 0, event.Args{ExitCode: 0})
			exit.Tid = 201
			h.apply(exit)
			if !h.tab.Process(200).Exited {
				t.Fatal("procexit from a non-leader thread did not end the process")
			}
			h.now += int64(5 * time.Second)
			// The kernel reparented 300 to init; within the grace period the
			// ancestry still goes through the exited 200.
			e := h.apply(ev(event.TypeOpen, 300, initPID, 3, event.Args{Path: "/etc/hosts"}))
			if a := e.Proc.Ancestor(1); a == nil || a.Pid != 200 || !a.Exited || e.Proc.Ancestor(2).Pid != bashPID {
				t.Fatalf("ancestry during grace = %+v", a)
			}
			h.now += int64(6 * time.Second)
			e = h.apply(ev(event.TypeOpen, 300, initPID, 4, event.Args{Path: "/etc/hosts"}))
			if h.tab.Process(200) != nil || e.Proc.Parent == nil || e.Proc.Parent.Pid != initPID || e.Proc.PPid != initPID {
				t.Fatalf("after grace: 200 still there %v, parent %+v", h.tab.Process(200) != nil, e.Proc.Parent)
			}
			if s := h.tab.Stats(); s.Reaped != 1 || s.Exits != 1 || s.Procs != 3 {
				t.Fatalf("stats = %+v", s)
			}
		}},
		{"a full table evicts exited processes first, then the least recently seen", Options{MaxProcs: 4}, func(t *testing.T, h *harness) {
			h.apply(ev(event.TypeFork, bashPID, initPID, 200, event.Args{}))
			h.apply(ev(event.TypeProcExit, 200, bashPID, 0, event.Args{}))
			h.apply(ev(event.TypeFork, bashPID, initPID, 201, event.Args{}))
			h.apply(ev(event.TypeFork, bashPID, initPID, 202, event.Args{}))
			if h.tab.Len() != 4 || h.tab.Process(200) != nil || h.tab.Stats().Evicted != 1 {
				t.Fatalf("len %d, 200 present %v, stats %+v", h.tab.Len(), h.tab.Process(200) != nil, h.tab.Stats())
			}
			h.apply(ev(event.TypeOpen, initPID, 0, 3, event.Args{Path: "/x"}))
			h.apply(ev(event.TypeFork, bashPID, initPID, 203, event.Args{}))
			if h.tab.Len() != 4 || h.tab.Process(201) != nil || h.tab.Process(initPID) == nil || h.tab.Stats().Evicted != 2 {
				t.Fatalf("len %d stats %+v", h.tab.Len(), h.tab.Stats())
			}
		}},
		{"per-process fd limit", Options{MaxFDsPerProc: 5}, func(t *testing.T, h *harness) {
			o := h.apply(ev(event.TypeOpen, bashPID, initPID, 3, event.Args{Path: "/a"}))
			h.apply(ev(event.TypeOpen, bashPID, initPID, 5000, event.Args{Path: "/b"}))
			if o.FD == nil || h.tab.FD(bashPID, 3) == nil || h.tab.FD(bashPID, 5000) != nil || h.tab.Stats().FDsDropped != 1 {
				t.Fatalf("stats %+v", h.tab.Stats())
			}
		}},
		{"an exec after a missed fork revives a reused pid", Options{ExitGrace: time.Second, ReapInterval: time.Second}, func(t *testing.T, h *harness) {
			h.apply(ev(event.TypeFork, bashPID, initPID, 200, event.Args{}))
			h.apply(ev(event.TypeProcExit, 200, bashPID, 0, event.Args{}))
			e := h.apply(ev(event.TypeExecve, 200, bashPID, 0, event.Args{Path: "/bin/true"}))
			if e.Proc.Exited {
				t.Fatal("exec left the process exited")
			}
			h.now += int64(3 * time.Second)
			h.apply(ev(event.TypeOpen, bashPID, initPID, 3, event.Args{Path: "/x"}))
			if h.tab.Process(200) == nil || h.tab.Stats().Reaped != 0 {
				t.Fatalf("revived process reaped: %+v", h.tab.Stats())
			}
		}},
		{"a stale header-created entry is replaced by a new fork", Options{}, func(t *testing.T, h *harness) {
			old := h.apply(ev(event.TypeOpen, 500, 0, 3, event.Args{Path: "/x"}))
			h.now += int64(5 * time.Second)
			f := h.apply(ev(event.TypeFork, bashPID, initPID, 500, event.Args{}))
			p := h.tab.Process(500)
			if p == old.Proc || p.Parent != f.Proc || p.Cwd != "/home/u" || p.StartTS != f.Timestamp {
				t.Fatalf("fork did not replace the stale entry: %+v", p)
			}
		}},
		{"contradictory parents never make a cycle", Options{}, func(t *testing.T, h *harness) {
			h.apply(ev(event.TypeOpen, 5, 6, 3, event.Args{Path: "/x"}))
			h.apply(ev(event.TypeOpen, 6, 5, 3, event.Args{Path: "/x"}))
			h.apply(ev(event.TypeOpen, 5, 6, 3, event.Args{Path: "/x"}))
			for _, pid := range []uint32{5, 6} {
				n := 0
				for a := h.tab.Process(pid); a != nil; a = a.Parent {
					if n++; n > 3 {
						t.Fatalf("cycle through %d", pid)
					}
				}
			}
		}},
		{"unknown process is created from the header", Options{}, func(t *testing.T, h *harness) {
			e := ev(event.TypeOpen, 999, 998, 3, event.Args{Path: "rel"})
			e.Comm, e.CgroupID, e.TTY, e.CapEffective = "mystery", 77, 34816, 0x3f
			out := h.apply(e)
			p := out.Proc
			if p.Pid != 999 || p.Name != "mystery" || p.CgroupID != 77 || p.TTY != 34816 || p.CapEffective != 0x3f || p.Parent != nil || p.PPid != 998 {
				t.Fatalf("header process = %+v", p)
			}
			if out.Args.ResolvedPath != "" || out.FD.Name != "rel" {
				t.Fatalf("relative path without a cwd resolved to %q", out.Args.ResolvedPath)
			}
			if h.tab.Stats().FromHeader != 1 {
				t.Fatalf("stats %+v", h.tab.Stats())
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newHarness(t, tc.opts))
		})
	}
}
