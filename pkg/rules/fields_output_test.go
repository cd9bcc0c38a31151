package rules

import (
	"net/netip"
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
	"golang.org/x/sys/unix"
)

// outputChain is systemd (1) → sshd (10, session leader) → bash (20), bash
// having written its own executable in the container's upper layer.
func outputChain() *event.Process {
	initp := &event.Process{Pid: 1, Name: "systemd", Exe: "/usr/lib/systemd/systemd", ExePath: "/usr/lib/systemd/systemd", SID: 1}
	sshd := &event.Process{Pid: 10, PPid: 1, Name: "sshd", Exe: "sshd", ExePath: "/usr/sbin/sshd", SID: 10, Parent: initp}
	return &event.Process{Pid: 20, PPid: 10, Name: "bash", Exe: "./bash", ExePath: "/tmp/bash", Cwd: "/srv/app", SID: 10,
		StartTS: 1_000_000_000, ExeInoCtime: 400_000_000, ExeInoMtime: 300_000_000, ExeUpperLayer: true, Parent: sshd}
}

func outputEvent(t event.Type) *event.Event {
	p := outputChain()
	return &event.Event{Num: 9, Type: t, Timestamp: 2_000_000_000, Pid: 20, Tid: 20, PPid: 10, Comm: "bash", Proc: p,
		UID: 33, GID: 33, LoginUID: 1000,
		Meta: &event.Metadata{ContainerID: "0123456789ab", StartTS: 500_000_000, Privileged: true}}
}

