package state

import (
	"net/netip"

	"github.com/vigilsec/vigil/pkg/event"
)

// cloneRaceWindow is how much older than its clone event a child first seen
// in its own event header may be and still be that clone's child: a child
// often runs (and its events arrive) before the parent's clone returns.
const cloneRaceWindow = int64(1e9)

// Apply updates the table from ev and attaches the views: ev.Proc (creating
// the process from the event header when unknown), ev.FD (the descriptor
// the event opened, used or produced; nil when none), and
// ev.Args.ResolvedPath/ResolvedPath2 (absolute forms of the path arguments,
// "" when a relative path's base is unknown). Failed syscalls change nothing
// but still get views: a failed open or socket gets an FD with Num -1 that
// is not stored, so fd.name of a failed open is its path, as in Falco.
//
// Apply reaps exited processes every ReapInterval of event time. It is the
// only method called per event and allocates only for what the event
// creates (a process, a descriptor, a joined path).
func (t *Table) Apply(ev *event.Event) {
	if ev.Timestamp >= t.nextReap {
		t.Reap(ev.Timestamp)
	}
	p := t.procFor(ev)
	ev.Proc = &p.Process
	ev.FD = nil
	a := &ev.Args
	a.ResolvedPath, a.ResolvedPath2 = "", ""

	switch ev.Type {
	case event.TypeFork, event.TypeVfork, event.TypeClone, event.TypeClone3:
		t.onClone(ev, p)
	case event.TypeExecve:
		a.ResolvedPath = resolve(p.Cwd, a.Path)
		t.onExec(ev, p)
	case event.TypeExecveat:
		a.ResolvedPath = t.resolveAt(p, a.DirFd, a.Path, a.Flags&atEmptyPath != 0)
		t.onExec(ev, p)
	case event.TypeProcExit:
		// The probe emits procexit once per thread group, from whichever
		// thread exits last, so its Tid need not be the Pid.
		t.markExited(p, ev.Timestamp)
	case event.TypeOpen, event.TypeCreat:
		a.ResolvedPath = resolve(p.Cwd, a.Path)
		t.onOpen(ev, p)
	case event.TypeOpenat, event.TypeOpenat2:
		a.ResolvedPath = t.resolveAt(p, a.DirFd, a.Path, false)
		t.onOpen(ev, p)
	case event.TypeClose:
		ev.FD = t.lookupFD(p, a.Fd)
		if ev.Ret == 0 {
			p.fds.del(a.Fd)
		}
	case event.TypeDup, event.TypeDup2, event.TypeDup3:
		t.onDup(ev, p)
	case event.TypeSocket:
		t.onSocket(ev, p)
	case event.TypeConnect:
		t.onConnect(ev, p)
	case event.TypeAccept, event.TypeAccept4:
		t.onAccept(ev, p)
	case event.TypeBind:
		t.onBind(ev, p)
	case event.TypeListen:
		ev.FD = t.lookupFD(p, a.Fd)
		if ev.FD != nil && ev.Ret == 0 {
			ev.FD.Server = true
		}
	case event.TypeSendto, event.TypeSendmsg:
		t.onSend(ev, p)
	case event.TypeMemfdCreate:
		t.onMemfd(ev, p)
	case event.TypeChdir:
		a.ResolvedPath = resolve(p.Cwd, a.Path)
		if ev.Ret == 0 && a.ResolvedPath != "" {
			p.Cwd = a.ResolvedPath
		}
	case event.TypeFchdir:
		ev.FD = t.lookupFD(p, a.Fd)
		if ev.Ret == 0 && ev.FD != nil && ev.FD.Name != "" && ev.FD.Name[0] == '/' {
			p.Cwd = ev.FD.Name
		}
	case event.TypeFchmod, event.TypeFchown, event.TypeFinitModule, event.TypeSetns:
		ev.FD = t.lookupFD(p, a.Fd)
		if ev.FD != nil {
			ev.FD.NameChanged = false
		}
	case event.TypeSymlink:
		a.ResolvedPath2 = resolve(p.Cwd, a.Path2)
		a.ResolvedPath = resolveTarget(a.ResolvedPath2, a.Path)
	case event.TypeSymlinkat:
		a.ResolvedPath2 = t.resolveAt(p, a.DirFd2, a.Path2, false)
		a.ResolvedPath = resolveTarget(a.ResolvedPath2, a.Path)
	case event.TypeLink, event.TypeRename:
		a.ResolvedPath = resolve(p.Cwd, a.Path)
		a.ResolvedPath2 = resolve(p.Cwd, a.Path2)
	case event.TypeLinkat:
		a.ResolvedPath = t.resolveAt(p, a.DirFd, a.Path, a.Flags&atEmptyPath != 0)
		a.ResolvedPath2 = t.resolveAt(p, a.DirFd2, a.Path2, false)
	case event.TypeRenameat, event.TypeRenameat2:
		a.ResolvedPath = t.resolveAt(p, a.DirFd, a.Path, false)
		a.ResolvedPath2 = t.resolveAt(p, a.DirFd2, a.Path2, false)
	case event.TypeUnlink, event.TypeMkdir, event.TypeRmdir, event.TypeChmod,
		event.TypeChown, event.TypeLchown, event.TypeUmount2:
		a.ResolvedPath = resolve(p.Cwd, a.Path)
	case event.TypeMount:
		a.ResolvedPath = resolve(p.Cwd, a.Path)
		if a.Path2 != "" && a.Path2[0] == '/' {
			a.ResolvedPath2 = resolve("", a.Path2)
		}
	case event.TypeUnlinkat, event.TypeMkdirat, event.TypeFchmodat:
		a.ResolvedPath = t.resolveAt(p, a.DirFd, a.Path, false)
	case event.TypeFchownat:
		a.ResolvedPath = t.resolveAt(p, a.DirFd, a.Path, a.Flags&atEmptyPath != 0)
	}
}

