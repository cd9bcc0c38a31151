package suite

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/pkg/event"
)

// env is what a check sees: the action's output, its events and the
// fixtures of the run.
type env struct {
	s       *session
	actions string
	dir     string
	res     map[string]any
	pid     uint32
	evs     []event.Event
	tcp4    int // port of a TCP listener on 127.0.0.1
	tcp6    int // port of a TCP listener on [::1]
	udp4    int // port of a UDP socket on 127.0.0.1
}

// num reads a number from the action's output.
func (e *env) num(key string) int64 {
	v, _ := e.res[key].(float64)
	return int64(v)
}

// check is one behaviour, performed by test/actions, and what its events
// must be.
type check struct {
	name string
	// family is the event family the check covers.
	family string
	// args returns the helper's arguments; it may prepare files in dir.
	args func(e *env) []string
	// optional: a failing action skips the check instead of failing it.
	optional bool
	// tracepoint is a syscall whose sys_enter tracepoint a kernel may lack
	// (compiled out): without it, per-syscall mode cannot see the call and
	// the check is skipped in that mode.
	tracepoint string
	verify     func(e *env) error
}

var (
	lo4 = netip.MustParseAddr("127.0.0.1")
	lo6 = netip.MustParseAddr("::1")
)

// native picks the amd64 or arm64 variant of a syscall: arm64 has no
// legacy dup2.
func native(amd64, arm64 event.Type) event.Type {
	if runtime.GOARCH == "arm64" {
		return arm64
	}
	return amd64
}

