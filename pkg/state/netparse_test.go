package state

import (
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
)

const netTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1161 1 000000005677e404 100 0 0 10 0
   1: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 2222 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:9C41 0100007F:1F91 06 00000000:00000000 03:00000000 00000000     0        0 0 3 0000000000000000
   3: zz:1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3333
`

// On a little-endian host the words are byte-swapped: ::1 is
// 00000000000000000000000001000000, ::ffff:127.0.0.1 is
// 0000000000000000FFFF00000100007F.
const netTCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:A000 00000000000000000000000001000000:0050 01 00000000:00000000 00:00000000 00000000     0        0 5555 1 0000000000000000 20 4 30 10 -1
   2: 0000000000000000FFFF00000100007F:0050 0000000000000000FFFF00000100007F:A001 01 00000000:00000000 00:00000000 00000000     0        0 6666 1 0000000000000000 20 4 30 10 -1
`

func TestParseNetIP(t *testing.T) {
	v4 := parseNetIP([]byte(netTCP), event.AFInet, sockStream)
	if len(v4) != 2 {
		t.Fatalf("tcp entries = %+v", v4)
	}
	if e := v4[0]; e.Inode != 1161 || !e.Listen || e.Local.String() != "0.0.0.0:2024" || e.Remote.IsValid() || e.Type != event.FDIPv4 || e.Protocol != ipprotoTCP {
		t.Fatalf("listener = %+v", e)
	}
	if e := v4[1]; e.Inode != 2222 || e.Listen || e.Local.String() != "127.0.0.1:40000" || e.Remote.String() != "127.0.0.1:8080" {
		t.Fatalf("established = %+v", e)
	}
	v6 := parseNetIP([]byte(netTCP6), event.AFInet6, sockStream)
	if len(v6) != 3 {
		t.Fatalf("tcp6 entries = %+v", v6)
	}
	want := []struct {
		local, remote string
		typ           event.FDType
	}{
		{"[::]:80", "invalid AddrPort", event.FDIPv6},
		{"[::1]:40960", "[::1]:80", event.FDIPv6},
		{"127.0.0.1:80", "127.0.0.1:40961", event.FDIPv4},
	}
	for i, w := range want {
		e := v6[i]
		if e.Local.String() != w.local || e.Remote.String() != w.remote || e.Type != w.typ || e.Domain != event.AFInet6 {
			t.Errorf("tcp6[%d] = %s %s %v, want %+v", i, e.Local, e.Remote, e.Type, w)
		}
	}
	raw := parseNetIP([]byte("  sl hdr local_address\n 1: 00000000:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 777 2\n"), event.AFInet, sockRaw)
	if len(raw) != 1 || raw[0].Protocol != ipprotoICMP || raw[0].Local.Port() != 0 {
		t.Fatalf("raw = %+v", raw)
	}
}

func TestParseNetUnix(t *testing.T) {
	in := `Num       RefCount Protocol Flags    Type St Inode Path
00000000fc4029c0: 00000003 00000000 00000000 0001 03  1158
0000000012345678: 00000002 00000000 00010000 0001 01  2001 /run/my app.sock
00000000abcdef01: 00000002 00000000 00000000 0002 01  2002 @abstract
bad line
`
	got := parseNetUnix([]byte(in))
	if len(got) != 3 {
		t.Fatalf("entries = %+v", got)
	}
	if got[0].Path != "" || got[0].Inode != 1158 || got[0].SockType != sockStream || got[0].Listen {
		t.Fatalf("unnamed = %+v", got[0])
	}
	if got[1].Path != "/run/my app.sock" || !got[1].Listen || got[1].Type != event.FDUnix {
		t.Fatalf("listener = %+v", got[1])
	}
	if got[2].Path != "@abstract" || got[2].SockType != sockDgram {
		t.Fatalf("abstract = %+v", got[2])
	}
}

func TestParseNetlink(t *testing.T) {
	in := `sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode
000000009d48d828 0   0          00000000 0        0        0     2        0        4
00000000e045c507 4   0          00000000 0        0        0     2        0        477
`
	got := parseNetlink([]byte(in))
	if len(got) != 2 || got[1].Inode != 477 || got[1].Protocol != 4 || got[1].Type != event.FDNetlink {
		t.Fatalf("netlink = %+v", got)
	}
}

func FuzzParseNetIP(f *testing.F) {
	f.Add([]byte(netTCP), true)
	f.Add([]byte(netTCP6), false)
	f.Add([]byte("0: 0:0 0:0 0 0 0 0 0 0 1"), true)
	f.Fuzz(func(t *testing.T, data []byte, v6 bool) {
		domain := int32(event.AFInet)
		if v6 {
			domain = event.AFInet6
		}
		for _, typ := range []int32{sockStream, sockDgram, sockRaw} {
			for _, e := range parseNetIP(data, domain, typ) {
				if e.Inode == 0 || !e.Local.IsValid() {
					t.Fatalf("bad entry %+v", e)
				}
			}
		}
	})
}

func FuzzParseNetUnix(f *testing.F) {
	f.Add([]byte("Num RefCount\n0: 1 0 00010000 0001 01 2001 /run/x.sock\n"))
	f.Add([]byte("sk Eth\n0 4 0 0 0 0 0 2 0 477\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, e := range parseNetUnix(data) {
			if e.Inode == 0 {
				t.Fatalf("bad entry %+v", e)
			}
		}
		for _, e := range parseNetlink(data) {
			if e.Inode == 0 {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}