// resolveTarget resolves a symlink's target against the directory of the
// link itself, which is what the target is relative to.
func resolveTarget(link, target string) string {
	if target != "" && target[0] == '/' {
		return resolve("", target)
	}
	if link == "" {
		return ""
	}
	return resolve(dirOf(link), target)
}

// lookupFD returns descriptor num of p, counting a miss, and clears its
// per-event NameChanged flag.
func (t *Table) lookupFD(p *proc, num int32) *event.FD {
	fd := p.fds.get(num)
	if fd == nil {
		t.stats.UnknownFDs++
		return nil
	}
	fd.NameChanged = false
	return fd
}

// procFor returns the entry of ev's process, creating it from the header
// when unknown, and refreshes what every header says.
func (t *Table) procFor(ev *event.Event) *proc {
	p := t.procs[ev.Pid]
	if p == nil {
		p = t.fromHeader(ev)
	}
	p.lastSeen = ev.Timestamp
	p.UID, p.GID, p.LoginUID = ev.EUID, ev.EGID, ev.LoginUID
	p.CapEffective = ev.CapEffective
	p.TTY = ev.TTY
	if ev.CgroupID != 0 {
		p.CgroupID = ev.CgroupID
	}
	if p.parent == nil || p.parent.removed {
		t.relink(p, ev.PPid)
	}
	return p
}

// fromHeader creates a process first seen in an event. When its parent is
// known it inherits the parent's cwd, descriptors and session (it was most
// likely just forked, its clone event not yet applied), and the parent's
// program too while its comm still equals the parent's name (it has not
// exec'd since; after an exec, close-on-exec descriptors are dropped).
func (t *Table) fromHeader(ev *event.Event) *proc {
	p := t.insert(ev.Pid)
	p.Name = ev.Comm
	p.StartTS = ev.Timestamp
	p.fromHeader = true
	t.relink(p, ev.PPid)
	if pp := p.parent; pp != nil {
		p.Cwd = pp.Cwd
		p.SID = pp.SID
		p.fds = pp.fds.clone()
		if ev.Comm == pp.Name || pp.Name == "" {
			p.Name = pp.Name
			p.Exe, p.ExePath, p.Args = pp.Exe, pp.ExePath, pp.Args
			p.ExeFromMemfd, p.ExeUpperLayer = pp.ExeFromMemfd, pp.ExeUpperLayer
			p.ExeInoCtime, p.ExeInoMtime = pp.ExeInoCtime, pp.ExeInoMtime
		} else {
			p.fds.dropCloexec()
		}
		if pp.VPid == pp.Pid {
			p.VPid = p.Pid
		}
	}
	t.stats.FromHeader++
	return p
}

