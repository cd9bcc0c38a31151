package rules

import (
	"net/netip"
	"strconv"

	"github.com/vigilsec/vigil/pkg/event"
	"golang.org/x/sys/unix"
)

// fdInfo is what fd.* fields read: the event's FD, or, for a file-opening
// event without one (a failed open), the path it tried to open.
func fdName(c *Ctx) (string, bool) {
	if fd := c.Ev.FD; fd != nil {
		switch fd.Type {
		case event.FDIPv4, event.FDIPv6:
			if fd.Name != "" {
				return fd.Name, true
			}
			l, r, _, ok := endpoints(c)
			if !ok {
				return "", false
			}
			start := len(c.buf)
			c.buf = appendTuple(c.buf, l, r)
			return c.tail(start), true
		}
		return fd.Name, true
	}
	if isOpen(c.Ev.Type) {
		if c.Ev.Args.ResolvedPath != "" {
			return c.Ev.Args.ResolvedPath, true
		}
		return c.Ev.Args.Path, c.Ev.Args.Path != ""
	}
	return "", false
}

func fdType(c *Ctx) (event.FDType, bool) {
	if c.Ev.FD != nil {
		return c.Ev.FD.Type, true
	}
	if isOpen(c.Ev.Type) {
		return event.FDFile, true
	}
	return 0, false
}

// endpoints returns the local and remote ends of the event's IP socket and
// whether this end is the server.
func endpoints(c *Ctx) (local, remote netip.AddrPort, server, ok bool) {
	if fd := c.Ev.FD; fd != nil {
		if fd.Type != event.FDIPv4 && fd.Type != event.FDIPv6 {
			return local, remote, false, false
		}
		return fd.Local, fd.Remote, fd.Server, true
	}
	sa := c.Ev.Args.Addr
	if sa.Family == event.AFInet || sa.Family == event.AFInet6 {
		switch c.Ev.Type {
		case event.TypeConnect, event.TypeSendto, event.TypeSendmsg:
			return local, netip.AddrPortFrom(sa.Addr, sa.Port), false, true
		case event.TypeAccept, event.TypeAccept4:
			return local, netip.AddrPortFrom(sa.Addr, sa.Port), true, true
		}
	}
	return local, remote, false, false
}

// clientServer orders the endpoints as client, server.
func clientServer(c *Ctx) (cl, sv netip.AddrPort, ok bool) {
	l, r, server, ok := endpoints(c)
	if server {
		return r, l, ok
	}
	return l, r, ok
}

func appendAddrPort(b []byte, ap netip.AddrPort) []byte {
	b = ap.Addr().Unmap().AppendTo(b)
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(ap.Port()), 10)
}

// appendTuple renders "cip:cport->sip:sport" (Falco's fd.name of a socket).
func appendTuple(b []byte, l, r netip.AddrPort) []byte {
	b = appendAddrPort(b, l)
	b = append(b, "->"...)
	return appendAddrPort(b, r)
}

func ipOf(pick func(c *Ctx) (netip.AddrPort, bool)) func(c *Ctx) (netip.Addr, bool) {
	return func(c *Ctx) (netip.Addr, bool) {
		ap, ok := pick(c)
		if !ok || !ap.Addr().IsValid() {
			return netip.Addr{}, false
		}
		return ap.Addr().Unmap(), true
	}
}

func portOf(pick func(c *Ctx) (netip.AddrPort, bool)) func(c *Ctx, i int) (value, bool) {
	return func(c *Ctx, i int) (value, bool) {
		ap, ok := pick(c)
		if !ok || !ap.Addr().IsValid() {
			return value{}, false
		}
		return value{n: int64(ap.Port())}, true
	}
}

func pickClient(c *Ctx) (netip.AddrPort, bool) { cl, _, ok := clientServer(c); return cl, ok }
func pickServer(c *Ctx) (netip.AddrPort, bool) { _, sv, ok := clientServer(c); return sv, ok }
func pickLocal(c *Ctx) (netip.AddrPort, bool)  { l, _, _, ok := endpoints(c); return l, ok }
func pickRemote(c *Ctx) (netip.AddrPort, bool) { _, r, _, ok := endpoints(c); return r, ok }

