package state

import (
	"net/netip"
	"strconv"

	"github.com/vigilsec/vigil/pkg/event"
)

// FDName returns Falco's fd.name for fd: the path of files, directories,
// memfds and unix sockets, "client:port->server:port" for a connected IP
// socket (IPv6 addresses without brackets, as Falco prints them),
// "addr:port" for a bound or listening one, and "" when nothing is known.
func FDName(fd *event.FD) string {
	if fd == nil {
		return ""
	}
	if fd.Type != event.FDIPv4 && fd.Type != event.FDIPv6 {
		return fd.Name
	}
	if client, server, ok := Endpoints(fd); ok {
		return formatTuple(client, server)
	}
	if fd.Local.IsValid() {
		return string(appendAddrPort(nil, fd.Local))
	}
	return fd.Name
}

// formatTuple formats "client->server" as Falco does.
func formatTuple(client, server netip.AddrPort) string {
	b := make([]byte, 0, 48)
	b = appendAddrPort(b, client)
	b = append(b, '-', '>')
	b = appendAddrPort(b, server)
	return string(b)
}

// appendAddrPort appends "addr:port" without IPv6 brackets; an invalid
// address prints as the unspecified address of no family, "0.0.0.0".
func appendAddrPort(b []byte, ap netip.AddrPort) []byte {
	if ap.Addr().IsValid() {
		b = ap.Addr().AppendTo(b)
	} else {
		b = append(b, "0.0.0.0"...)
	}
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(ap.Port()), 10)
}

// Endpoints returns the client and server ends of a connected IP socket
// (Falco's fd.cip/fd.cport and fd.sip/fd.sport): for a socket that accepted
// the connection the client is the remote end, otherwise the local one. ok
// is false when the socket has no peer (no role, in Falco's terms).
func Endpoints(fd *event.FD) (client, server netip.AddrPort, ok bool) {
	if fd == nil || (fd.Type != event.FDIPv4 && fd.Type != event.FDIPv6) {
		return client, server, false
	}
	if !fd.Connected && !fd.Remote.IsValid() {
		return client, server, false
	}
	if fd.Server {
		return fd.Remote, fd.Local, true
	}
	return fd.Local, fd.Remote, true
}

// L4Proto returns Falco's fd.l4proto of an IP socket: "tcp", "udp",
// "icmp" or "raw"; "" for other descriptors or an unknown protocol.
func L4Proto(fd *event.FD) string {
	if fd == nil || (fd.Type != event.FDIPv4 && fd.Type != event.FDIPv6) {
		return ""
	}
	switch fd.Protocol {
	case ipprotoTCP:
		return "tcp"
	case ipprotoUDP:
		return "udp"
	case ipprotoICMP, ipprotoICMPv6:
		return "icmp"
	}
	switch fd.SockType {
	case sockStream:
		return "tcp"
	case sockDgram:
		return "udp"
	case sockRaw:
		return "raw"
	}
	return ""
}

// FDDirectory returns Falco's fd.directory: the directory holding a file,
// or the path of a directory descriptor. ok is false for other descriptors.
func FDDirectory(fd *event.FD) (dir string, ok bool) {
	if fd == nil {
		return "", false
	}
	switch fd.Type {
	case event.FDDirectory:
		return fd.Name, true
	case event.FDFile, event.FDMemfd:
		n := fd.Name
		i := len(n) - 1
		for i >= 0 && n[i] != '/' {
			i--
		}
		switch {
		case i <= 0:
			return "/", true
		case i == len(n)-1:
			return n, true
		}
		return n[:i], true
	}
	return "", false
}

// FDFilename returns Falco's fd.filename: the last element of a file's
// path. ok is false for descriptors that are not files.
func FDFilename(fd *event.FD) (name string, ok bool) {
	if fd == nil || (fd.Type != event.FDFile && fd.Type != event.FDMemfd) {
		return "", false
	}
	n := fd.Name
	for i := len(n) - 1; i >= 0; i-- {
		if n[i] == '/' {
			if i < len(n)-1 {
				return n[i+1:], true
			}
			return n, true
		}
	}
	return "/", true
}

// IsOpenRead reports whether open flags allow reading (Falco's
// evt.is_open_read).
func IsOpenRead(flags uint64) bool {
	acc := flags & oAccMode
	return acc == oRdonly || acc == oRdwr
}

// IsOpenWrite reports whether open flags allow writing (Falco's
// evt.is_open_write).
func IsOpenWrite(flags uint64) bool {
	acc := flags & oAccMode
	return acc == oWronly || acc == oRdwr
}

// SessionLeader returns the leader of p's session (Falco's proc.sname is
// its name): the ancestor whose pid is p's session id, else the eldest
// known ancestor in the same session, else nil when p's session is unknown.
func SessionLeader(p *event.Process) *event.Process {
	if p == nil || p.SID == 0 {
		return nil
	}
	var eldest *event.Process
	for a := p; a != nil; a = a.Parent {
		if a.Pid == p.SID {
			return a
		}
		if a.SID != p.SID {
			break
		}
		eldest = a
	}
	return eldest
}

// Duration returns Falco's proc.duration at time now (Unix ns): the time
// since the process started, 0 when its start is unknown.
func Duration(p *event.Process, now int64) int64 {
	if p == nil || p.StartTS == 0 || now < p.StartTS {
		return 0
	}
	return now - p.StartTS
}