// onClone handles the parent's side of fork/vfork/clone/clone3: the child
// (Args.TargetPid, else Ret) becomes a copy of the parent.
func (t *Table) onClone(ev *event.Event, p *proc) {
	if ev.Ret < 0 {
		return
	}
	flags := ev.Args.Flags
	if (ev.Type == event.TypeClone || ev.Type == event.TypeClone3) && flags&cloneThread != 0 {
		return
	}
	if ev.Syscall == -1 {
		// A fork seen by the kernel hook without its syscall's arguments
		// may be a thread: the child, if it is a process, is created from
		// its own first event instead.
		return
	}
	if ev.Ret == 0 {
		// The child's own return: procFor already created it.
		return
	}
	child := uint32(ev.Ret)
	if ev.Args.TargetPid > 0 {
		child = uint32(ev.Args.TargetPid)
	}
	if child == p.Pid {
		return
	}
	parent := p
	if flags&cloneParent != 0 && (ev.Type == event.TypeClone || ev.Type == event.TypeClone3) && p.parent != nil {
		parent = p.parent
	}
	if c := t.procs[child]; c != nil && c.fromHeader && c.StartTS >= ev.Timestamp-cloneRaceWindow {
		// The child's events came first; it already inherited.
		c.fromHeader = false
		c.StartTS = ev.Timestamp
		if c.parent == nil && acyclic(c, parent) {
			link(c, parent, parent.Pid)
		}
		return
	}
	c := t.insert(child)
	c.Process = p.Process
	c.Pid = child
	c.Exited = false
	c.StartTS = ev.Timestamp
	// Ret is the child's pid in the caller's namespace when the record
	// comes from the syscall; the sched_process_fork record has the global
	// pid in both.
	c.VPid = 0
	switch {
	case ev.Ret > 0 && uint32(ev.Ret) != child:
		c.VPid = uint32(ev.Ret)
	case p.VPid == p.Pid:
		c.VPid = child
	}
	c.lastSeen = ev.Timestamp
	c.fds = p.fds.clone()
	link(c, parent, parent.Pid)
	t.stats.Forks++
}

// onExec applies a successful execve/execveat: new program, same process,
// close-on-exec descriptors closed.
func (t *Table) onExec(ev *event.Event, p *proc) {
	if ev.Ret != 0 {
		return
	}
	a := &ev.Args
	switch {
	case len(a.Argv) > 0:
		p.Exe = a.Argv[0]
		p.Args = a.Argv[1:]
	default:
		p.Exe = a.Path
		p.Args = nil
	}
	if len(p.Args) == 0 {
		p.Args = nil
	}
	switch {
	case a.ExePath != "":
		p.ExePath = a.ExePath
	case a.ResolvedPath != "":
		p.ExePath = a.ResolvedPath
	default:
		p.ExePath = a.Path
	}
	switch {
	case ev.Comm != "":
		p.Name = ev.Comm
	case a.Path != "":
		p.Name = truncComm(baseOf(a.Path))
	default:
		p.Name = truncComm(baseOf(p.ExePath))
	}
	p.ExeFromMemfd, p.ExeUpperLayer = a.ExeFromMemfd, a.ExeUpperLayer
	p.ExeInoCtime, p.ExeInoMtime = a.ExeInoCtime, a.ExeInoMtime
	p.Exited = false
	p.fds.dropCloexec()
	t.stats.Execs++
}

// truncComm cuts a name to the kernel's 15-byte comm.
func truncComm(s string) string {
	if len(s) > 15 {
		return s[:15]
	}
	return s
}

// onOpen handles open/openat/openat2/creat.
func (t *Table) onOpen(ev *event.Event, p *proc) {
	a := &ev.Args
	flags := a.Flags
	if ev.Type == event.TypeCreat {
		flags |= oCreat | oWronly | oTrunc
	}
	fd := &event.FD{Num: -1, Type: event.FDFile, Name: a.ResolvedPath, NameRaw: a.Path, OpenFlags: flags}
	if fd.Name == "" {
		fd.Name = a.Path
	}
	if flags&oDirectory != 0 {
		fd.Type = event.FDDirectory
	}
	if ev.Ret >= 0 {
		fd.Num = int32(ev.Ret)
		t.setFD(p, fd)
	}
	ev.FD = fd
}