func portField(name, desc string, picks ...func(c *Ctx) (netip.AddrPort, bool)) *fieldDef {
	ex := func(c *Ctx, i int) (value, bool) {
		if i >= len(picks) {
			return value{}, false
		}
		return portOf(picks[i])(c, 0)
	}
	return &fieldDef{name: name, typ: TypeUint, desc: desc, bind: func(string, bool) (extractor, bool, error) {
		return ex, len(picks) > 1, nil
	}}
}

// hostNameField registers an fd.*.name field: checks compare the end's IP
// address with the addresses the named hosts resolve to; its value is a
// name, among those the rules use, that resolves to the address.
func hostNameField(name, end string, ip func(c *Ctx) (netip.Addr, bool)) *fieldDef {
	ex := func(c *Ctx, i int) (value, bool) {
		a, ok := ip(c)
		if i != 0 || !ok {
			return value{}, false
		}
		n, ok := c.hosts.nameOf(a)
		return value{s: n}, ok
	}
	return &fieldDef{name: name, typ: TypeString, hostIP: ip,
		desc: "host name of the " + end + " IP: `" + name + " = example.com` (or in, !=) compares the IP with the addresses the names resolve to, " +
			"resolved in the background and refreshed; false until resolved",
		bind: func(string, bool) (extractor, bool, error) { return ex, false, nil }}
}

func l4proto(c *Ctx) (string, bool) {
	fd := c.Ev.FD
	var typ, proto int32
	switch {
	case fd != nil && (fd.Type == event.FDIPv4 || fd.Type == event.FDIPv6):
		typ, proto = fd.SockType, fd.Protocol
	case c.Ev.Type == event.TypeSocket && (c.Ev.Args.Domain == unix.AF_INET || c.Ev.Args.Domain == unix.AF_INET6):
		typ, proto = c.Ev.Args.SockType, c.Ev.Args.Protocol
	default:
		return "", false
	}
	switch {
	case proto == unix.IPPROTO_ICMP || proto == unix.IPPROTO_ICMPV6:
		return "icmp", true
	case typ&0xf == unix.SOCK_STREAM || proto == unix.IPPROTO_TCP:
		return "tcp", true
	case typ&0xf == unix.SOCK_DGRAM || proto == unix.IPPROTO_UDP:
		return "udp", true
	case typ&0xf == unix.SOCK_RAW:
		return "raw", true
	}
	return "", false
}