var checks = []check{{
	name: "exec", family: "exec",
	args: func(*env) []string { return []string{"noop"} },
	verify: func(e *env) error {
		ev, err := one(e.evs, event.TypeExecve, nil)
		if err != nil {
			return err
		}
		var p problems
		p.eq("path", ev.Args.Path, e.actions)
		p.eq("exe", ev.Args.ExePath, e.actions)
		p.eq("argv", fmt.Sprint(ev.Args.Argv), fmt.Sprint([]string{e.actions, "noop"}))
		p.eq("comm", ev.Comm, filepath.Base(e.actions))
		p.eq("ret", ev.Ret, int64(0))
		p.eq("memfd", ev.Args.ExeFromMemfd, false)
		if ev.Args.ExeInoMtime == 0 {
			p.add("exe inode mtime is 0")
		}
		exit, err := one(e.evs, event.TypeProcExit, nil)
		if err != nil {
			return errors.Join(p.err(), err)
		}
		p.eq("exit code", exit.Args.ExitCode, int32(0))
		return p.err()
	},
}, {
	name: "memfd exec", family: "exec",
	args: func(*env) []string { return []string{"memfd-exec"} },
	verify: func(e *env) error {
		mfd, err := one(e.evs, event.TypeMemfdCreate, nil)
		if err != nil {
			return err
		}
		ev, err := one(e.evs, event.TypeExecveat, nil)
		if err != nil {
			return err
		}
		var p problems
		p.eq("memfd_create name", mfd.Args.Name, "vigil-actions")
		p.eq("execveat dirfd", int64(ev.Args.DirFd), mfd.Ret)
		p.eq("execveat flags", ev.Args.Flags, uint64(unix.AT_EMPTY_PATH))
		p.eq("execveat path", ev.Args.Path, fmt.Sprintf("/dev/fd/%d", mfd.Ret))
		p.eq("from memfd", ev.Args.ExeFromMemfd, true)
		p.eq("exe", ev.Args.ExePath, "/memfd:vigil-actions")
		p.eq("argv", fmt.Sprint(ev.Args.Argv), "[actions noop]")
		return p.err()
	},
}, {
	name: "fork", family: "fork",
	args: func(*env) []string { return []string{"fork-chain", "1"} },
	verify: func(e *env) error {
		child := e.num("child")
		ev, err := one(e.evs, event.TypeClone, func(x *event.Event) bool { return int64(x.Args.TargetPid) == child })
		if err != nil {
			return err
		}
		var p problems
		p.eq("clone ret", ev.Ret, child)
		if ev.Args.Flags&unix.CLONE_THREAD != 0 {
			p.add("clone of a process has CLONE_THREAD")
		}
		cexec, err := one(e.s.of(uint32(child)), event.TypeExecve, nil)
		if err != nil {
			return errors.Join(p.err(), fmt.Errorf("child: %w", err))
		}
		p.eq("child ppid", cexec.PPid, e.pid)
		p.eq("child argv", fmt.Sprint(cexec.Args.Argv), "[/proc/self/exe fork-chain 0]")
		return p.err()
	},
}, {
	name: "openat", family: "open",
	args: func(e *env) []string { return []string{"openat", e.dir, "rel.txt"} },
	verify: func(e *env) error {
		ev, err := one(e.evs, event.TypeOpenat, func(x *event.Event) bool { return x.Args.Path == "rel.txt" })
		if err != nil {
			return err
		}
		var p problems
		p.eq("dirfd", int64(ev.Args.DirFd), e.num("dirfd"))
		p.eq("flags", ev.Args.Flags, uint64(os.O_WRONLY|os.O_CREATE))
		p.eq("mode", ev.Args.Mode, uint32(0o640))
		p.eq("ret", ev.Ret, e.num("fd"))
		return p.err()
	},
}, {
	name: "connect ipv4", family: "connect",
	args: func(e *env) []string { return []string{"connect", strconv.Itoa(e.tcp4)} },
	verify: func(e *env) error {
		fd := e.num("fd")
		sock, err := one(e.evs, event.TypeSocket, func(x *event.Event) bool { return x.Ret == fd })
		if err != nil {
			return err
		}
		ev, err := one(e.evs, event.TypeConnect, nil)
		if err != nil {
			return err
		}
		var p problems
		p.eq("socket domain/type", [2]int32{sock.Args.Domain, sock.Args.SockType}, [2]int32{unix.AF_INET, unix.SOCK_STREAM})
		p.eq("fd", int64(ev.Args.Fd), fd)
		p.eq("addr", ev.Args.Addr, event.Sockaddr{Family: event.AFInet, Addr: lo4, Port: uint16(e.tcp4)})
		p.eq("ret", ev.Ret, int64(0))
		return p.err()
	},
}, {
	name: "connect ipv6", family: "connect",
	args: func(e *env) []string { return []string{"connect6", strconv.Itoa(e.tcp6)} },
	verify: func(e *env) error {
		ev, err := one(e.evs, event.TypeConnect, nil)
		if err != nil {
			return err
		}
		var p problems
		p.eq("fd", int64(ev.Args.Fd), e.num("fd"))
		p.eq("addr", ev.Args.Addr, event.Sockaddr{Family: event.AFInet6, Addr: lo6, Port: uint16(e.tcp6)})
		p.eq("ret", ev.Ret, int64(0))
		return p.err()
	},
}, {
	// The address's page is dropped while the connect waits: the probe
	// cannot read it at exit and must take the peer from the socket.
	name: "connect address unmapped", family: "connect",
	args: func(*env) []string { return []string{"connect-unmapped"} },
	verify: func(e *env) error {
		fd := e.num("fd")
		ev, err := one(e.evs, event.TypeConnect, func(x *event.Event) bool { return int64(x.Args.Fd) == fd })
		if err != nil {
			return err
		}
		var p problems
		p.eq("addr", ev.Args.Addr, event.Sockaddr{Family: event.AFInet, Addr: lo4, Port: uint16(e.num("port"))})
		p.eq("ret", ev.Ret, int64(0))
		return p.err()
	},
}, {
	name: "bind listen accept", family: "connect",
	args: func(*env) []string { return []string{"listen-accept"} },
	verify: func(e *env) error {
		var p problems
		lfd := int32(e.num("listen_fd"))
		if ev, err := one(e.evs, event.TypeBind, nil); p.ok(err) {
			p.eq("bind", [2]any{ev.Args.Fd, ev.Args.Addr}, [2]any{lfd, event.Sockaddr{Family: event.AFInet, Addr: lo4}})
		}
		if ev, err := one(e.evs, event.TypeListen, nil); p.ok(err) {
			p.eq("listen", [2]int32{ev.Args.Fd, ev.Args.Backlog}, [2]int32{lfd, 7})
		}
		if ev, err := one(e.evs, event.TypeAccept4, nil); p.ok(err) {
			p.eq("accept4 peer", ev.Args.Addr, event.Sockaddr{Family: event.AFInet, Addr: lo4, Port: uint16(e.num("peer_port"))})
			p.eq("accept4 ret", ev.Ret, e.num("accept_fd"))
		}
		return p.err()
	},
}, {
	name: "sendto unix", family: "connect",
	args: func(e *env) []string { return []string{"sendto-unix", filepath.Join(e.dir, "sock")} },
	verify: func(e *env) error {
		ev, err := one(e.evs, event.TypeSendto, nil)
		if err != nil {
			return err
		}
		var p problems
		p.eq("fd", int64(ev.Args.Fd), e.num("fd"))
		p.eq("addr", ev.Args.Addr, event.Sockaddr{Family: event.AFUnix, Path: filepath.Join(e.dir, "sock")})
		return p.err()
	},
}, {
	name: "sendmsg udp", family: "connect",
	args: func(e *env) []string { return []string{"sendmsg-udp", strconv.Itoa(e.udp4)} },
	verify: func(e *env) error {
		ev, err := one(e.evs, event.TypeSendmsg, nil)
		if err != nil {
			return err
		}
		var p problems
		p.eq("fd", int64(ev.Args.Fd), e.num("fd"))
		p.eq("addr", ev.Args.Addr, event.Sockaddr{Family: event.AFInet, Addr: lo4, Port: uint16(e.udp4)})
		p.eq("ret", ev.Ret, int64(5))
		return p.err()
	},
}, {
	name: "socket AF_PACKET", family: "connect", optional: true,
	args: func(*env) []string { return []string{"socket-packet"} },
	verify: func(e *env) error {
		ev, err := one(e.evs, event.TypeSocket, func(x *event.Event) bool { return x.Args.Domain == unix.AF_PACKET })
		if err != nil {
			return err
		}
		var p problems
		p.eq("args", [3]int32{ev.Args.Domain, ev.Args.SockType, ev.Args.Protocol}, [3]int32{unix.AF_PACKET, unix.SOCK_RAW, 0x0300})
		p.eq("ret", ev.Ret, e.num("fd"))
		return p.err()
	},
}, {
	name: "dup2 socket", family: "dup",
	args: func(*env) []string { return []string{"dup2-socket"} },
	verify: func(e *env) error {
		// On arm64, os/exec's child also dup3s the helper's stdio
		// before exec: pick the action's call by its fds.
		fd := int32(e.num("fd"))
		ev, err := one(e.evs, native(event.TypeDup2, event.TypeDup3), func(x *event.Event) bool { return x.Args.Fd == fd && x.Args.Fd2 == 0 })
		if err != nil {
			return err
		}
		var p problems
		p.eq("ret", ev.Ret, int64(0))
		return p.err()
	},
}, {
	name: "ptrace attach", family: "ptrace",
	args: func(*env) []string { return []string{"ptrace-attach"} },
	verify: func(e *env) error {
		ev, err := one(e.evs, event.TypePtrace, func(x *event.Event) bool { return x.Args.Request == unix.PTRACE_ATTACH })
		if err != nil {
			return err
		}
		var p problems
		p.eq("target", int64(ev.Args.TargetPid), e.num("target"))
		p.eq("ret", ev.Ret, int64(0))
		return p.err()
	},
}, {
	name: "symlink", family: "file",
	args: func(e *env) []string { return []string{"symlink", "/etc/shadow", filepath.Join(e.dir, "sl")} },
	verify: func(e *env) error {
		return argsOf(e, event.TypeSymlinkat, event.Args{Path: "/etc/shadow", Path2: filepath.Join(e.dir, "sl"), DirFd: -100, DirFd2: -100})
	},
}, {
	name: "link", family: "file",
	args: func(e *env) []string {
		os.WriteFile(filepath.Join(e.dir, "a"), nil, 0o600)
		return []string{"link", filepath.Join(e.dir, "a"), filepath.Join(e.dir, "b")}
	},
	verify: func(e *env) error {
		return argsOf(e, event.TypeLinkat, event.Args{Path: filepath.Join(e.dir, "a"), Path2: filepath.Join(e.dir, "b"), DirFd: -100, DirFd2: -100})
	},
}, {
	name: "rename", family: "file",
	args: func(e *env) []string {
		os.WriteFile(filepath.Join(e.dir, "r"), nil, 0o600)
		return []string{"rename", filepath.Join(e.dir, "r"), filepath.Join(e.dir, "r2")}
	},
	verify: func(e *env) error {
		return argsOf(e, event.TypeRenameat, event.Args{Path: filepath.Join(e.dir, "r"), Path2: filepath.Join(e.dir, "r2"), DirFd: -100, DirFd2: -100})
	},
}, {
	name: "unlink", family: "file",
	args: func(e *env) []string {
		os.WriteFile(filepath.Join(e.dir, "u"), nil, 0o600)
		return []string{"unlink", filepath.Join(e.dir, "u")}
	},
	verify: func(e *env) error {
		return argsOf(e, event.TypeUnlinkat, event.Args{Path: filepath.Join(e.dir, "u"), DirFd: -100})
	},
}, {
	name: "mkdir", family: "file",
	args: func(e *env) []string { return []string{"mkdir", filepath.Join(e.dir, "d")} },
	verify: func(e *env) error {
		return argsOf(e, event.TypeMkdirat, event.Args{Path: filepath.Join(e.dir, "d"), DirFd: -100, Mode: 0o750})
	},
}, {
	name: "chmod", family: "file",
	args: func(e *env) []string {
		os.WriteFile(filepath.Join(e.dir, "m"), nil, 0o600)
		return []string{"chmod", filepath.Join(e.dir, "m")}
	},
	verify: func(e *env) error {
		return argsOf(e, event.TypeFchmodat, event.Args{Path: filepath.Join(e.dir, "m"), DirFd: -100, Mode: 0o4755})
	},
}, {
	name: "chown", family: "file",
	args: func(e *env) []string {
		os.WriteFile(filepath.Join(e.dir, "o"), nil, 0o600)
		return []string{"chown", filepath.Join(e.dir, "o")}
	},
	verify: func(e *env) error {
		err := argsOf(e, event.TypeFchownat, event.Args{Path: filepath.Join(e.dir, "o"), DirFd: -100})
		if ev, err2 := one(e.evs, event.TypeFchownat, nil); err2 == nil && ev.Args.IDs != [3]uint32{1234, 5678, 0} {
			err = errors.Join(err, fmt.Errorf("ids %v, want [1234 5678 0]", ev.Args.IDs))
		}
		return err
	},
}, {
	name: "chdir", family: "file",
	args: func(e *env) []string { return []string{"chdir", e.dir} },
	verify: func(e *env) error {
		return argsOf(e, event.TypeChdir, event.Args{Path: e.dir, DirFd: -100})
	},
}, {
	name: "mount and umount2", family: "mount",
	args: func(e *env) []string {
		os.Mkdir(filepath.Join(e.dir, "mnt"), 0o755)
		return []string{"mount-tmpfs", filepath.Join(e.dir, "mnt")}
	},
	verify: func(e *env) error {
		mnt := filepath.Join(e.dir, "mnt")
		return errors.Join(
			argsOf(e, event.TypeMount, event.Args{Path: mnt, Path2: "vigil", Name: "tmpfs", Flags: unix.MS_NOSUID, DirFd: -100, DirFd2: -100}),
			argsOf(e, event.TypeUmount2, event.Args{Path: mnt, Flags: unix.MNT_DETACH, DirFd: -100}))
	},
}, {
	name: "setresuid", family: "credentials",
	args: func(*env) []string { return []string{"setuid", "0"} },
	verify: func(e *env) error {
		ev, err := one(e.evs, event.TypeSetresuid, nil)
		if err != nil {
			return err
		}
		var p problems
		p.eq("ids", ev.Args.IDs, [3]uint32{0, 0, 0})
		p.eq("ret", ev.Ret, int64(0))
		return p.err()
	},
}, {
	name: "unshare", family: "namespace",
	args: func(*env) []string { return []string{"unshare"} },
	verify: func(e *env) error {
		return argsOf(e, event.TypeUnshare, event.Args{Flags: unix.CLONE_NEWUTS})
	},
}, {
	name: "setns", family: "namespace",
	args: func(*env) []string { return []string{"setns-uts"} },
	verify: func(e *env) error {
		return argsOf(e, event.TypeSetns, event.Args{Fd: int32(e.num("fd")), Flags: unix.CLONE_NEWUTS})
	},
}, {
	name: "bpf", family: "bpf",
	args: func(*env) []string { return []string{"bpf-fail"} },
	verify: func(e *env) error {
		ev, err := one(e.evs, event.TypeBpf, func(x *event.Event) bool { return x.Ret < 0 })
		if err != nil {
			return err
		}
		var p problems
		p.eq("cmd", ev.Args.Cmd, int32(0))
		p.eq("ret", ev.Ret, -e.num("errno"))
		return p.err()
	},
}, {
	name: "finit_module", family: "module", tracepoint: "finit_module",
	args: func(*env) []string { return []string{"finit-module"} },
	verify: func(e *env) error {
		ev, err := one(e.evs, event.TypeFinitModule, nil)
		if err != nil {
			return err
		}
		var p problems
		p.eq("fd", int64(ev.Args.Fd), e.num("fd"))
		p.eq("params", ev.Args.Path, "vigil=1")
		if errno := e.num("errno"); errno == 0 || ev.Ret != -errno {
			p.add(fmt.Sprintf("ret %d, want -%d", ev.Ret, errno))
		}
		return p.err()
	},
}}

