package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/capture"
	"github.com/vigilsec/vigil/pkg/event"
)

var updateReplay = flag.Bool("update-replay", false, "rewrite testdata/replay.golden")

// testRecord lays out a record as bpf/include/record.h does.
func testRecord(kind byte, syscall int32, ret int64, args [6]uint64, parts ...[]byte) []byte {
	b := make([]byte, event.HeaderSize)
	le := binary.LittleEndian
	b[0] = kind
	le.PutUint16(b[2:], uint16(len(parts)/2))
	le.PutUint64(b[8:], 2_000_000_000) // boot ns
	le.PutUint32(b[16:], 42)           // pid
	le.PutUint32(b[20:], 42)           // tid
	le.PutUint32(b[24:], 1)            // ppid
	le.PutUint32(b[44:], 0xffffffff)   // loginuid
	le.PutUint32(b[76:], uint32(syscall))
	le.PutUint64(b[80:], uint64(ret))
	for i, a := range args {
		le.PutUint64(b[88+8*i:], a)
	}
	copy(b[136:], "sh")
	for i := 0; i+1 < len(parts); i += 2 {
		b = append(b, parts[i][0], 0, byte(len(parts[i+1])), byte(len(parts[i+1])>>8))
		b = append(b, parts[i+1]...)
	}
	return b
}

func writeTestCapture(t *testing.T, recs ...[]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.vcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := capture.NewWriter(f, capture.Header{Arch: "amd64", BootOffset: 1_700_000_000_000_000_000})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteState([]byte(`{"version":1,"processes":[]}`)); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.WriteRecord(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReplayGolden(t *testing.T) {
	path := writeTestCapture(t,
		testRecord(2, 59, 0, [6]uint64{}, []byte{21}, []byte("/bin/sh"), []byte{18}, []byte("sh\x00-c\x00id\x00"),
			[]byte{19}, []byte("sh\x00bin\x00")),
		testRecord(1, 257, 3, [6]uint64{0xffffffffffffff9c, 0, 0x80000}, []byte{2}, []byte("/etc/passwd")),
		testRecord(1, 42, -111, [6]uint64{3, 0, 16}, []byte{16}, []byte{2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}),
		testRecord(4, -1, 0, [6]uint64{}),
	)
	var stdout, stderr bytes.Buffer
	if code := dispatch([]string{"replay", "--state", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	const golden = "testdata/replay.golden"
	if *updateReplay {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, stdout.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stdout.Bytes(), want) {
		t.Errorf("replay output differs from %s (-update-replay to accept):\n%s", golden, stdout.String())
	}
}

func TestReplayErrors(t *testing.T) {
	good := writeTestCapture(t, testRecord(1, 3, 0, [6]uint64{4}), testRecord(1, 3, 0, [6]uint64{5}))
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(t.TempDir(), "truncated.vcap")
	if err := os.WriteFile(truncated, data[:len(data)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	malformed := writeTestCapture(t, testRecord(1, 3, 0, [6]uint64{4}), []byte{1, 2, 3})
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
		lines  int
	}{
		{"no file", []string{"replay"}, 2, "usage", 0},
		{"missing file", []string{"replay", "/nonexistent.vcap"}, 1, "no such file", 0},
		{"truncated", []string{"replay", truncated}, 1, "offset", 1},
		{"malformed record", []string{"replay", malformed}, 1, "1 malformed records skipped", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := dispatch(tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("exit %d stderr %q, want %d containing %q", code, stderr.String(), tt.code, tt.stderr)
			}
			if n := strings.Count(stdout.String(), "\n"); n != tt.lines {
				t.Errorf("%d lines printed, want %d", n, tt.lines)
			}
		})
	}
}
