package event

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends ev to b as one JSON object without a newline: the
// header fields, "args" with the argument fields that are set (zero values
// are left out), and the process and descriptor views when the state stage
// attached them. It is the line format of `vigil run --events` and `vigil
// replay`. Field order is fixed, so equal events render to equal bytes.
func AppendJSON(b []byte, ev *Event) []byte {
	b = append(b, `{"num":`...)
	b = strconv.AppendUint(b, ev.Num, 10)
	b = append(b, `,"time":`...)
	b = appendQuoted(b, time.Unix(0, ev.Timestamp).UTC().Format(time.RFC3339Nano))
	b = appendStr(b, "type", ev.Type.String())
	b = appendInt(b, "syscall", int64(ev.Syscall))
	b = appendUint(b, "cpu", uint64(ev.CPU))
	b = appendUint(b, "pid", uint64(ev.Pid))
	b = appendUint(b, "tid", uint64(ev.Tid))
	b = appendUint(b, "ppid", uint64(ev.PPid))
	b = appendUint(b, "uid", uint64(ev.UID))
	b = appendUint(b, "gid", uint64(ev.GID))
	b = appendUint(b, "euid", uint64(ev.EUID))
	b = appendUint(b, "egid", uint64(ev.EGID))
	b = appendUint(b, "loginuid", uint64(ev.LoginUID))
	b = append(b, `,"cap_effective":"0x`...)
	b = strconv.AppendUint(b, ev.CapEffective, 16)
	b = append(b, '"')
	b = appendUint(b, "tty", uint64(ev.TTY))
	b = appendUint(b, "cgroup_id", ev.CgroupID)
	b = appendUint(b, "pidns", uint64(ev.PidNS))
	b = appendUint(b, "mntns", uint64(ev.MntNS))
	b = appendStr(b, "comm", ev.Comm)
	b = appendInt(b, "ret", ev.Ret)
	b = append(b, `,"args":{`...)
	b = appendArgs(b, &ev.Args)
	b = append(b, '}')
	if p := ev.Proc; p != nil {
		b = append(b, `,"proc":{`...)
		b = append(b, `"pid":`...)
		b = strconv.AppendUint(b, uint64(p.Pid), 10)
		b = appendUint(b, "ppid", uint64(p.PPid))
		b = appendStr(b, "name", p.Name)
		b = appendStr(b, "exepath", p.ExePath)
		b = appendStr(b, "cmdline", p.CmdLine())
		b = appendStr(b, "cwd", p.Cwd)
		b = append(b, '}')
	}
	if fd := ev.FD; fd != nil {
		b = append(b, `,"fd":{"num":`...)
		b = strconv.AppendInt(b, int64(fd.Num), 10)
		b = appendStr(b, "type", fd.Type.String())
		b = appendStr(b, "name", fd.Name)
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendArgs writes the set fields of a, each preceded by a comma except
// the first.
func appendArgs(b []byte, a *Args) []byte {
	start := len(b)
	field := func(name string) {
		if len(b) > start {
			b = append(b, ',')
		}
		b = appendQuoted(b, name)
		b = append(b, ':')
	}
	str := func(name, v string) {
		if v != "" {
			field(name)
			b = appendQuoted(b, v)
		}
	}
	num := func(name string, v int64) {
		if v != 0 {
			field(name)
			b = strconv.AppendInt(b, v, 10)
		}
	}
	str("path", a.Path)
	str("path2", a.Path2)
	str("resolved_path", a.ResolvedPath)
	str("resolved_path2", a.ResolvedPath2)
	num("dirfd", int64(a.DirFd))
	num("dirfd2", int64(a.DirFd2))
	if a.Flags != 0 {
		field("flags")
		b = strconv.AppendUint(b, a.Flags, 10)
	}
	num("mode", int64(a.Mode))
	num("fd", int64(a.Fd))
	num("fd2", int64(a.Fd2))
	if a.Argv != nil {
		field("argv")
		b = append(b, '[')
		for i, s := range a.Argv {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendQuoted(b, s)
		}
		b = append(b, ']')
	}
	str("exepath", a.ExePath)
	if a.ExeFromMemfd {
		field("exe_from_memfd")
		b = append(b, "true"...)
	}
	if a.ExeUpperLayer {
		field("exe_upper_layer")
		b = append(b, "true"...)
	}
	num("exe_ino_ctime", a.ExeInoCtime)
	num("exe_ino_mtime", a.ExeInoMtime)
	num("domain", int64(a.Domain))
	num("socktype", int64(a.SockType))
	num("protocol", int64(a.Protocol))
	if a.Addr.Family != 0 {
		field("addr")
		b = appendSockaddr(b, &a.Addr)
	}
	if a.LocalAddr.Family != 0 {
		field("local_addr")
		b = appendSockaddr(b, &a.LocalAddr)
	}
	num("request", a.Request)
	num("target_pid", int64(a.TargetPid))
	if a.IDs != [3]uint32{} {
		field("ids")
		b = append(b, '[')
		for i, id := range a.IDs {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, uint64(id), 10)
		}
		b = append(b, ']')
	}
	num("cmd", int64(a.Cmd))
	str("name", a.Name)
	num("backlog", int64(a.Backlog))
	num("exit_code", int64(a.ExitCode))
	return b
}

func appendSockaddr(b []byte, sa *Sockaddr) []byte {
	b = append(b, `{"family":`...)
	b = strconv.AppendUint(b, uint64(sa.Family), 10)
	if sa.Addr.IsValid() {
		b = append(b, `,"ip":"`...)
		b = sa.Addr.AppendTo(b)
		b = append(b, '"')
		b = appendUint(b, "port", uint64(sa.Port))
	}
	if sa.Path != "" {
		b = appendStr(b, "path", sa.Path)
	}
	return append(b, '}')
}

func appendStr(b []byte, name, v string) []byte {
	b = append(b, ',')
	b = appendQuoted(b, name)
	b = append(b, ':')
	return appendQuoted(b, v)
}

func appendInt(b []byte, name string, v int64) []byte {
	b = append(b, ',')
	b = appendQuoted(b, name)
	b = append(b, ':')
	return strconv.AppendInt(b, v, 10)
}

func appendUint(b []byte, name string, v uint64) []byte {
	b = append(b, ',')
	b = appendQuoted(b, name)
	b = append(b, ':')
	return strconv.AppendUint(b, v, 10)
}

// appendQuoted appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD.
func appendQuoted(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
