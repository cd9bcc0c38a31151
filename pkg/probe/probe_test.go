package probe

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// num reads a number from the helper's JSON output.
func num(t *testing.T, res map[string]any, key string) int64 {
	t.Helper()
	v, ok := res[key].(float64)
	if !ok {
		t.Fatalf("helper output has no %q: %v", key, res)
	}
	return int64(v)
}

// only returns the events of type typ among evs that match ok (nil: all).
func only(evs []event.Event, typ event.Type, ok func(*event.Event) bool) []event.Event {
	var out []event.Event
	for i := range evs {
		if evs[i].Type == typ && (ok == nil || ok(&evs[i])) {
			out = append(out, evs[i])
		}
	}
	return out
}

// one returns the single event of type typ that matches ok.
func one(t *testing.T, evs []event.Event, typ event.Type, ok func(*event.Event) bool) event.Event {
	t.Helper()
	got := only(evs, typ, ok)
	if len(got) != 1 {
		t.Fatalf("got %d %s events, want 1: %+v", len(got), typ, got)
	}
	return got[0]
}

// nativeType picks the amd64 or arm64 variant of a syscall.
func nativeType(amd64, arm64 event.Type) event.Type {
	if runtime.GOARCH == "arm64" {
		return arm64
	}
	return amd64
}

