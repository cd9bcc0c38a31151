package event

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

// rec builds a record the way the kernel probe lays it out.
type rec struct {
	kind    byte
	syscall int32
	ret     int64
	args    [6]uint64
	parts   []testPart
}

type testPart struct {
	tag  byte
	data []byte
}

func (r rec) bytes() []byte {
	b := make([]byte, HeaderSize)
	le := binary.LittleEndian
	b[offKind] = r.kind
	le.PutUint16(b[offNParts:], uint16(len(r.parts)))
	le.PutUint32(b[offCPU:], 1)
	le.PutUint64(b[offTS:], 5_000_000_000)
	le.PutUint32(b[offPid:], 100)
	le.PutUint32(b[offTid:], 101)
	le.PutUint32(b[offPPid:], 1)
	le.PutUint32(b[offUID:], 1000)
	le.PutUint32(b[offGID:], 1001)
	le.PutUint32(b[offEUID:], 0)
	le.PutUint32(b[offEGID:], 0)
	le.PutUint32(b[offLogin:], 1000)
	le.PutUint64(b[offCapEff:], 0x1ff)
	le.PutUint64(b[offCgroup:], 77)
	le.PutUint32(b[offTTY:], 34816)
	le.PutUint32(b[offPidNS:], 4026531836)
	le.PutUint32(b[offMntNS:], 4026531841)
	le.PutUint32(b[offSyscall:], uint32(r.syscall))
	le.PutUint64(b[offRet:], uint64(r.ret))
	for i, a := range r.args {
		le.PutUint64(b[offArgs+8*i:], a)
	}
	copy(b[offComm:], "bash")
	for _, p := range r.parts {
		b = append(b, p.tag, 0, byte(len(p.data)), byte(len(p.data)>>8))
		b = append(b, p.data...)
	}
	return b
}

func strPart(arg int, s string) testPart { return testPart{byte(partStr + arg), []byte(s)} }

func sockaddr4(ip [4]byte, port uint16) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint16(b, AFInet)
	binary.BigEndian.PutUint16(b[2:], port)
	copy(b[4:], ip[:])
	return b
}

func exeInfo(flags uint32, ctime, mtime int64) []byte {
	b := make([]byte, exeInfoSize)
	binary.LittleEndian.PutUint32(b, flags)
	binary.LittleEndian.PutUint64(b[8:], uint64(ctime))
	binary.LittleEndian.PutUint64(b[16:], uint64(mtime))
	return b
}

const bootOffset = 1_700_000_000_000_000_000

func TestDecodeHeader(t *testing.T) {
	amd64, _ := SyscallTableFor("amd64")
	d := NewDecoder(amd64, bootOffset)
	var ev Event
	if err := d.Decode(rec{kind: KindSyscall, syscall: 3, args: [6]uint64{9}}.bytes(), &ev); err != nil {
		t.Fatal(err)
	}
	want := Event{
		Num: 1, Type: TypeClose, Syscall: 3, Timestamp: bootOffset + 5_000_000_000, CPU: 1,
		Pid: 100, Tid: 101, PPid: 1, UID: 1000, GID: 1001, LoginUID: 1000, CapEffective: 0x1ff,
		TTY: 34816, CgroupID: 77, PidNS: 4026531836, MntNS: 4026531841, Comm: "bash",
		Args: Args{Fd: 9},
	}
	if !reflect.DeepEqual(ev, want) {
		t.Fatalf("got  %+v\nwant %+v", ev, want)
	}
	if err := d.Decode(rec{kind: KindSyscall, syscall: 3}.bytes(), &ev); err != nil || ev.Num != 2 {
		t.Fatalf("second event num %d err %v", ev.Num, err)
	}
}

