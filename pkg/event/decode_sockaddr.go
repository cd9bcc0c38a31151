package event

import (
	"encoding/binary"
	"net/netip"
)

// decodeSockaddr decodes a raw struct sockaddr as the kernel copied it. An
// address too short for its family, or of another family, keeps only the
// family.
func decodeSockaddr(b []byte) Sockaddr {
	if len(b) < 2 {
		return Sockaddr{}
	}
	sa := Sockaddr{Family: binary.LittleEndian.Uint16(b)}
	switch sa.Family {
	case AFInet:
		if len(b) >= 8 {
			sa.Port = binary.BigEndian.Uint16(b[2:])
			sa.Addr = netip.AddrFrom4([4]byte(b[4:8]))
		}
	case AFInet6:
		if len(b) >= 24 {
			sa.Port = binary.BigEndian.Uint16(b[2:])
			sa.Addr = netip.AddrFrom16([16]byte(b[8:24]))
		}
	case AFUnix:
		p := b[2:]
		if len(p) > 0 && p[0] == 0 {
			// Abstract: the name is every byte after the NUL.
			sa.Path = "@" + string(p[1:])
			break
		}
		for i, c := range p {
			if c == 0 {
				p = p[:i]
				break
			}
		}
		sa.Path = string(p)
	}
	return sa
}