// onDup handles dup/dup2/dup3: the new descriptor is a copy of the old one
// and is the event's FD, so fd.type of dup2(sock, 0) is the socket's type.
func (t *Table) onDup(ev *event.Event, p *proc) {
	a := &ev.Args
	old := p.fds.get(a.Fd)
	if ev.Ret < 0 || int32(ev.Ret) == a.Fd {
		if old == nil {
			t.stats.UnknownFDs++
		} else {
			old.NameChanged = false
		}
		ev.FD = old
		return
	}
	fd := &event.FD{}
	if old != nil {
		*fd = *old
	} else {
		t.stats.UnknownFDs++
	}
	fd.Num = int32(ev.Ret)
	fd.NameChanged = false
	fd.OpenFlags &^= oCloexec
	if ev.Type == event.TypeDup3 && a.Flags&oCloexec != 0 {
		fd.OpenFlags |= oCloexec
	}
	t.setFD(p, fd)
	ev.FD = fd
}

// sockFDType maps a socket domain to its fd type.
func sockFDType(domain int32) event.FDType {
	switch domain {
	case event.AFInet:
		return event.FDIPv4
	case event.AFInet6:
		return event.FDIPv6
	case event.AFUnix:
		return event.FDUnix
	case afNetlink:
		return event.FDNetlink
	}
	return event.FDUnknown
}

// onSocket handles socket(): a new socket descriptor with its domain, type
// (flags removed) and protocol.
func (t *Table) onSocket(ev *event.Event, p *proc) {
	a := &ev.Args
	fd := &event.FD{
		Num:      -1,
		Type:     sockFDType(a.Domain),
		Domain:   a.Domain,
		SockType: a.SockType & sockTypeMask,
		Protocol: a.Protocol,
	}
	if a.SockType&sockCloexec != 0 {
		fd.OpenFlags |= oCloexec
	}
	if a.SockType&sockNonblock != 0 {
		fd.OpenFlags |= oNonblock
	}
	if ev.Ret >= 0 {
		fd.Num = int32(ev.Ret)
		t.setFD(p, fd)
	}
	ev.FD = fd
}

