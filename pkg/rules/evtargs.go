package rules

import (
	"net/netip"
	"strconv"

	"github.com/vigilsec/vigil/pkg/event"
	"golang.org/x/sys/unix"
)

// argDef renders one syscall argument the way Falco names and prints it.
type argDef struct {
	name string
	fn   func(c *Ctx, b []byte) ([]byte, bool)
}

// evtArgs lists, per event type, the arguments evt.arg.NAME, evt.arg[n] and
// evt.args see, in Falco's order.
var evtArgs [event.NumTypes][]argDef

func a(name string, fn func(c *Ctx, b []byte) ([]byte, bool)) argDef { return argDef{name, fn} }

func argRes(c *Ctx, b []byte) ([]byte, bool) { return strconv.AppendInt(b, c.Ev.Ret, 10), true }
func argFdRes(c *Ctx, b []byte) ([]byte, bool) {
	return strconv.AppendInt(b, c.Ev.Ret, 10), true
}
func argPath(c *Ctx, b []byte) ([]byte, bool)  { return append(b, c.Ev.Args.Path...), true }
func argPath2(c *Ctx, b []byte) ([]byte, bool) { return append(b, c.Ev.Args.Path2...), true }
func argDirFd(c *Ctx, b []byte) ([]byte, bool) {
	return strconv.AppendInt(b, int64(c.Ev.Args.DirFd), 10), true
}
func argDirFd2(c *Ctx, b []byte) ([]byte, bool) {
	return strconv.AppendInt(b, int64(c.Ev.Args.DirFd2), 10), true
}
func argFd(c *Ctx, b []byte) ([]byte, bool) {
	return strconv.AppendInt(b, int64(c.Ev.Args.Fd), 10), true
}
func argFd2(c *Ctx, b []byte) ([]byte, bool) {
	return strconv.AppendInt(b, int64(c.Ev.Args.Fd2), 10), true
}
func argOpenFlags(c *Ctx, b []byte) ([]byte, bool) {
	return appendOpenFlags(b, c.Ev.Args.Flags), true
}
func argModeOctal(c *Ctx, b []byte) ([]byte, bool) {
	b = append(b, '0')
	return strconv.AppendUint(b, uint64(c.Ev.Args.Mode), 8), true
}
func argFlagsNum(c *Ctx, b []byte) ([]byte, bool) {
	return strconv.AppendUint(b, c.Ev.Args.Flags, 10), true
}
func argFlagsOf(tab []flagName) func(c *Ctx, b []byte) ([]byte, bool) {
	return func(c *Ctx, b []byte) ([]byte, bool) { return appendFlagSet(b, c.Ev.Args.Flags, tab), true }
}
func argArgv(c *Ctx, b []byte) ([]byte, bool) {
	for i, s := range c.Ev.Args.Argv {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, s...)
	}
	return b, true
}
func argExeFlags(c *Ctx, b []byte) ([]byte, bool) {
	var f uint64
	if c.Ev.Args.ExeUpperLayer {
		f |= 2
	}
	if c.Ev.Args.ExeFromMemfd {
		f |= 4
	}
	if f == 0 {
		return append(b, '0'), true
	}
	return appendFlagSet(b, f, exeFlags), true
}
func argTuple(c *Ctx, b []byte) ([]byte, bool) {
	l, r, _, ok := endpoints(c)
	if !ok {
		return b, false
	}
	return appendTuple(b, l, r), true
}
func argAddr(c *Ctx, b []byte) ([]byte, bool) {
	sa := c.Ev.Args.Addr
	switch sa.Family {
	case event.AFInet, event.AFInet6:
		return appendAddrPort(b, netip.AddrPortFrom(sa.Addr, sa.Port)), true
	case event.AFUnix:
		return append(b, sa.Path...), true
	}
	return b, false
}
func argUint(get func(e *event.Event) uint64) func(c *Ctx, b []byte) ([]byte, bool) {
	return func(c *Ctx, b []byte) ([]byte, bool) { return strconv.AppendUint(b, get(c.Ev), 10), true }
}
func argInt(get func(e *event.Event) int64) func(c *Ctx, b []byte) ([]byte, bool) {
	return func(c *Ctx, b []byte) ([]byte, bool) { return strconv.AppendInt(b, get(c.Ev), 10), true }
}