// one returns the single event of type typ among evs matching ok (nil:
// all).
func one(evs []event.Event, typ event.Type, ok func(*event.Event) bool) (event.Event, error) {
	var got []event.Event
	for i := range evs {
		if evs[i].Type == typ && (ok == nil || ok(&evs[i])) {
			got = append(got, evs[i])
		}
	}
	if len(got) != 1 {
		return event.Event{}, fmt.Errorf("%d %s events, want 1 (process has %s)", len(got), typ, typesOf(evs))
	}
	return got[0], nil
}

func typesOf(evs []event.Event) string {
	names := make([]string, len(evs))
	for i := range evs {
		names[i] = evs[i].Type.String()
	}
	return "[" + strings.Join(names, " ") + "]"
}

// argsOf checks the single event of type typ: the argument fields want
// sets (non-zero), the fd fields always, and a return value of 0.
func argsOf(e *env, typ event.Type, want event.Args) error {
	ev, err := one(e.evs, typ, nil)
	if err != nil {
		return err
	}
	got := ev.Args
	var p problems
	p.eq("path", got.Path, want.Path)
	p.eq("path2", got.Path2, want.Path2)
	p.eq("dirfds", [2]int32{got.DirFd, got.DirFd2}, [2]int32{want.DirFd, want.DirFd2})
	p.eq("fds", [2]int32{got.Fd, got.Fd2}, [2]int32{want.Fd, want.Fd2})
	p.eq("name", got.Name, want.Name)
	if want.Flags != 0 {
		p.eq("flags", got.Flags, want.Flags)
	}
	if want.Mode != 0 {
		p.eq("mode", got.Mode, want.Mode)
	}
	p.eq("ret", ev.Ret, int64(0))
	if err := p.err(); err != nil {
		return fmt.Errorf("%s: %w", typ, err)
	}
	return nil
}

// problems collects the mismatches of one check.
type problems []string

func (p *problems) add(s string) { *p = append(*p, s) }

func (p *problems) eq(what string, got, want any) {
	if got != want {
		p.add(fmt.Sprintf("%s %v, want %v", what, got, want))
	}
}

// ok records err, if any, and reports whether it was nil.
func (p *problems) ok(err error) bool {
	if err != nil {
		p.add(err.Error())
	}
	return err == nil
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return errors.New(strings.Join(p, "; "))
}