func TestAttachModes(t *testing.T) {
	for _, mode := range []string{AttachPerSyscall, AttachGeneric} {
		t.Run(mode, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Attach = mode
			p := openProbe(t, cfg, event.TypeOpenat)
			s := startSession(t, p)
			res, pid := s.runAction(t, "openat", t.TempDir(), "rel.txt")
			evs := s.of(pid)
			ev := one(t, evs, event.TypeOpenat, func(e *event.Event) bool { return e.Args.Path == "rel.txt" })
			if ev.Args.DirFd != int32(num(t, res, "dirfd")) || ev.Ret != num(t, res, "fd") {
				t.Errorf("dirfd %d ret %d, want %v", ev.Args.DirFd, ev.Ret, res)
			}
			// Not selected: no unlink, close or socket event at all.
			for _, typ := range []event.Type{event.TypeClose, event.TypeSocket} {
				if n := len(only(evs, typ, nil)); n != 0 {
					t.Errorf("%d %s events recorded though not selected", n, typ)
				}
			}
			if st := p.Stats(); st.Records == 0 || st.KernelDrops != 0 || st.QueueDrops != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestEventFamilies runs one real behaviour per family and checks the exact
// decoded event.
func TestEventFamilies(t *testing.T) {
	for _, mode := range []string{AttachPerSyscall, AttachGeneric} {
		t.Run(mode, func(t *testing.T) { testEventFamilies(t, mode) })
	}
}

func testEventFamilies(t *testing.T, mode string) {
	cfg := DefaultConfig()
	cfg.Attach = mode
	p := openProbe(t, cfg, event.AllTypes()...)
	s := startSession(t, p)
	actions := actionsBinary(t)

	ln := testutil.ClosingListener(t, "tcp4", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln6, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln6.Close()
	port6 := ln6.Addr().(*net.TCPAddr).Port

	tests := []struct {
		name  string
		args  func(dir string) []string
		check func(t *testing.T, dir string, res map[string]any, evs []event.Event)
	}{{
		name: "openat relative",
		args: func(dir string) []string { return []string{"openat", dir, "rel.txt"} },
		check: func(t *testing.T, dir string, res map[string]any, evs []event.Event) {
			ev := one(t, evs, event.TypeOpenat, func(e *event.Event) bool { return e.Args.Path == "rel.txt" })
			want := event.Args{Path: "rel.txt", DirFd: int32(num(t, res, "dirfd")), Flags: uint64(os.O_WRONLY | os.O_CREATE), Mode: 0o640}
			checkArgs(t, ev, want)
			if ev.Ret != num(t, res, "fd") {
				t.Errorf("ret %d, want fd %d", ev.Ret, num(t, res, "fd"))
			}
			dirOpen := one(t, evs, event.TypeOpenat, func(e *event.Event) bool { return e.Args.Path == dir })
			if dirOpen.Ret != int64(ev.Args.DirFd) {
				t.Errorf("directory opened as fd %d, openat used dirfd %d", dirOpen.Ret, ev.Args.DirFd)
			}
			if !dirOpen.Args.OpenedDir || ev.Args.OpenedDir {
				t.Errorf("opened-dir flag: directory %v, file %v", dirOpen.Args.OpenedDir, ev.Args.OpenedDir)
			}
		},
	}, {
		name: "exec",
		args: func(string) []string { return []string{"noop"} },
		check: func(t *testing.T, _ string, _ map[string]any, evs []event.Event) {
			ev := one(t, evs, event.TypeExecve, nil)
			if ev.Args.Path != actions || ev.Args.ExePath != actions || ev.Ret != 0 {
				t.Errorf("path %q exe %q ret %d, want %q", ev.Args.Path, ev.Args.ExePath, ev.Ret, actions)
			}
			if fmt.Sprint(ev.Args.Argv) != fmt.Sprint([]string{actions, "noop"}) {
				t.Errorf("argv %q", ev.Args.Argv)
			}
			if ev.Args.ExeFromMemfd || ev.Args.ExeInoMtime == 0 || ev.Comm != "actions" {
				t.Errorf("memfd %v mtime %d comm %q", ev.Args.ExeFromMemfd, ev.Args.ExeInoMtime, ev.Comm)
			}
			exit := one(t, evs, event.TypeProcExit, nil)
			if exit.Args.ExitCode != 0 {
				t.Errorf("exit code %d", exit.Args.ExitCode)
			}
		},
	}, {
		name: "memfd exec",
		args: func(string) []string { return []string{"memfd-exec"} },
		check: func(t *testing.T, _ string, res map[string]any, evs []event.Event) {
			mfd := one(t, evs, event.TypeMemfdCreate, nil)
			if mfd.Args.Name != "vigil-actions" || mfd.Ret < 0 {
				t.Errorf("memfd_create name %q ret %d", mfd.Args.Name, mfd.Ret)
			}
			ev := one(t, evs, event.TypeExecveat, nil)
			want := fmt.Sprintf("/dev/fd/%d", mfd.Ret)
			if !ev.Args.ExeFromMemfd || ev.Args.DirFd != int32(mfd.Ret) || ev.Args.Flags != 0x1000 || ev.Args.Path != want {
				t.Errorf("execveat memfd %v dirfd %d flags %#x path %q, want memfd fd %d AT_EMPTY_PATH %q",
					ev.Args.ExeFromMemfd, ev.Args.DirFd, ev.Args.Flags, ev.Args.Path, mfd.Ret, want)
			}
			if ev.Args.ExePath != "/memfd:vigil-actions" || fmt.Sprint(ev.Args.Argv) != "[actions noop]" {
				t.Errorf("exe %q argv %q", ev.Args.ExePath, ev.Args.Argv)
			}
		},
	}, {
		name: "connect ipv4",
		args: func(string) []string { return []string{"connect", strconv.Itoa(port)} },
		check: func(t *testing.T, _ string, res map[string]any, evs []event.Event) {
			fd := num(t, res, "fd")
			sock := one(t, evs, event.TypeSocket, func(e *event.Event) bool { return e.Ret == fd })
			checkArgs(t, sock, event.Args{Domain: 2, SockType: 1})
			ev := one(t, evs, event.TypeConnect, nil)
			checkArgs(t, ev, event.Args{Fd: int32(fd), Addr: event.Sockaddr{Family: event.AFInet, Addr: netip.MustParseAddr("127.0.0.1"), Port: uint16(port)}})
			if ev.Ret != 0 {
				t.Errorf("ret %d", ev.Ret)
			}
			if la := ev.Args.LocalAddr; la.Family != event.AFInet || la.Addr != netip.MustParseAddr("127.0.0.1") || la.Port == 0 || la.Port == uint16(port) {
				t.Errorf("local address %+v, want 127.0.0.1 and an ephemeral port", la)
			}
		},
	}, {
		name: "connect ipv6",
		args: func(string) []string { return []string{"connect6", strconv.Itoa(port6)} },
		check: func(t *testing.T, _ string, res map[string]any, evs []event.Event) {
			ev := one(t, evs, event.TypeConnect, nil)
			checkArgs(t, ev, event.Args{Fd: int32(num(t, res, "fd")), Addr: event.Sockaddr{Family: event.AFInet6, Addr: netip.MustParseAddr("::1"), Port: uint16(port6)}})
			if la := ev.Args.LocalAddr; la.Family != event.AFInet6 || la.Addr != netip.MustParseAddr("::1") || la.Port == 0 {
				t.Errorf("local address %+v", la)
			}
		},
	}, {
		// The address's page is gone when the call returns: the probe
		// cannot read it there, and takes the peer from the socket.
		name:  "connect address unmapped at exit",
		args:  func(string) []string { return []string{"connect-unmapped"} },
		check: checkUnmappedConnect(event.AFInet, "127.0.0.1"),
	}, {
		name:  "connect ipv6 address unmapped at exit",
		args:  func(string) []string { return []string{"connect6-unmapped"} },
		check: checkUnmappedConnect(event.AFInet6, "::1"),
	}, {
		name: "bind listen accept",
		args: func(string) []string { return []string{"listen-accept"} },
		check: func(t *testing.T, _ string, res map[string]any, evs []event.Event) {
			lo := netip.MustParseAddr("127.0.0.1")
			bind := one(t, evs, event.TypeBind, nil)
			checkArgs(t, bind, event.Args{Fd: int32(num(t, res, "listen_fd")), Addr: event.Sockaddr{Family: event.AFInet, Addr: lo}})
			listen := one(t, evs, event.TypeListen, nil)
			checkArgs(t, listen, event.Args{Fd: int32(num(t, res, "listen_fd")), Backlog: 7})
			acc := one(t, evs, event.TypeAccept4, nil)
			checkArgs(t, acc, event.Args{Fd: int32(num(t, res, "listen_fd")), Addr: event.Sockaddr{Family: event.AFInet, Addr: lo, Port: uint16(num(t, res, "peer_port"))}})
			if acc.Ret != num(t, res, "accept_fd") {
				t.Errorf("accept ret %d", acc.Ret)
			}
			if want := (event.Sockaddr{Family: event.AFInet, Addr: lo, Port: uint16(num(t, res, "port"))}); acc.Args.LocalAddr != want {
				t.Errorf("accepted socket's local address %+v, want %+v", acc.Args.LocalAddr, want)
			}
		},
	}, {
		name: "sendto unix",
		args: func(dir string) []string { return []string{"sendto-unix", filepath.Join(dir, "nosock")} },
		check: func(t *testing.T, dir string, res map[string]any, evs []event.Event) {
			ev := one(t, evs, event.TypeSendto, nil)
			checkArgs(t, ev, event.Args{Fd: int32(num(t, res, "fd")), Addr: event.Sockaddr{Family: event.AFUnix, Path: filepath.Join(dir, "nosock")}})
		},
	}, {
		name: "dup2 socket onto stdin",
		args: func(string) []string { return []string{"dup2-socket"} },
		check: func(t *testing.T, _ string, res map[string]any, evs []event.Event) {
			ev := one(t, evs, nativeType(event.TypeDup2, event.TypeDup3), nil)
			checkArgs(t, ev, event.Args{Fd: int32(num(t, res, "fd")), Fd2: 0})
			if ev.Ret != 0 {
				t.Errorf("ret %d", ev.Ret)
			}
		},
	}, {
		name: "ptrace attach",
		args: func(string) []string { return []string{"ptrace-attach"} },
		check: func(t *testing.T, _ string, res map[string]any, evs []event.Event) {
			ev := one(t, evs, event.TypePtrace, func(e *event.Event) bool { return e.Args.Request == 16 })
			checkArgs(t, ev, event.Args{Request: 16, TargetPid: int32(num(t, res, "target"))})
		},
	}, {
		name: "fork chain",
		args: func(string) []string { return []string{"fork-chain", "2"} },
		check: func(t *testing.T, _ string, res map[string]any, evs []event.Event) {
			child := num(t, res, "child")
			ev := one(t, evs, event.TypeClone, func(e *event.Event) bool { return int64(e.Args.TargetPid) == child })
			if ev.Ret != child || ev.Args.Flags&0x10000 != 0 { // not CLONE_THREAD
				t.Errorf("clone ret %d flags %#x, want child %d", ev.Ret, ev.Args.Flags, child)
			}
			cevs := s.of(uint32(child))
			cexec := one(t, cevs, event.TypeExecve, nil)
			if int64(cexec.PPid) != int64(ev.Pid) || fmt.Sprint(cexec.Args.Argv) != "[/proc/self/exe fork-chain 1]" {
				t.Errorf("child exec ppid %d argv %q, want parent %d", cexec.PPid, cexec.Args.Argv, ev.Pid)
			}
			// The Go runtime may also clone a short-lived child to probe
			// for CLONE_PIDFD: the grandchild is the clone that execs.
			var gexec []event.Event
			for _, c := range only(cevs, event.TypeClone, func(e *event.Event) bool { return e.Args.Flags&0x10000 == 0 }) {
				gexec = append(gexec, only(s.of(uint32(c.Args.TargetPid)), event.TypeExecve, nil)...)
			}
			if len(gexec) != 1 || int64(gexec[0].PPid) != child || fmt.Sprint(gexec[0].Args.Argv) != "[/proc/self/exe fork-chain 0]" {
				t.Errorf("grandchild execs %+v, want one with parent %d", gexec, child)
			}
		},
	}, {
		name: "symlink",
		args: func(dir string) []string { return []string{"symlink", "/etc/shadow", filepath.Join(dir, "sl")} },
		check: func(t *testing.T, dir string, _ map[string]any, evs []event.Event) {
			ev := one(t, evs, event.TypeSymlinkat, nil)
			checkArgs(t, ev, event.Args{Path: "/etc/shadow", Path2: filepath.Join(dir, "sl"), DirFd: -100, DirFd2: -100})
		},
	}, {
		name: "link",
		args: func(dir string) []string {
			os.WriteFile(filepath.Join(dir, "a"), nil, 0o600)
			return []string{"link", filepath.Join(dir, "a"), filepath.Join(dir, "b")}
		},
		check: func(t *testing.T, dir string, _ map[string]any, evs []event.Event) {
			ev := one(t, evs, event.TypeLinkat, nil)
			checkArgs(t, ev, event.Args{Path: filepath.Join(dir, "a"), Path2: filepath.Join(dir, "b"), DirFd: -100, DirFd2: -100})
		},
	}, {
		name: "socket AF_PACKET",
		args: func(string) []string { return []string{"socket-packet"} },
		check: func(t *testing.T, _ string, res map[string]any, evs []event.Event) {
			ev := one(t, evs, event.TypeSocket, func(e *event.Event) bool { return e.Args.Domain == 17 })
			checkArgs(t, ev, event.Args{Domain: 17, SockType: 3, Protocol: 0x0300})
			if ev.Ret != num(t, res, "fd") {
				t.Errorf("ret %d", ev.Ret)
			}
		},
	}, {
		name: "finit_module fails",
		args: func(string) []string { return []string{"finit-module"} },
		check: func(t *testing.T, _ string, res map[string]any, evs []event.Event) {
			if _, err := os.Stat(tracefsPath + "/events/syscalls/sys_enter_finit_module"); err != nil && mode == AttachPerSyscall {
				t.Skip("this kernel has no finit_module tracepoint (no module support): only generic mode sees the call")
			}
			ev := one(t, evs, event.TypeFinitModule, nil)
			checkArgs(t, ev, event.Args{Fd: int32(num(t, res, "fd")), Path: "vigil=1"})
			if errno := num(t, res, "errno"); errno == 0 || ev.Ret != -errno {
				t.Errorf("ret %d, want -%d", ev.Ret, errno)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			res, pid := s.runAction(t, tt.args(dir)...)
			evs := s.of(pid)
			tt.check(t, dir, res, evs)
			for _, ev := range evs {
				if ev.Pid != pid || ev.Comm == "" || ev.Timestamp == 0 || ev.MntNS == 0 || ev.PidNS == 0 {
					t.Errorf("header: %+v", ev)
				}
			}
		})
	}
	if st := p.Stats(); st.Lost() != 0 || st.QueueDrops != 0 {
		t.Errorf("drops: %+v", st)
	}
}

// checkArgs compares the argument fields that want sets (non-zero) plus
// the fd/dirfd fields, which may legitimately be 0.
func checkArgs(t *testing.T, ev event.Event, want event.Args) {
	t.Helper()
	got := ev.Args
	if want.Path != got.Path || want.Path2 != got.Path2 || want.DirFd != got.DirFd || want.DirFd2 != got.DirFd2 ||
		want.Fd != got.Fd || want.Fd2 != got.Fd2 || want.Domain != got.Domain || want.SockType != got.SockType ||
		want.Protocol != got.Protocol || want.Addr != got.Addr || want.Request != got.Request ||
		want.TargetPid != got.TargetPid || want.Backlog != got.Backlog || want.Name != got.Name ||
		(want.Flags != 0 && want.Flags != got.Flags) || (want.Mode != 0 && want.Mode != got.Mode) {
		t.Errorf("%s args:\n got %+v\nwant %+v", ev.Type, got, want)
	}
}

// checkUnmappedConnect checks the connect of test/actions connect-unmapped
// and connect6-unmapped: the peer's address, though the probe could not
// read the argument.
func checkUnmappedConnect(family uint16, ip string) func(t *testing.T, _ string, res map[string]any, evs []event.Event) {
	return func(t *testing.T, _ string, res map[string]any, evs []event.Event) {
		fd := num(t, res, "fd")
		ev := one(t, evs, event.TypeConnect, func(e *event.Event) bool { return int64(e.Args.Fd) == fd })
		checkArgs(t, ev, event.Args{Fd: int32(fd), Addr: event.Sockaddr{Family: family, Addr: netip.MustParseAddr(ip), Port: uint16(num(t, res, "port"))}})
		if ev.Ret != 0 {
			t.Errorf("ret %d", ev.Ret)
		}
	}
}
