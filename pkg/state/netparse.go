package state

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"strconv"

	"github.com/vigilsec/vigil/pkg/event"
)

// sockEntry is one socket of a /proc/net table, keyed by inode.
type sockEntry struct {
	Inode    uint64
	Type     event.FDType
	Domain   int32
	SockType int32
	Protocol int32
	Local    netip.AddrPort
	Remote   netip.AddrPort
	// Listen marks a listening socket (TCP LISTEN, unix __SO_ACCEPTCON).
	Listen bool
	// Path is a unix socket's bound path.
	Path string
}

// TCP states of /proc/net/tcp used here.
const (
	tcpEstablished = 0x01
	tcpListen      = 0x0a
	udpClose       = 0x07
)

var errBadAddr = errors.New("malformed /proc/net address")

// parseHexAddrPort parses "0100007F:1F90" (IPv4) or 32 hex digits plus port
// (IPv6). The address is printed as native-endian 32-bit words.
func parseHexAddrPort(s []byte) (netip.AddrPort, error) {
	colon := bytes.IndexByte(s, ':')
	if colon < 0 {
		return netip.AddrPort{}, errBadAddr
	}
	port, err := strconv.ParseUint(string(s[colon+1:]), 16, 16)
	if err != nil {
		return netip.AddrPort{}, errBadAddr
	}
	h := s[:colon]
	var raw [16]byte
	n := len(h) / 2
	if (n != 4 && n != 16) || len(h)%2 != 0 {
		return netip.AddrPort{}, errBadAddr
	}
	if _, err := hex.Decode(raw[:n], h); err != nil {
		return netip.AddrPort{}, errBadAddr
	}
	var out [16]byte
	for w := 0; w < n/4; w++ {
		v := binary.BigEndian.Uint32(raw[w*4:])
		binary.NativeEndian.PutUint32(out[w*4:], v)
	}
	if n == 4 {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(out[:4])), uint16(port)), nil
	}
	return netip.AddrPortFrom(netip.AddrFrom16(out), uint16(port)), nil
}

// parseNetIP parses /proc/net/{tcp,tcp6,udp,udp6,raw,raw6}. domain is
// AF_INET or AF_INET6, sockType SOCK_STREAM, SOCK_DGRAM or SOCK_RAW.
// Malformed lines are skipped. IPv6 sockets whose ends are IPv4-mapped are
// typed IPv4, with unmapped addresses, as Falco does.
func parseNetIP(data []byte, domain, sockType int32) []sockEntry {
	var out []sockEntry
	first := true
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if first {
			first = false
			if bytes.Contains(line, []byte("local_address")) {
				continue
			}
		}
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
		f := bytes.Fields(line)
		if len(f) < 10 {
			continue
		}
		local, err1 := parseHexAddrPort(f[1])
		remote, err2 := parseHexAddrPort(f[2])
		st, err3 := strconv.ParseUint(string(f[3]), 16, 8)
		inode, err4 := strconv.ParseUint(string(f[9]), 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || inode == 0 {
			continue
		}
		e := sockEntry{Inode: inode, Domain: domain, SockType: sockType}
		switch sockType {
		case sockStream:
			e.Protocol = ipprotoTCP
			e.Listen = st == tcpListen
		case sockDgram:
			e.Protocol = ipprotoUDP
		case sockRaw:
			// The local "port" of a raw socket is its protocol.
			e.Protocol = int32(local.Port())
			local = netip.AddrPortFrom(local.Addr(), 0)
		}
		la, ra := local.Addr(), remote.Addr()
		if la.Is4In6() && (ra.Is4In6() || ra.IsUnspecified()) {
			la = la.Unmap()
			if ra.Is4In6() {
				ra = ra.Unmap()
			} else {
				ra = netip.IPv4Unspecified()
			}
		}
		e.Type = event.FDIPv6
		if la.Is4() {
			e.Type = event.FDIPv4
		}
		e.Local = netip.AddrPortFrom(la, local.Port())
		if !(ra.IsUnspecified() && remote.Port() == 0) {
			e.Remote = netip.AddrPortFrom(ra, remote.Port())
		}
		out = append(out, e)
	}
	return out
}

// unixAcceptCon is __SO_ACCEPTCON in /proc/net/unix's Flags column.
const unixAcceptCon = 0x10000

// parseNetUnix parses /proc/net/unix:
// "Num RefCount Protocol Flags Type St Inode [Path]".
func parseNetUnix(data []byte) []sockEntry {
	var out []sockEntry
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		f := bytes.Fields(line)
		if len(f) < 7 || bytes.Equal(f[0], []byte("Num")) {
			continue
		}
		flags, err1 := strconv.ParseUint(string(f[3]), 16, 32)
		typ, err2 := strconv.ParseUint(string(f[4]), 16, 16)
		inode, err3 := strconv.ParseUint(string(f[6]), 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || inode == 0 {
			continue
		}
		e := sockEntry{
			Inode:    inode,
			Type:     event.FDUnix,
			Domain:   event.AFUnix,
			SockType: int32(typ),
			Listen:   flags&unixAcceptCon != 0,
		}
		if len(f) > 7 {
			// Paths may hold spaces: take the rest of the line.
			rest := line[bytes.Index(line, f[6])+len(f[6]):]
			e.Path = string(bytes.TrimSpace(rest))
		}
		out = append(out, e)
	}
	return out
}

// parseNetlink parses /proc/net/netlink:
// "sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode".
func parseNetlink(data []byte) []sockEntry {
	var out []sockEntry
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		f := bytes.Fields(line)
		if len(f) < 10 || bytes.Equal(f[0], []byte("sk")) {
			continue
		}
		proto, err1 := strconv.ParseUint(string(f[1]), 10, 32)
		inode, err2 := strconv.ParseUint(string(f[9]), 10, 64)
		if err1 != nil || err2 != nil || inode == 0 {
			continue
		}
		out = append(out, sockEntry{Inode: inode, Type: event.FDNetlink, Domain: afNetlink, Protocol: int32(proto)})
	}
	return out
}