func TestDecodeArgs(t *testing.T) {
	amd64, _ := SyscallTableFor("amd64")
	arm64, _ := SyscallTableFor("arm64")
	lo := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name  string
		table *SyscallTable
		rec   rec
		typ   Type
		ret   int64
		args  Args
	}{
		{"openat", amd64, rec{kind: KindSyscall, syscall: 257, ret: 6, args: [6]uint64{5, 0xdead, 0o101, 0o640},
			parts: []testPart{strPart(1, "rel/file")}},
			TypeOpenat, 6, Args{Path: "rel/file", DirFd: 5, Flags: 0o101, Mode: 0o640}},
		{"openat arm64", arm64, rec{kind: KindSyscall, syscall: 56, ret: 3, args: [6]uint64{uint64(0xffffffffffffff9c), 0, 0},
			parts: []testPart{strPart(1, "/etc/passwd")}},
			TypeOpenat, 3, Args{Path: "/etc/passwd", DirFd: -100}},
		{"open is relative to cwd", amd64, rec{kind: KindSyscall, syscall: 2, ret: -2, args: [6]uint64{0, 0o2},
			parts: []testPart{strPart(0, "x")}},
			TypeOpen, -2, Args{Path: "x", DirFd: -100, Flags: 2}},
		{"creat", amd64, rec{kind: KindSyscall, syscall: 85, ret: 4, args: [6]uint64{0, 0o600}, parts: []testPart{strPart(0, "c")}},
			TypeCreat, 4, Args{Path: "c", DirFd: -100, Flags: 0o1101, Mode: 0o600}},
		{"openat2", amd64, rec{kind: KindSyscall, syscall: 437, ret: 4, args: [6]uint64{3},
			parts: []testPart{strPart(1, "f"), {partStruct, append(le64(0o1), le64(0o644)...)}}},
			TypeOpenat2, 4, Args{Path: "f", DirFd: 3, Flags: 1, Mode: 0o644}},
		{"connect", amd64, rec{kind: KindSyscall, syscall: 42, args: [6]uint64{4, 0, 16},
			parts: []testPart{{partSockaddr, sockaddr4([4]byte{127, 0, 0, 1}, 8080)}}},
			TypeConnect, 0, Args{Fd: 4, Addr: Sockaddr{Family: AFInet, Addr: lo, Port: 8080}}},
		{"connect with local address", amd64, rec{kind: KindSyscall, syscall: 42, args: [6]uint64{4, 0, 16},
			parts: []testPart{{partSockaddr, sockaddr4([4]byte{127, 0, 0, 1}, 80)}, {partLocal, sockaddr4([4]byte{127, 0, 0, 1}, 40000)}}},
			TypeConnect, 0, Args{Fd: 4, Addr: Sockaddr{Family: AFInet, Addr: lo, Port: 80},
				LocalAddr: Sockaddr{Family: AFInet, Addr: lo, Port: 40000}}},
		{"dup2", amd64, rec{kind: KindSyscall, syscall: 33, args: [6]uint64{5, 0}}, TypeDup2, 0, Args{Fd: 5}},
		{"socket", arm64, rec{kind: KindSyscall, syscall: 198, ret: 3, args: [6]uint64{17, 3, 768}},
			TypeSocket, 3, Args{Domain: 17, SockType: 3, Protocol: 768}},
		{"symlinkat", amd64, rec{kind: KindSyscall, syscall: 266, args: [6]uint64{0, 7},
			parts: []testPart{strPart(0, "/etc/shadow"), strPart(2, "s")}},
			TypeSymlinkat, 0, Args{Path: "/etc/shadow", Path2: "s", DirFd: -100, DirFd2: 7}},
		{"linkat", amd64, rec{kind: KindSyscall, syscall: 265, args: [6]uint64{1, 0, 2, 0, 0x400},
			parts: []testPart{strPart(1, "a"), strPart(3, "b")}},
			TypeLinkat, 0, Args{Path: "a", Path2: "b", DirFd: 1, DirFd2: 2, Flags: 0x400}},
		{"ptrace", amd64, rec{kind: KindSyscall, syscall: 101, args: [6]uint64{16, 4242}},
			TypePtrace, 0, Args{Request: 16, TargetPid: 4242}},
		{"setresuid", amd64, rec{kind: KindSyscall, syscall: 117, args: [6]uint64{0, 1, 2}},
			TypeSetresuid, 0, Args{IDs: [3]uint32{0, 1, 2}}},
		{"finit_module fails", amd64, rec{kind: KindSyscall, syscall: 313, ret: -38, args: [6]uint64{3, 0, 0},
			parts: []testPart{strPart(1, "x=1")}},
			TypeFinitModule, -38, Args{Fd: 3, Path: "x=1"}},
		{"mount", amd64, rec{kind: KindSyscall, syscall: 165, args: [6]uint64{0, 0, 0, 1},
			parts: []testPart{strPart(0, "none"), strPart(1, "/mnt"), strPart(2, "tmpfs")}},
			TypeMount, 0, Args{Path: "/mnt", Path2: "none", Name: "tmpfs", Flags: 1, DirFd: -100, DirFd2: -100}},
		{"fork record", amd64, rec{kind: KindFork, syscall: 56, ret: 555, args: [6]uint64{0x1200011}},
			TypeClone, 555, Args{TargetPid: 555, Flags: 0x1200011}},
		{"clone3 record", amd64, rec{kind: KindFork, syscall: 435, ret: 556, parts: []testPart{{partStruct, le64(0x10000)}}},
			TypeClone3, 556, Args{TargetPid: 556, Flags: 0x10000}},
		{"kernel fork", amd64, rec{kind: KindFork, syscall: -1, ret: 9}, TypeClone, 9, Args{TargetPid: 9}},
		{"exec", amd64, rec{kind: KindExec, syscall: 59, parts: []testPart{
			{partFilename, []byte("./x")},
			{partArgv, []byte("./x\x00-v\x00\x00")},
			{partExe, []byte("x\x00bin\x00usr\x00")},
			{partExeInfo, exeInfo(exeUpper, 10, 20)},
		}}, TypeExecve, 0, Args{Path: "./x", DirFd: -100, Argv: []string{"./x", "-v", ""}, ExePath: "/usr/bin/x",
			ExeUpperLayer: true, ExeInoCtime: 10, ExeInoMtime: 20}},
		{"memfd execveat", arm64, rec{kind: KindExec, syscall: 281, args: [6]uint64{3, 0, 0, 0, 0x1000}, parts: []testPart{
			{partFilename, []byte("/dev/fd/3")},
			{partArgv, []byte("a\x00")},
			{partExe, []byte("memfd:x\x00")},
			{partExeInfo, exeInfo(exeMemfd, 0, 0)},
		}}, TypeExecveat, 0, Args{Path: "/dev/fd/3", DirFd: 3, Flags: 0x1000, Argv: []string{"a"}, ExePath: "/memfd:x", ExeFromMemfd: true}},
		{"failed execve", amd64, rec{kind: KindSyscall, syscall: 59, ret: -2, parts: []testPart{strPart(0, "/nope")}},
			TypeExecve, -2, Args{Path: "/nope", DirFd: -100}},
		{"exit", amd64, rec{kind: KindExit, syscall: -1, ret: 256}, TypeProcExit, 0, Args{ExitCode: 256}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev Event
			if err := NewDecoder(tt.table, 0).Decode(tt.rec.bytes(), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Type != tt.typ || ev.Ret != tt.ret {
				t.Errorf("type %s ret %d, want %s %d", ev.Type, ev.Ret, tt.typ, tt.ret)
			}
			if !reflect.DeepEqual(ev.Args, tt.args) {
				t.Errorf("args\n got %+v\nwant %+v", ev.Args, tt.args)
			}
		})
	}
}

