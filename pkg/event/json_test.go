package event

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestAppendJSONGolden(t *testing.T) {
	events := []Event{
		{Num: 1, Type: TypeOpenat, Syscall: 257, Timestamp: 1_700_000_000_123_456_789, CPU: 1, Pid: 10, Tid: 11, PPid: 1,
			UID: 1000, GID: 1000, LoginUID: 1000, CapEffective: 0x1ff, TTY: 34816, CgroupID: 5, PidNS: 4026531836,
			MntNS: 4026531841, Comm: "cat", Ret: 3,
			Args: Args{Path: "rel/\"q\"\x01", ResolvedPath: "/home/u/rel", DirFd: -100, Flags: 65, Mode: 0o640}},
		{Num: 2, Type: TypeConnect, Syscall: 42, Timestamp: 1_700_000_001_000_000_000, Pid: 10, Tid: 10, Comm: "curl",
			Args: Args{Fd: 4, Addr: Sockaddr{Family: AFInet6, Addr: netip.MustParseAddr("::1"), Port: 443},
				LocalAddr: Sockaddr{Family: AFInet6, Addr: netip.MustParseAddr("::1"), Port: 51000}}},
		{Num: 3, Type: TypeExecveat, Syscall: 322, Pid: 12, Comm: "x", Args: Args{Path: "/dev/fd/3", DirFd: 3,
			Flags: 0x1000, Argv: []string{"a", "b c", "ü\xff"}, ExePath: "/memfd:x", ExeFromMemfd: true},
			Proc: &Process{Pid: 12, PPid: 10, Name: "x", ExePath: "/memfd:x", Args: []string{"b c"}, Cwd: "/tmp"},
			FD:   &FD{Num: 3, Type: FDMemfd, Name: "/memfd:x"}},
		{Num: 4, Type: TypeSendto, Pid: 1, Args: Args{Addr: Sockaddr{Family: AFUnix, Path: "@abs"}, IDs: [3]uint32{0, 1, 2}}},
		{Num: 5, Type: TypeProcExit, Syscall: -1, Pid: 12, Args: Args{ExitCode: 256}},
	}
	var out bytes.Buffer
	for i := range events {
		line := AppendJSON(nil, &events[i])
		if !json.Valid(line) {
			t.Fatalf("invalid JSON: %s", line)
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	const golden = "testdata/events.golden"
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("output differs from %s (run with -update to accept):\n%s", golden, out.Bytes())
	}
}

func FuzzAppendQuoted(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\", "\x00\x1f", "ü", "\xff\xfe", "😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendQuoted(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q -> %s: %v", s, b, err)
		}
		if back != string([]rune(s)) {
			t.Fatalf("%q -> %s -> %q", s, b, back)
		}
	})
}
