package rules

import (
	"strconv"

	"github.com/vigilsec/vigil/pkg/event"
)

// appendCmdline renders name followed by args, space-separated.
func appendCmdline(b []byte, p *event.Process) []byte {
	b = append(b, p.Name...)
	for _, a := range p.Args {
		b = append(b, ' ')
		b = append(b, a...)
	}
	return b
}

// procStr registers a string field of the event's process.
func procStr(name, desc string, fn func(c *Ctx, p *event.Process) (string, bool)) *fieldDef {
	return strField(name, desc, func(c *Ctx) (string, bool) {
		if c.Ev.Proc == nil {
			return "", false
		}
		return fn(c, c.Ev.Proc)
	})
}

func procNum(name string, typ FieldType, desc string, fn func(c *Ctx, p *event.Process) (int64, bool)) *fieldDef {
	return numField(name, typ, desc, func(c *Ctx) (int64, bool) {
		if c.Ev.Proc == nil {
			return 0, false
		}
		return fn(c, c.Ev.Proc)
	})
}

func procBool(name, desc string, fn func(p *event.Process) bool) *fieldDef {
	return boolField(name, desc, func(c *Ctx) (bool, bool) {
		if c.Ev.Proc == nil {
			return false, false
		}
		return fn(c.Ev.Proc), true
	})
}

// parentStr registers a string field of the parent process.
func parentStr(name, desc string, fn func(c *Ctx, p *event.Process) (string, bool)) *fieldDef {
	return strField(name, desc, func(c *Ctx) (string, bool) {
		if c.Ev.Proc == nil || c.Ev.Proc.Parent == nil {
			return "", false
		}
		return fn(c, c.Ev.Proc.Parent)
	})
}

func cmdline(c *Ctx, p *event.Process) (string, bool) {
	start := len(c.buf)
	c.buf = appendCmdline(c.buf, p)
	return c.tail(start), true
}

func args(c *Ctx, p *event.Process) (string, bool) {
	start := len(c.buf)
	for i, a := range p.Args {
		if i > 0 {
			c.buf = append(c.buf, ' ')
		}
		c.buf = append(c.buf, a...)
	}
	return c.tail(start), true
}

// ancestorField registers proc.aname-style fields: [n] is the n-th ancestor
// (0 the process itself, 1 its parent); without an index the field has one
// value per ancestor, parent first, and a check matches when any does.
func ancestorField(name string, typ FieldType, desc string, fn func(c *Ctx, p *event.Process) (value, bool)) *fieldDef {
	return &fieldDef{name: name, typ: typ, desc: desc, arg: argOptIndex, bind: func(arg string, has bool) (extractor, bool, error) {
		if has {
			n, _ := strconv.Atoi(arg)
			return func(c *Ctx, i int) (value, bool) {
				if i != 0 || c.Ev.Proc == nil {
					return value{}, false
				}
				p := c.Ev.Proc.Ancestor(n)
				if p == nil {
					return value{}, false
				}
				return fn(c, p)
			}, false, nil
		}
		return func(c *Ctx, i int) (value, bool) {
			if c.Ev.Proc == nil {
				return value{}, false
			}
			p := c.Ev.Proc.Ancestor(i + 1)
			if p == nil {
				return value{}, false
			}
			return fn(c, p)
		}, true, nil
	}}
}

func sessionLeader(p *event.Process) *event.Process {
	for q := p; q != nil; q = q.Parent {
		if q.Pid == p.SID {
			return q
		}
	}
	return nil
}