func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func TestDecodeMalformed(t *testing.T) {
	amd64, _ := SyscallTableFor("amd64")
	good := rec{kind: KindSyscall, syscall: 257, parts: []testPart{strPart(1, "abc")}}.bytes()
	tooMany := append([]byte(nil), good...)
	binary.LittleEndian.PutUint16(tooMany[offNParts:], maxParts+1)
	tests := []struct {
		name string
		rec  []byte
	}{
		{"empty", nil},
		{"short header", good[:HeaderSize-1]},
		{"unknown kind", rec{kind: 99}.bytes()},
		{"unknown syscall", rec{kind: KindSyscall, syscall: 1}.bytes()},
		{"syscall out of range", rec{kind: KindSyscall, syscall: 100000}.bytes()},
		{"fork of a non-fork syscall", rec{kind: KindFork, syscall: 257}.bytes()},
		{"truncated part header", good[:HeaderSize+2]},
		{"truncated part", good[:len(good)-1]},
		{"too many parts", tooMany},
		{"bad exe info", rec{kind: KindExec, syscall: 59, parts: []testPart{{partExeInfo, []byte{1}}}}.bytes()},
	}
	d := NewDecoder(amd64, 0)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev Event
			err := d.Decode(tt.rec, &ev)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
			if d.Malformed() != uint64(i+1) {
				t.Errorf("malformed count %d, want %d", d.Malformed(), i+1)
			}
		})
	}
	var ev Event
	if err := d.Decode(good, &ev); err != nil || ev.Num != 1 {
		t.Fatalf("good record after bad ones: num %d err %v", ev.Num, err)
	}
}

