package event

import "testing"

// BenchmarkDecode decodes a typical openat record and an exec record.
func BenchmarkDecode(b *testing.B) {
	amd64, _ := SyscallTableFor("amd64")
	recs := map[string][]byte{
		"openat": rec{kind: KindSyscall, syscall: 257, ret: 3, args: [6]uint64{0xffffffffffffff9c, 0, 0x80000},
			parts: []testPart{strPart(1, "/usr/lib/x86_64-linux-gnu/libc.so.6")}}.bytes(),
		"close": rec{kind: KindSyscall, syscall: 3, args: [6]uint64{3}}.bytes(),
		"exec": rec{kind: KindExec, syscall: 59, parts: []testPart{
			{partFilename, []byte("/usr/bin/curl")}, {partArgv, []byte("curl\x00-s\x00https://example.com\x00")},
			{partExe, []byte("curl\x00bin\x00usr\x00")}, {partExeInfo, exeInfo(0, 1, 2)},
		}}.bytes(),
	}
	for name, r := range recs {
		b.Run(name, func(b *testing.B) {
			d := NewDecoder(amd64, 0)
			var ev Event
			b.ReportAllocs()
			for range b.N {
				if err := d.Decode(r, &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