// argUser renders a uid as the user's name when known (Falco resolves uid
// arguments), else as the number.
func argUser(k int) func(c *Ctx, b []byte) ([]byte, bool) {
	return func(c *Ctx, b []byte) ([]byte, bool) {
		id := c.Ev.Args.IDs[k]
		if c.UserName != nil {
			if n, ok := c.UserName(id); ok {
				return append(b, n...), true
			}
		}
		return strconv.AppendUint(b, uint64(id), 10), true
	}
}
func argGroup(k int) func(c *Ctx, b []byte) ([]byte, bool) {
	return func(c *Ctx, b []byte) ([]byte, bool) {
		id := c.Ev.Args.IDs[k]
		if c.GroupName != nil {
			if n, ok := c.GroupName(id); ok {
				return append(b, n...), true
			}
		}
		return strconv.AppendUint(b, uint64(id), 10), true
	}
}

func init() {
	procArgs := []argDef{
		a("res", argRes), a("exe", argPath), a("args", argArgv),
		a("tid", argUint(func(e *event.Event) uint64 { return uint64(e.Tid) })),
		a("pid", argUint(func(e *event.Event) uint64 { return uint64(e.Pid) })),
		a("ptid", argUint(func(e *event.Event) uint64 { return uint64(e.PPid) })),
		a("cwd", func(c *Ctx, b []byte) ([]byte, bool) {
			if c.Ev.Proc == nil {
				return b, false
			}
			return append(b, c.Ev.Proc.Cwd...), true
		}),
		a("comm", func(c *Ctx, b []byte) ([]byte, bool) { return append(b, c.Ev.Comm...), true }),
		a("uid", argUint(func(e *event.Event) uint64 { return uint64(e.UID) })),
		a("gid", argUint(func(e *event.Event) uint64 { return uint64(e.GID) })),
	}
	exec := append(append([]argDef{}, procArgs...), a("flags", argExeFlags))
	clone := append(append([]argDef{}, procArgs...), a("flags", argFlagsOf(cloneFlags)))
	evtArgs[event.TypeExecve] = exec
	evtArgs[event.TypeExecveat] = exec
	for _, t := range []event.Type{event.TypeFork, event.TypeVfork, event.TypeClone, event.TypeClone3} {
		evtArgs[t] = clone
	}
	evtArgs[event.TypeProcExit] = []argDef{a("status", argInt(func(e *event.Event) int64 { return int64(e.Args.ExitCode) }))}
	evtArgs[event.TypeOpen] = []argDef{a("fd", argFdRes), a("name", argPath), a("flags", argOpenFlags), a("mode", argModeOctal)}
	evtArgs[event.TypeOpenat] = []argDef{a("fd", argFdRes), a("dirfd", argDirFd), a("name", argPath), a("flags", argOpenFlags), a("mode", argModeOctal)}
	evtArgs[event.TypeOpenat2] = []argDef{a("fd", argFdRes), a("dirfd", argDirFd), a("name", argPath), a("flags", argOpenFlags), a("mode", argModeOctal)}
	evtArgs[event.TypeCreat] = []argDef{a("fd", argFdRes), a("name", argPath), a("mode", argModeOctal)}
	evtArgs[event.TypeClose] = []argDef{a("res", argRes), a("fd", argFd)}
	evtArgs[event.TypeDup] = []argDef{a("res", argRes), a("oldfd", argFd), a("fd", argFd)}
	evtArgs[event.TypeDup2] = []argDef{a("res", argRes), a("oldfd", argFd), a("newfd", argFd2)}
	evtArgs[event.TypeDup3] = []argDef{a("res", argRes), a("oldfd", argFd), a("newfd", argFd2), a("flags", argFlagsOf([]flagName{{unix.O_CLOEXEC, "O_CLOEXEC"}}))}
	evtArgs[event.TypeSocket] = []argDef{a("fd", argFdRes),
		a("domain", func(c *Ctx, b []byte) ([]byte, bool) {
			if n, ok := socketDomains[c.Ev.Args.Domain]; ok {
				return append(b, n...), true
			}
			return strconv.AppendInt(b, int64(c.Ev.Args.Domain), 10), true
		}),
		a("type", argInt(func(e *event.Event) int64 { return int64(e.Args.SockType) })),
		a("proto", argInt(func(e *event.Event) int64 { return int64(e.Args.Protocol) }))}
	evtArgs[event.TypeConnect] = []argDef{a("res", argRes), a("tuple", argTuple), a("fd", argFd)}
	evtArgs[event.TypeAccept] = []argDef{a("fd", argFdRes), a("tuple", argTuple)}
	evtArgs[event.TypeAccept4] = []argDef{a("fd", argFdRes), a("tuple", argTuple), a("flags", argFlagsNum)}
	evtArgs[event.TypeBind] = []argDef{a("res", argRes), a("addr", argAddr), a("fd", argFd)}
	evtArgs[event.TypeListen] = []argDef{a("res", argRes), a("fd", argFd), a("backlog", argInt(func(e *event.Event) int64 { return int64(e.Args.Backlog) }))}
	evtArgs[event.TypeSendto] = []argDef{a("res", argRes), a("fd", argFd), a("tuple", argTuple)}
	evtArgs[event.TypeSendmsg] = []argDef{a("res", argRes), a("fd", argFd), a("tuple", argTuple)}
	evtArgs[event.TypeSymlink] = []argDef{a("res", argRes), a("target", argPath), a("linkpath", argPath2)}
	evtArgs[event.TypeSymlinkat] = []argDef{a("res", argRes), a("target", argPath), a("linkdirfd", argDirFd2), a("linkpath", argPath2)}
	evtArgs[event.TypeLink] = []argDef{a("res", argRes), a("oldpath", argPath), a("newpath", argPath2)}
	evtArgs[event.TypeLinkat] = []argDef{a("res", argRes), a("olddir", argDirFd), a("oldpath", argPath), a("newdir", argDirFd2), a("newpath", argPath2), a("flags", argFlagsOf(atFlags))}
	evtArgs[event.TypeUnlink] = []argDef{a("res", argRes), a("path", argPath)}
	evtArgs[event.TypeUnlinkat] = []argDef{a("res", argRes), a("dirfd", argDirFd), a("name", argPath), a("flags", argFlagsOf(atFlags))}
	evtArgs[event.TypeRename] = []argDef{a("res", argRes), a("oldpath", argPath), a("newpath", argPath2)}
	evtArgs[event.TypeRenameat] = []argDef{a("res", argRes), a("olddirfd", argDirFd), a("oldpath", argPath), a("newdirfd", argDirFd2), a("newpath", argPath2)}
	evtArgs[event.TypeRenameat2] = []argDef{a("res", argRes), a("olddirfd", argDirFd), a("oldpath", argPath), a("newdirfd", argDirFd2), a("newpath", argPath2), a("flags", argFlagsNum)}
	evtArgs[event.TypeMkdir] = []argDef{a("res", argRes), a("path", argPath), a("mode", argModeOctal)}
	evtArgs[event.TypeMkdirat] = []argDef{a("res", argRes), a("dirfd", argDirFd), a("path", argPath), a("mode", argModeOctal)}
	evtArgs[event.TypeRmdir] = []argDef{a("res", argRes), a("path", argPath)}
	evtArgs[event.TypeChmod] = []argDef{a("res", argRes), a("filename", argPath), a("mode", argModeOctal)}
	evtArgs[event.TypeFchmod] = []argDef{a("res", argRes), a("fd", argFd), a("mode", argModeOctal)}
	evtArgs[event.TypeFchmodat] = []argDef{a("res", argRes), a("dirfd", argDirFd), a("filename", argPath), a("mode", argModeOctal)}
	evtArgs[event.TypeChown] = []argDef{a("res", argRes), a("path", argPath), a("uid", argUser(0)), a("gid", argGroup(1))}
	evtArgs[event.TypeLchown] = evtArgs[event.TypeChown]
	evtArgs[event.TypeFchown] = []argDef{a("res", argRes), a("fd", argFd), a("uid", argUser(0)), a("gid", argGroup(1))}
	evtArgs[event.TypeFchownat] = []argDef{a("res", argRes), a("dirfd", argDirFd), a("pathname", argPath), a("uid", argUser(0)), a("gid", argGroup(1)), a("flags", argFlagsOf(atFlags))}
	evtArgs[event.TypeSetuid] = []argDef{a("res", argRes), a("uid", argUser(0))}
	evtArgs[event.TypeSetgid] = []argDef{a("res", argRes), a("gid", argGroup(0))}
	evtArgs[event.TypeSetresuid] = []argDef{a("res", argRes), a("ruid", argUser(0)), a("euid", argUser(1)), a("suid", argUser(2))}
	evtArgs[event.TypeSetresgid] = []argDef{a("res", argRes), a("rgid", argGroup(0)), a("egid", argGroup(1)), a("sgid", argGroup(2))}
	evtArgs[event.TypePtrace] = []argDef{a("res", argRes),
		a("request", func(c *Ctx, b []byte) ([]byte, bool) {
			if n, ok := ptraceRequests[c.Ev.Args.Request]; ok {
				return append(b, n...), true
			}
			return strconv.AppendInt(b, c.Ev.Args.Request, 10), true
		}),
		a("pid", argInt(func(e *event.Event) int64 { return int64(e.Args.TargetPid) }))}
	evtArgs[event.TypeInitModule] = []argDef{a("res", argRes), a("uargs", argPath)}
	evtArgs[event.TypeFinitModule] = []argDef{a("res", argRes), a("fd", argFd), a("uargs", argPath), a("flags", argFlagsNum)}
	evtArgs[event.TypeMemfdCreate] = []argDef{a("fd", argFdRes),
		a("name", func(c *Ctx, b []byte) ([]byte, bool) { return append(b, c.Ev.Args.Name...), true }),
		a("flags", argFlagsOf(memfdFlags))}
	evtArgs[event.TypeMount] = []argDef{a("res", argRes), a("dev", argPath2), a("dir", argPath),
		a("type", func(c *Ctx, b []byte) ([]byte, bool) { return append(b, c.Ev.Args.Name...), true }),
		a("flags", argFlagsOf(mountFlags))}
	evtArgs[event.TypeUmount2] = []argDef{a("res", argRes), a("name", argPath), a("flags", argFlagsNum)}
	evtArgs[event.TypeBpf] = []argDef{a("res_or_fd", argRes),
		a("cmd", func(c *Ctx, b []byte) ([]byte, bool) {
			if cmd := c.Ev.Args.Cmd; cmd >= 0 && int(cmd) < len(bpfCmds) {
				return append(b, bpfCmds[cmd]...), true
			}
			return strconv.AppendInt(b, int64(c.Ev.Args.Cmd), 10), true
		})}
	evtArgs[event.TypeSetns] = []argDef{a("res", argRes), a("fd", argFd), a("nstype", argFlagsOf(cloneFlags))}
	evtArgs[event.TypeUnshare] = []argDef{a("res", argRes), a("flags", argFlagsOf(cloneFlags))}
	evtArgs[event.TypeChdir] = []argDef{a("res", argRes), a("path", argPath)}
	evtArgs[event.TypeFchdir] = []argDef{a("res", argRes), a("fd", argFd)}
}