func TestDecodeSockaddr(t *testing.T) {
	v6 := make([]byte, 28)
	binary.LittleEndian.PutUint16(v6, AFInet6)
	binary.BigEndian.PutUint16(v6[2:], 443)
	v6[8+15] = 1
	unixPath := append([]byte{1, 0}, "/run/x.sock\x00\x00\x00"...)
	abstract := append([]byte{1, 0, 0}, "vigil"...)
	tests := []struct {
		name string
		b    []byte
		want Sockaddr
	}{
		{"empty", nil, Sockaddr{}},
		{"ipv4", sockaddr4([4]byte{10, 1, 2, 3}, 53), Sockaddr{Family: AFInet, Addr: netip.MustParseAddr("10.1.2.3"), Port: 53}},
		{"ipv4 short", sockaddr4([4]byte{1, 2, 3, 4}, 1)[:6], Sockaddr{Family: AFInet}},
		{"ipv6", v6, Sockaddr{Family: AFInet6, Addr: netip.MustParseAddr("::1"), Port: 443}},
		{"ipv6 short", v6[:20], Sockaddr{Family: AFInet6}},
		{"unix", unixPath, Sockaddr{Family: AFUnix, Path: "/run/x.sock"}},
		{"unix abstract", abstract, Sockaddr{Family: AFUnix, Path: "@vigil"}},
		{"other family", []byte{17, 0, 1, 2}, Sockaddr{Family: 17}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeSockaddr(tt.b); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(rec{kind: KindSyscall, syscall: 257, parts: []testPart{strPart(1, "abc")}}.bytes())
	f.Add(rec{kind: KindExec, syscall: 59, parts: []testPart{
		{partFilename, []byte("./x")}, {partArgv, []byte("a\x00b\x00")},
		{partExe, []byte("x\x00bin\x00")}, {partExeInfo, exeInfo(1, 2, 3)},
	}}.bytes())
	f.Add(rec{kind: KindSyscall, syscall: 42, parts: []testPart{{partSockaddr, sockaddr4([4]byte{1, 2, 3, 4}, 5)}}}.bytes())
	f.Add(rec{kind: KindFork, syscall: 435, parts: []testPart{{partStruct, le64(1)}}}.bytes())
	f.Add(rec{kind: KindExit, syscall: -1}.bytes())
	amd64, _ := SyscallTableFor("amd64")
	arm64, _ := SyscallTableFor("arm64")
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, table := range []*SyscallTable{amd64, arm64} {
			d := NewDecoder(table, 0)
			var ev Event
			err := d.Decode(b, &ev)
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if err == nil {
				if ev.Type == TypeUnknown || ev.Num != 1 {
					t.Fatalf("decoded %+v", ev)
				}
				AppendJSON(nil, &ev)
			}
		}
	})
}