func TestFieldsOutputValues(t *testing.T) {
	openat := outputEvent(event.TypeOpenat)
	openat.Ret = 3
	openat.Args = event.Args{Path: "../etc/shadow", ResolvedPath: "/etc/shadow", Flags: unix.O_RDONLY | unix.O_CLOEXEC, Mode: 0o644, DirFd: unix.AT_FDCWD}
	openat.FD = &event.FD{Num: 3, Type: event.FDFile, Name: "/etc/shadow", NameRaw: "../etc/shadow"}

	failedOpen := outputEvent(event.TypeOpenat)
	failedOpen.Ret = -2
	failedOpen.Args = event.Args{Path: "missing", ResolvedPath: "/srv/app/missing", DirFd: unix.AT_FDCWD}

	connect := outputEvent(event.TypeConnect)
	connect.Args.Fd = 4
	connect.FD = &event.FD{Num: 4, Type: event.FDIPv4, SockType: unix.SOCK_STREAM, Protocol: unix.IPPROTO_TCP,
		Local: netip.MustParseAddrPort("10.0.0.5:40000"), Remote: netip.MustParseAddrPort("10.96.0.1:443"), Connected: true, NameChanged: true}

	symlinkat := outputEvent(event.TypeSymlinkat)
	symlinkat.Args = event.Args{Path: "/etc/shadow", Path2: "/tmp/s", DirFd2: unix.AT_FDCWD}
	linkat := outputEvent(event.TypeLinkat)
	linkat.Args = event.Args{Path: "/etc/shadow", Path2: "/tmp/h", DirFd: unix.AT_FDCWD, DirFd2: unix.AT_FDCWD}

	onHost := outputEvent(event.TypeExecve)
	onHost.Meta = &event.Metadata{ContainerID: "host"}
	onHost.LoginUID = 0xffffffff
	unprivileged := outputEvent(event.TypeExecve)
	unprivileged.Meta.Privileged = false
	fresh := outputEvent(event.TypeExecve)
	fresh.Proc.ExeInoCtime, fresh.Proc.ExeInoMtime = 0, 0
	fresh.Meta.StartTS = 0

	users := func(id uint32) (string, bool) {
		switch id {
		case 1000:
			return "alice", true
		case 33:
			return "www-data", true
		}
		return "", false
	}
	e := NewEvaluator(EvalOptions{UserName: users, GroupName: users})
	cases := []struct {
		field string
		ev    *event.Event
		want  any
	}{
		{"container.start_ts", openat, uint64(500_000_000)},
		{"container.start_ts", fresh, nil},
		{"container.privileged", openat, true},
		{"container.privileged", unprivileged, false},
		{"container.privileged", onHost, nil},
		{"proc.exe_ino.ctime", openat, uint64(400_000_000)},
		{"proc.exe_ino.mtime", openat, uint64(300_000_000)},
		{"proc.exe_ino.ctime", fresh, nil},
		{"proc.exe_ino.ctime_duration_proc_start", openat, int64(600_000_000)},
		{"proc.exe_ino.ctime_duration_proc_start", fresh, nil},
		{"proc.is_exe_upper_layer", openat, true},
		{"proc.is_exe_upper_layer", unprivileged, true},
		{"proc.sname", openat, "sshd"},
		{"proc.aexepath", openat, "/usr/sbin/sshd"},
		{"proc.aexepath[0]", openat, "/tmp/bash"},
		{"proc.aexepath[2]", openat, "/usr/lib/systemd/systemd"},
		{"proc.aexepath[3]", openat, nil},
		{"proc.pexe", openat, "sshd"},
		{"proc.pexepath", openat, "/usr/sbin/sshd"},
		{"proc.cwd", openat, "/srv/app"},
		{"user.loginname", openat, "alice"},
		{"user.loginname", onHost, nil},
		{"group.gid", openat, uint64(33)},
		{"group.name", openat, "www-data"},
		{"fd.nameraw", openat, "../etc/shadow"},
		{"fd.nameraw", failedOpen, "missing"},
		{"fd.nameraw", symlinkat, nil},
		{"fd.type", openat, "file"},
		{"fd.type", failedOpen, "file"},
		{"fd.type", connect, "ipv4"},
		{"fd.type", symlinkat, nil},
		{"fd.name_changed", connect, true},
		{"fd.name_changed", openat, false},
		{"fd.name_changed", failedOpen, nil},
		{"evt.args", openat, "fd=3 dirfd=-100 name=../etc/shadow flags=O_RDONLY|O_CLOEXEC mode=0644"},
		{"evt.args", connect, "res=0 tuple=10.0.0.5:40000->10.96.0.1:443 fd=4"},
		{"evt.arg[1]", openat, "-100"},
		{"evt.arg[1]", symlinkat, "/etc/shadow"},
		{"evt.arg[1]", connect, "10.0.0.5:40000->10.96.0.1:443"},
		{"evt.arg[7]", openat, nil},
		{"evt.arg.linkpath", symlinkat, "/tmp/s"},
		{"evt.arg.target", symlinkat, "/etc/shadow"},
		{"evt.arg.oldpath", linkat, "/etc/shadow"},
		{"evt.arg.newpath", linkat, "/tmp/h"},
		{"evt.arg.newpath", symlinkat, nil},
	}
	for _, tc := range cases {
		got, err := e.Extract(tc.field, tc.ev)
		if err != nil {
			t.Errorf("%s: %v", tc.field, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s on %s = %#v, want %#v", tc.field, tc.ev.Type, got, tc.want)
		}
	}
}

func TestFieldsArgAndB64InConditions(t *testing.T) {
	ev := testEvent()
	ev.Meta.PodLabels = map[string]string{"app": "web", "enc": "L2V0Yy9zaGFkb3c=", "bad": "%%%"}
	cases := []struct {
		cond string
		want bool
	}{
		{"evt.arg[1] = -100", true}, // openat: fd, dirfd, name, ...
		{"evt.arg[0] = 3", true},
		{"evt.arg[1] = /etc/shadow", false},
		{"evt.arg[9] exists", false},
		{"b64(k8s.pod.label[enc]) = /etc/shadow", true},
		{"b64(k8s.pod.label[enc]) = val(fd.name)", true},
		{"basename(b64(k8s.pod.label[enc])) = shadow", true},
		{"b64(k8s.pod.label[bad]) exists", false},
		{"b64(k8s.pod.label[bad]) != x", false},
	}
	for _, tc := range cases {
		got, err := evalCond(t, tc.cond, ev)
		if err != nil || got != tc.want {
			t.Errorf("%s = %v (%v), want %v", tc.cond, got, err, tc.want)
		}
	}
}
