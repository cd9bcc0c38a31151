package rules

import (
	"strconv"
	"time"

	"github.com/vigilsec/vigil/pkg/event"
	"golang.org/x/sys/unix"
)

func isOpen(t event.Type) bool {
	return t == event.TypeOpen || t == event.TypeOpenat || t == event.TypeOpenat2 || t == event.TypeCreat
}

func init() {
	register(
		numField("evt.num", TypeUint, "event sequence number", func(c *Ctx) (int64, bool) { return int64(c.Ev.Num), true }),
		strField("evt.type", "event type, such as openat or execve", func(c *Ctx) (string, bool) { return c.Ev.Type.String(), true }),
		strField("syscall.type", "system call name; missing for events that are not syscalls (procexit)", func(c *Ctx) (string, bool) {
			if c.Ev.Syscall < 0 || c.Ev.Type == event.TypeProcExit {
				return "", false
			}
			return c.Ev.Type.String(), true
		}),
		strField("evt.dir", "event direction; always < (Vigil emits one event at syscall exit)", func(*Ctx) (string, bool) { return "<", true }),
		numField("evt.cpu", TypeInt, "CPU that produced the event", func(c *Ctx) (int64, bool) { return int64(c.Ev.CPU), true }),
		numField("evt.rawtime", TypeUint, "event time in Unix ns", func(c *Ctx) (int64, bool) { return c.Ev.Timestamp, true }),
		strField("evt.time", "event time as hh:mm:ss.nnnnnnnnn (UTC)", func(c *Ctx) (string, bool) {
			start := len(c.buf)
			c.buf = time.Unix(0, c.Ev.Timestamp).UTC().AppendFormat(c.buf, "15:04:05.000000000")
			return c.tail(start), true
		}),
		strField("evt.datetime", "event date and time (UTC)", func(c *Ctx) (string, bool) {
			start := len(c.buf)
			c.buf = time.Unix(0, c.Ev.Timestamp).UTC().AppendFormat(c.buf, "2006-01-02 15:04:05.000000000")
			return c.tail(start), true
		}),
		strField("evt.hostname", "hostname of the node", func(c *Ctx) (string, bool) { return c.Hostname, c.Hostname != "" }),
		strField("evt.source", "event source; always syscall", func(*Ctx) (string, bool) { return "syscall", true }),
		strField("evt.res", "SUCCESS, or the errno name (ENOENT) when the syscall failed", func(c *Ctx) (string, bool) {
			if c.Ev.Ret >= 0 {
				return "SUCCESS", true
			}
			if n := errnoName(c.Ev.Ret); n != "" {
				return n, true
			}
			start := len(c.buf)
			c.buf = strconv.AppendInt(c.buf, c.Ev.Ret, 10)
			return c.tail(start), true
		}),
		numField("evt.rawres", TypeInt, "the syscall's return value (negative errno on failure)", func(c *Ctx) (int64, bool) { return c.Ev.Ret, true }),
		boolField("evt.failed", "the syscall failed", func(c *Ctx) (bool, bool) { return c.Ev.Ret < 0, true }),
		boolField("evt.is_open_read", "an open-family syscall with read access", func(c *Ctx) (bool, bool) {
			m := c.Ev.Args.Flags & unix.O_ACCMODE
			return isOpen(c.Ev.Type) && c.Ev.Type != event.TypeCreat && (m == unix.O_RDONLY || m == unix.O_RDWR), true
		}),
		boolField("evt.is_open_write", "an open-family syscall with write access", func(c *Ctx) (bool, bool) {
			m := c.Ev.Args.Flags & unix.O_ACCMODE
			return c.Ev.Type == event.TypeCreat || isOpen(c.Ev.Type) && (m == unix.O_WRONLY || m == unix.O_RDWR), true
		}),
		boolField("evt.is_open_exec", "an open-family syscall creating a file with an execute bit", func(c *Ctx) (bool, bool) {
			creat := c.Ev.Type == event.TypeCreat || c.Ev.Args.Flags&unix.O_CREAT != 0
			return isOpen(c.Ev.Type) && creat && c.Ev.Args.Mode&0o111 != 0, true
		}),
		&fieldDef{name: "evt.arg", typ: TypeString, arg: argName, bind: bindEvtArg,
			desc: "one argument of the syscall by name (evt.arg.flags) or position (evt.arg[1]), rendered as Falco does (O_RDONLY|O_CLOEXEC, AF_PACKET, PTRACE_ATTACH)"},
		&fieldDef{name: "evt.rawarg", typ: TypeString, arg: argName, bind: bindEvtArg,
			desc: "same as evt.arg (Vigil renders arguments one way)"},
		strField("evt.args", "every argument as name=value pairs", func(c *Ctx) (string, bool) {
			start := len(c.buf)
			c.buf = appendArgs(c, c.buf)
			return c.tail(start), true
		}),
		notCarried("evt.buffer", TypeString, argNone, "I/O buffer of read/write syscalls"),
	)
}