// bindEvtArg binds evt.arg.NAME or evt.arg[n]: a table giving, per event
// type, the renderer of that argument.
func bindEvtArg(arg string, _ bool) (extractor, bool, error) {
	var tab [event.NumTypes]func(c *Ctx, b []byte) ([]byte, bool)
	n, err := strconv.Atoi(arg)
	for t := range evtArgs {
		for i, d := range evtArgs[t] {
			if (err == nil && i == n) || (err != nil && d.name == arg) {
				tab[t] = d.fn
			}
		}
	}
	return func(c *Ctx, i int) (value, bool) {
		if i != 0 || c.Ev.Type >= event.NumTypes {
			return value{}, false
		}
		fn := tab[c.Ev.Type]
		if fn == nil {
			return value{}, false
		}
		start := len(c.buf)
		var ok bool
		c.buf, ok = fn(c, c.buf)
		if !ok {
			c.buf = c.buf[:start]
			return value{}, false
		}
		return value{s: c.tail(start)}, true
	}, false, nil
}

// appendArgs renders every argument as "name=value name=value" (evt.args).
func appendArgs(c *Ctx, b []byte) []byte {
	if c.Ev.Type >= event.NumTypes {
		return b
	}
	for i, d := range evtArgs[c.Ev.Type] {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, d.name...)
		b = append(b, '=')
		var ok bool
		mark := len(b)
		if b, ok = d.fn(c, b); !ok {
			b = append(b[:mark], "<NA>"...)
		}
	}
	return b
}