// addrPort converts an IP socket address, unmapping IPv4-mapped IPv6.
func addrPort(sa *event.Sockaddr) (netip.AddrPort, bool) {
	if (sa.Family != event.AFInet && sa.Family != event.AFInet6) || !sa.Addr.IsValid() {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(sa.Addr.Unmap(), sa.Port), true
}

// socketFor returns descriptor num of p, creating (and storing, when store
// is set) a socket of sa's family when the table does not know it.
func (t *Table) socketFor(p *proc, num int32, sa *event.Sockaddr, store bool) *event.FD {
	if fd := p.fds.get(num); fd != nil {
		fd.NameChanged = false
		return fd
	}
	t.stats.UnknownFDs++
	if sa.Family == 0 {
		return nil
	}
	fd := &event.FD{Num: num, Type: sockFDType(int32(sa.Family)), Domain: int32(sa.Family)}
	if store {
		t.setFD(p, fd)
	}
	return fd
}

// setIPType keeps an IP socket's type in step with its addresses: an IPv6
// socket talking to IPv4-mapped addresses is an IPv4 socket for rules, as in
// Falco.
func setIPType(fd *event.FD, ap netip.AddrPort) {
	if fd.Type == event.FDIPv4 || fd.Type == event.FDIPv6 || fd.Type == event.FDUnknown {
		if ap.Addr().Is4() {
			fd.Type = event.FDIPv4
		} else {
			fd.Type = event.FDIPv6
		}
	}
}

// onConnect handles connect: the remote end (and the local one when
// captured) on success or EINPROGRESS.
func (t *Table) onConnect(ev *event.Event, p *proc) {
	a := &ev.Args
	ok := ev.Ret == 0 || ev.Ret == -eInProgress
	fd := t.socketFor(p, a.Fd, &a.Addr, ok)
	ev.FD = fd
	if fd == nil || !ok {
		return
	}
	switch a.Addr.Family {
	case event.AFInet, event.AFInet6:
		remote, valid := addrPort(&a.Addr)
		if !valid {
			return
		}
		fd.Remote = remote
		if local, ok := addrPort(&a.LocalAddr); ok {
			fd.Local = local
		}
		setIPType(fd, remote)
	case event.AFUnix:
		fd.Type = event.FDUnix
		fd.Name = a.Addr.Path
	default:
		return
	}
	fd.Server = false
	fd.Connected = true
	fd.NameChanged = true
}

// onBind handles bind: the local end.
func (t *Table) onBind(ev *event.Event, p *proc) {
	a := &ev.Args
	fd := t.socketFor(p, a.Fd, &a.Addr, ev.Ret == 0)
	ev.FD = fd
	if fd == nil || ev.Ret != 0 {
		return
	}
	switch a.Addr.Family {
	case event.AFInet, event.AFInet6:
		local, valid := addrPort(&a.Addr)
		if !valid {
			return
		}
		fd.Local = local
		setIPType(fd, local)
	case event.AFUnix:
		fd.Type = event.FDUnix
		fd.Name = a.Addr.Path
	default:
		return
	}
	fd.NameChanged = true
}

// onAccept handles accept/accept4: a new connected, server-side socket with
// the listening socket's kind and local end and the peer as remote end.
func (t *Table) onAccept(ev *event.Event, p *proc) {
	a := &ev.Args
	lfd := p.fds.get(a.Fd)
	if lfd == nil {
		t.stats.UnknownFDs++
	}
	if ev.Ret < 0 {
		if lfd != nil {
			lfd.NameChanged = false
		}
		ev.FD = lfd
		return
	}
	fd := &event.FD{Num: int32(ev.Ret), Server: true, Connected: true, NameChanged: true}
	if lfd != nil {
		fd.Type, fd.Domain, fd.SockType, fd.Protocol = lfd.Type, lfd.Domain, lfd.SockType, lfd.Protocol
		fd.Local, fd.Name = lfd.Local, lfd.Name
	} else if a.Addr.Family != 0 {
		fd.Type, fd.Domain = sockFDType(int32(a.Addr.Family)), int32(a.Addr.Family)
	}
	if remote, ok := addrPort(&a.Addr); ok {
		fd.Remote = remote
		setIPType(fd, remote)
	}
	if local, ok := addrPort(&a.LocalAddr); ok {
		fd.Local = local
	}
	if ev.Type == event.TypeAccept4 && a.Flags&sockCloexec != 0 {
		fd.OpenFlags |= oCloexec
	}
	t.setFD(p, fd)
	ev.FD = fd
}

// onSend handles sendto/sendmsg: an unconnected datagram socket's remote end
// follows the destination address; a socket the table missed is described
// from that address.
func (t *Table) onSend(ev *event.Event, p *proc) {
	a := &ev.Args
	fd := t.socketFor(p, a.Fd, &a.Addr, ev.Ret >= 0)
	ev.FD = fd
	if fd == nil || ev.Ret < 0 || fd.Connected {
		return
	}
	switch a.Addr.Family {
	case event.AFInet, event.AFInet6:
		remote, ok := addrPort(&a.Addr)
		if !ok || remote == fd.Remote {
			return
		}
		fd.Remote = remote
		if local, ok := addrPort(&a.LocalAddr); ok {
			fd.Local = local
		}
		setIPType(fd, remote)
		fd.NameChanged = true
	case event.AFUnix:
		if a.Addr.Path != "" && a.Addr.Path != fd.Name {
			fd.Name = a.Addr.Path
			fd.NameChanged = true
		}
	}
}

// onMemfd handles memfd_create: a memfd descriptor named "memfd:NAME", as
// the kernel shows it.
func (t *Table) onMemfd(ev *event.Event, p *proc) {
	a := &ev.Args
	fd := &event.FD{Num: -1, Type: event.FDMemfd, Name: "memfd:" + a.Name, NameRaw: a.Name}
	if a.Flags&mfdCloexec != 0 {
		fd.OpenFlags |= oCloexec
	}
	if ev.Ret >= 0 {
		fd.Num = int32(ev.Ret)
		t.setFD(p, fd)
	}
	ev.FD = fd
}
