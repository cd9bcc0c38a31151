package engine

import (
	"net/netip"

	"github.com/vigilsec/vigil/pkg/event"
	"golang.org/x/sys/unix"
)

// Synthetic events shaped like the state and enrich stages fill them.

const baseTS = int64(1_700_000_000_000_000_000)

func proc(pid uint32, name, exePath string, parent *event.Process, args ...string) *event.Process {
	p := &event.Process{Pid: pid, Name: name, Exe: exePath, ExePath: exePath, Args: args, Cwd: "/root",
		StartTS: baseTS - 60_000_000_000, SID: 1, Parent: parent}
	if parent != nil {
		p.PPid = parent.Pid
	}
	return p
}

// hostChain is init → sshd → bash.
func hostChain() *event.Process {
	initp := proc(1, "systemd", "/usr/lib/systemd/systemd", nil)
	sshd := proc(100, "sshd", "/usr/sbin/sshd", initp)
	return proc(200, "bash", "/usr/bin/bash", sshd)
}

func containerMeta() *event.Metadata {
	return &event.Metadata{ContainerID: "0123456789ab", ContainerFullID: "0123456789abcdef", ContainerName: "web",
		Image: "docker.io/library/nginx:1.25", ImageRepository: "docker.io/library/nginx", ImageTag: "1.25",
		PodName: "web-7d9f", PodUID: "uid-1", Namespace: "shop", Tenant: "acme", Node: "node-1",
		PodLabels: map[string]string{"app": "web"}, NamespaceLabels: map[string]string{"capsule.clastix.io/tenant": "acme"}, Complete: true}
}

var evtNum uint64

func newEvent(t event.Type, p *event.Process) *event.Event {
	evtNum++
	ev := &event.Event{Num: evtNum, Type: t, Timestamp: baseTS, Comm: p.Name, Proc: p, LoginUID: 0xffffffff}
	ev.Pid, ev.Tid, ev.PPid = p.Pid, p.Pid, p.PPid
	return ev
}

func execEvent(p *event.Process, meta *event.Metadata) *event.Event {
	ev := newEvent(event.TypeExecve, p)
	ev.Args.Path = p.ExePath
	ev.Args.Argv = append([]string{p.Name}, p.Args...)
	ev.Args.ExePath = p.ExePath
	ev.Meta = meta
	return ev
}

func openEvent(p *event.Process, path string, flags uint64, ret int64, meta *event.Metadata) *event.Event {
	ev := newEvent(event.TypeOpenat, p)
	ev.Args.Path, ev.Args.ResolvedPath, ev.Args.Flags, ev.Args.DirFd = path, path, flags, unix.AT_FDCWD
	ev.Ret = ret
	if ret >= 0 {
		ev.FD = &event.FD{Num: int32(ret), Type: event.FDFile, Name: path, NameRaw: path, OpenFlags: flags}
	}
	ev.Meta = meta
	return ev
}

func closeEvent(p *event.Process, fd int32) *event.Event {
	ev := newEvent(event.TypeClose, p)
	ev.Args.Fd = fd
	return ev
}

func connectEvent(p *event.Process, remote string, meta *event.Metadata) *event.Event {
	ev := newEvent(event.TypeConnect, p)
	r := netip.MustParseAddrPort(remote)
	ev.Args.Fd = 5
	ev.Args.Addr = event.Sockaddr{Family: event.AFInet, Addr: r.Addr(), Port: r.Port()}
	ev.FD = &event.FD{Num: 5, Type: event.FDIPv4, Domain: unix.AF_INET, SockType: unix.SOCK_STREAM, Protocol: unix.IPPROTO_TCP,
		Local: netip.MustParseAddrPort("10.1.0.5:40000"), Remote: r, Connected: true, NameChanged: true}
	ev.Meta = meta
	return ev
}

func users(id uint32) (string, bool) {
	switch id {
	case 0:
		return "root", true
	case 1000:
		return "alice", true
	case 33:
		return "www-data", true
	}
	return "", false
}

func groups(id uint32) (string, bool) {
	if id == 0 {
		return "root", true
	}
	return "", false
}
