package state

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/event"
)

// fuzzPaths are the path arguments FuzzApply chooses from.
var fuzzPaths = []string{"", "a", "/etc/x", "../..", "rel/file", "/", "./b/../c", "//x//y/"}

// fuzzFlags are the flag bits that change what Apply does.
var fuzzFlags = []uint64{0, oCloexec, cloneThread, cloneParent, atEmptyPath, oDirectory, sockCloexec | sockStream, mfdCloexec}

// FuzzApply applies arbitrary event sequences over a few pids and fds and
// checks the table's invariants: no panic, bounded size, parent chains
// that end, and fd counts that match the fds stored.
func FuzzApply(f *testing.F) {
	f.Add([]byte{3, 1, 0, 2, 0, 0, 0, 0, 16, 2, 1, 3, 1, 0, 6, 0, 15, 2, 1, 0, 3, 0, 0, 0})
	f.Add([]byte{7, 1, 0, 0, 0, 0, 0, 0, 7, 2, 1, 0, 0, 0, 0, 0, 5, 3, 2, 9, 0, 0, 3, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		tab := New(Options{MaxProcs: 6, MaxFDsPerProc: 5, ExitGrace: 2 * time.Second, ReapInterval: time.Second})
		_ = tab.Seed(seedSnapshot())
		ts := t0
		for len(data) >= 8 {
			b := data[:8]
			data = data[8:]
			ts += int64(b[7]) * int64(50*time.Millisecond)
			ev := event.Event{
				Type:      event.Type(b[0] % uint8(event.NumTypes)),
				Pid:       1 + uint32(b[1]%8),
				PPid:      uint32(b[2] % 8),
				Ret:       int64(int8(b[3])),
				Timestamp: ts,
				Comm:      fuzzPaths[b[6]%uint8(len(fuzzPaths))],
			}
			ev.Tid = ev.Pid + uint32(b[2]&0x80>>7)
			ev.Args = event.Args{
				Fd: int32(b[4]%12) - 1, Fd2: int32(b[5] % 12), DirFd: int32(b[4]%12) - 1, DirFd2: atFDCWD,
				Path: fuzzPaths[b[5]%uint8(len(fuzzPaths))], Path2: fuzzPaths[b[4]%uint8(len(fuzzPaths))],
				Flags: fuzzFlags[b[6]%uint8(len(fuzzFlags))], TargetPid: int32(b[2] % 8),
				Domain: int32(b[5] % 11), SockType: int32(b[6] % 4), Argv: []string{"x", "y"}[:b[7]%3],
			}
			if b[6]&1 != 0 {
				ev.Args.Addr = event.Sockaddr{Family: uint16([]int{0, event.AFInet, event.AFInet6, event.AFUnix}[b[4]%4]), Addr: netip.AddrFrom4([4]byte{10, 0, 0, b[5]}), Port: uint16(b[3]), Path: "/run/s"}
			}
			tab.Apply(&ev)
			if ev.Proc == nil || ev.Proc.Pid != ev.Pid {
				t.Fatalf("event %v got process %+v", ev.Type, ev.Proc)
			}
			if tab.Len() > 6 {
				t.Fatalf("table grew to %d", tab.Len())
			}
		}
		for pid, p := range tab.procs {
			n := 0
			for a := p.Parent; a != nil; a = a.Parent {
				if n++; n > len(tab.procs)+1 {
					t.Fatalf("parent chain of %d does not end", pid)
				}
			}
			count := len(p.fds.sorted())
			if count != p.fds.n || count > 5 {
				t.Fatalf("process %d: %d fds stored, count %d", pid, count, p.fds.n)
			}
		}
	})
}