func init() {
	register(
		numField("fd.num", TypeInt, "file descriptor number; -1 for a failed open", func(c *Ctx) (int64, bool) {
			if c.Ev.FD != nil {
				return int64(c.Ev.FD.Num), true
			}
			if isOpen(c.Ev.Type) {
				if c.Ev.Ret < 0 {
					return -1, true
				}
				return c.Ev.Ret, true
			}
			return 0, false
		}),
		strField("fd.type", "kind of file descriptor: file, directory, ipv4, ipv6, unix, pipe, ...", func(c *Ctx) (string, bool) {
			t, ok := fdType(c)
			return t.String(), ok
		}),
		strField("fd.typechar", "one-letter kind of file descriptor: f d 4 6 u p e s i t n m b", func(c *Ctx) (string, bool) {
			t, ok := fdType(c)
			if !ok {
				return "", false
			}
			const chars = "?fd46upesitnmb"
			return chars[t : t+1], true
		}),
		strField("fd.name", "full path of a file, socket path, or cip:cport->sip:sport of an IP socket", fdName),
		strField("fd.nameraw", "path as the process passed it, before resolution", func(c *Ctx) (string, bool) {
			if c.Ev.FD != nil {
				return c.Ev.FD.NameRaw, true
			}
			if isOpen(c.Ev.Type) {
				return c.Ev.Args.Path, true
			}
			return "", false
		}),
		strField("fd.directory", "directory of a file (the path itself for a directory)", func(c *Ctx) (string, bool) {
			t, ok := fdType(c)
			if !ok {
				return "", false
			}
			n, _ := fdName(c)
			switch t {
			case event.FDDirectory:
				return n, true
			case event.FDFile, event.FDMemfd:
				i := len(n) - 1
				for i >= 0 && n[i] != '/' {
					i--
				}
				switch {
				case i < 0:
					return "", false
				case i == 0:
					return "/", true
				}
				return n[:i], true
			}
			return "", false
		}),
		strField("fd.filename", "file name of a file without its directory", func(c *Ctx) (string, bool) {
			t, ok := fdType(c)
			if !ok || (t != event.FDFile && t != event.FDMemfd) {
				return "", false
			}
			n, _ := fdName(c)
			return basename(n), true
		}),
		ipField("fd.cip", TypeIP, "client IP address", ipOf(pickClient)),
		ipField("fd.sip", TypeIP, "server IP address", ipOf(pickServer)),
		ipField("fd.lip", TypeIP, "local IP address", ipOf(pickLocal)),
		ipField("fd.rip", TypeIP, "remote IP address", ipOf(pickRemote)),
		ipField("fd.ip", TypeIP, "client or server IP address: a check matches when either does", ipOf(pickClient), ipOf(pickServer)),
		ipField("fd.cnet", TypeIPNet, "client IP address, compared with networks", ipOf(pickClient)),
		ipField("fd.snet", TypeIPNet, "server IP address, compared with networks", ipOf(pickServer)),
		ipField("fd.lnet", TypeIPNet, "local IP address, compared with networks", ipOf(pickLocal)),
		ipField("fd.rnet", TypeIPNet, "remote IP address, compared with networks", ipOf(pickRemote)),
		ipField("fd.net", TypeIPNet, "client or server IP address compared with networks: a check matches when either does", ipOf(pickClient), ipOf(pickServer)),
		portField("fd.cport", "client port", pickClient),
		portField("fd.sport", "server port", pickServer),
		portField("fd.lport", "local port", pickLocal),
		portField("fd.rport", "remote port", pickRemote),
		portField("fd.port", "client or server port: a check matches when either does", pickClient, pickServer),
		strField("fd.l4proto", "transport protocol of an IP socket: tcp, udp, icmp, raw", l4proto),
		strField("fd.sockfamily", "socket family: ip or unix", func(c *Ctx) (string, bool) {
			t, ok := fdType(c)
			switch {
			case ok && (t == event.FDIPv4 || t == event.FDIPv6):
				return "ip", true
			case ok && t == event.FDUnix:
				return "unix", true
			}
			return "", false
		}),
		boolField("fd.is_server", "this end accepted the connection", func(c *Ctx) (bool, bool) {
			_, _, s, ok := endpoints(c)
			return s, ok
		}),
		boolField("fd.connected", "the socket has a peer", func(c *Ctx) (bool, bool) {
			if c.Ev.FD == nil {
				return false, false
			}
			return c.Ev.FD.Connected, true
		}),
		boolField("fd.name_changed", "this event changed the fd's name (connect, bind, accept)", func(c *Ctx) (bool, bool) {
			if c.Ev.FD == nil {
				return false, false
			}
			return c.Ev.FD.NameChanged, true
		}),
		numField("fd.openflags", TypeUint, "flags the file was opened with", func(c *Ctx) (int64, bool) {
			if c.Ev.FD == nil {
				return 0, false
			}
			return int64(c.Ev.FD.OpenFlags), true
		}),
		hostNameField("fd.cip.name", "client", ipOf(pickClient)),
		hostNameField("fd.sip.name", "server", ipOf(pickServer)),
		hostNameField("fd.lip.name", "local", ipOf(pickLocal)),
		hostNameField("fd.rip.name", "remote", ipOf(pickRemote)),
		notCarried("fd.types", TypeString, argNone, "kinds of every fd of the process"),
		notCarried("fd.ino", TypeUint, argNone, "inode of the file"),
		notCarried("fd.dev", TypeUint, argNone, "device of the file"),
	)
}