func init() {
	register(
		numField("proc.pid", TypeInt, "process id (thread-group id)", func(c *Ctx) (int64, bool) { return int64(c.Ev.Pid), true }),
		numField("proc.ppid", TypeInt, "parent process id", func(c *Ctx) (int64, bool) { return int64(c.Ev.PPid), true }),
		procNum("proc.vpid", TypeInt, "process id inside its pid namespace", func(_ *Ctx, p *event.Process) (int64, bool) { return int64(p.VPid), p.VPid != 0 }),
		procNum("proc.sid", TypeInt, "session id", func(_ *Ctx, p *event.Process) (int64, bool) { return int64(p.SID), true }),
		strField("proc.name", "process name (the executable's basename, or the comm)", func(c *Ctx) (string, bool) {
			if c.Ev.Proc != nil {
				return c.Ev.Proc.Name, true
			}
			return c.Ev.Comm, c.Ev.Comm != ""
		}),
		procStr("proc.exe", "first command-line argument as the program was started", func(_ *Ctx, p *event.Process) (string, bool) { return p.Exe, true }),
		procStr("proc.exepath", "full path of the executable", func(_ *Ctx, p *event.Process) (string, bool) { return p.ExePath, true }),
		procStr("proc.args", "command-line arguments without argv[0], space-separated", args),
		procStr("proc.cmdline", "process name and arguments", cmdline),
		procNum("proc.cmdnargs", TypeUint, "number of command-line arguments", func(_ *Ctx, p *event.Process) (int64, bool) { return int64(len(p.Args)), true }),
		procNum("proc.cmdlenargs", TypeUint, "total length of the command-line arguments", func(_ *Ctx, p *event.Process) (int64, bool) {
			n := 0
			for _, a := range p.Args {
				n += len(a)
			}
			return int64(n), true
		}),
		procStr("proc.cwd", "current working directory", func(_ *Ctx, p *event.Process) (string, bool) { return p.Cwd, true }),
		numField("proc.tty", TypeInt, "controlling terminal device number, 0 when none", func(c *Ctx) (int64, bool) {
			if c.Ev.Proc != nil {
				return int64(c.Ev.Proc.TTY), true
			}
			return int64(c.Ev.TTY), true
		}),
		procNum("proc.duration", TypeUint, "ns since the process started (or last exec'd)", func(c *Ctx, p *event.Process) (int64, bool) {
			return c.Ev.Timestamp - p.StartTS, p.StartTS != 0
		}),
		procNum("proc.start_ts", TypeUint, "process start time in Unix ns", func(_ *Ctx, p *event.Process) (int64, bool) { return p.StartTS, p.StartTS != 0 }),
		numField("proc.ppid.duration", TypeUint, "ns since the parent process started", func(c *Ctx) (int64, bool) {
			if c.Ev.Proc == nil || c.Ev.Proc.Parent == nil || c.Ev.Proc.Parent.StartTS == 0 {
				return 0, false
			}
			return c.Ev.Timestamp - c.Ev.Proc.Parent.StartTS, true
		}),
		parentStr("proc.pname", "parent process name", func(_ *Ctx, p *event.Process) (string, bool) { return p.Name, true }),
		parentStr("proc.pexe", "parent's proc.exe", func(_ *Ctx, p *event.Process) (string, bool) { return p.Exe, true }),
		parentStr("proc.pexepath", "parent's executable path", func(_ *Ctx, p *event.Process) (string, bool) { return p.ExePath, true }),
		parentStr("proc.pcmdline", "parent's command line", cmdline),
		ancestorField("proc.aname", TypeString, "name of an ancestor: [n] the n-th (0 self, 1 parent), without index any ancestor", func(_ *Ctx, p *event.Process) (value, bool) { return value{s: p.Name}, true }),
		ancestorField("proc.aexe", TypeString, "proc.exe of an ancestor ([n], or any without index)", func(_ *Ctx, p *event.Process) (value, bool) { return value{s: p.Exe}, true }),
		ancestorField("proc.aexepath", TypeString, "executable path of an ancestor ([n], or any without index)", func(_ *Ctx, p *event.Process) (value, bool) { return value{s: p.ExePath}, true }),
		ancestorField("proc.acmdline", TypeString, "command line of an ancestor ([n], or any without index)", func(c *Ctx, p *event.Process) (value, bool) {
			s, ok := cmdline(c, p)
			return value{s: s}, ok
		}),
		ancestorField("proc.apid", TypeInt, "pid of an ancestor ([n], or any without index)", func(_ *Ctx, p *event.Process) (value, bool) { return value{n: int64(p.Pid)}, true }),
		procStr("proc.sname", "name of the session leader", func(_ *Ctx, p *event.Process) (string, bool) {
			if l := sessionLeader(p); l != nil {
				return l.Name, true
			}
			return "", false
		}),
		procBool("proc.is_exe_upper_layer", "the executable lives in an overlayfs upper layer (written in the container)", func(p *event.Process) bool { return p.ExeUpperLayer }),
		procBool("proc.is_exe_from_memfd", "the executable is a memfd", func(p *event.Process) bool { return p.ExeFromMemfd }),
		procNum("proc.exe_ino.ctime", TypeUint, "executable inode change time, Unix ns", func(_ *Ctx, p *event.Process) (int64, bool) { return p.ExeInoCtime, p.ExeInoCtime != 0 }),
		procNum("proc.exe_ino.mtime", TypeUint, "executable inode modification time, Unix ns", func(_ *Ctx, p *event.Process) (int64, bool) { return p.ExeInoMtime, p.ExeInoMtime != 0 }),
		procNum("proc.exe_ino.ctime_duration_proc_start", TypeInt, "ns between the executable's ctime and the process start", func(_ *Ctx, p *event.Process) (int64, bool) {
			return p.StartTS - p.ExeInoCtime, p.ExeInoCtime != 0 && p.StartTS != 0
		}),
		notCarried("proc.exe_ino", TypeUint, argNone, "executable inode number"),
		notCarried("proc.env", TypeString, argNone, "environment of the process"),
		notCarried("proc.vpgid", TypeInt, argNone, "process group id in its pid namespace"),
		notCarried("proc.vpgid.name", TypeString, argNone, "name of the process group leader"),
		notCarried("proc.vpgid.exe", TypeString, argNone, "proc.exe of the process group leader"),
		notCarried("proc.is_vpgid_leader", TypeBool, argNone, "the process leads its process group"),

		numField("thread.tid", TypeInt, "thread id", func(c *Ctx) (int64, bool) { return int64(c.Ev.Tid), true }),
		strField("thread.cap_effective", "effective capabilities, space-separated names (CAP_SYS_ADMIN ...)", func(c *Ctx) (string, bool) {
			start := len(c.buf)
			c.buf = appendCaps(c.buf, c.Ev.CapEffective)
			return c.tail(start), true
		}),
		notCarried("thread.cap_permitted", TypeString, argNone, "permitted capabilities"),
		notCarried("thread.cap_inheritable", TypeString, argNone, "inheritable capabilities"),

		numField("user.uid", TypeUint, "user id of the thread", func(c *Ctx) (int64, bool) { return int64(c.Ev.UID), true }),
		strField("user.name", "user name of user.uid (from the node's user database)", func(c *Ctx) (string, bool) {
			if c.UserName == nil {
				return "", false
			}
			return c.UserName(c.Ev.UID)
		}),
		numField("user.loginuid", TypeInt, "audit login uid, -1 when unset", func(c *Ctx) (int64, bool) {
			if c.Ev.LoginUID == 0xffffffff {
				return -1, true
			}
			return int64(c.Ev.LoginUID), true
		}),
		strField("user.loginname", "user name of user.loginuid", func(c *Ctx) (string, bool) {
			if c.UserName == nil || c.Ev.LoginUID == 0xffffffff {
				return "", false
			}
			return c.UserName(c.Ev.LoginUID)
		}),
		numField("group.gid", TypeUint, "group id of the thread", func(c *Ctx) (int64, bool) { return int64(c.Ev.GID), true }),
		strField("group.name", "group name of group.gid", func(c *Ctx) (string, bool) {
			if c.GroupName == nil {
				return "", false
			}
			return c.GroupName(c.Ev.GID)
		}),
	)
}
