package capture

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

func writeFile(t testing.TB, h Header, state string, recs ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteState(json.RawMessage(state)); err != nil {
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
	if w.Records() != uint64(len(recs)) {
		t.Fatalf("Records = %d", w.Records())
	}
	return buf.Bytes()
}

func readAll(r *Reader) ([][]byte, error) {
	var out [][]byte
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, append([]byte(nil), rec...))
	}
}

func TestRoundTrip(t *testing.T) {
	h := Header{Arch: "arm64", BootOffset: -12345}
	recs := [][]byte{{1, 2, 3}, {}, bytes.Repeat([]byte{9}, 5000)}
	b := writeFile(t, h, `{"version":1}`, recs...)
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r.Header() != h || string(r.State()) != `{"version":1}` {
		t.Fatalf("header %+v state %s", r.Header(), r.State())
	}
	got, err := readAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("%d records, want %d", len(got), len(recs))
	}
	for i := range recs {
		if !bytes.Equal(got[i], recs[i]) {
			t.Errorf("record %d differs", i)
		}
	}
}

func TestWriterOrder(t *testing.T) {
	w, _ := NewWriter(io.Discard, Header{Arch: "amd64"})
	if err := w.WriteRecord([]byte{1}); err == nil {
		t.Error("record before state accepted")
	}
	if err := w.WriteState(nil); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteState(nil); err == nil {
		t.Error("second state accepted")
	}
	if _, err := NewWriter(io.Discard, Header{}); err == nil {
		t.Error("empty arch accepted")
	}
}

func TestCorrupt(t *testing.T) {
	good := writeFile(t, Header{Arch: "amd64", BootOffset: 7}, `{}`, []byte("abcdef"), []byte("gh"))
	// magic 8 + version 2 + archlen 1 + "amd64" 5 + offset 8 = 24; state
	// length 4 + 2 bytes = 30; first record length at 30, bytes at 34..40;
	// second record length at 40, bytes at 44..46.
	hugeRec := append([]byte(nil), good...)
	copy(hugeRec[30:], []byte{0xff, 0xff, 0xff, 0x7f})
	badVersion := append([]byte(nil), good...)
	badVersion[8] = 9
	tests := []struct {
		name string
		b    []byte
		off  int64
		msg  string
	}{
		{"empty", nil, 0, "truncated header"},
		{"bad magic", append([]byte("NOTVIGIL"), good[8:]...), 0, "bad magic"},
		{"bad version", badVersion, 8, "unsupported version 9"},
		{"truncated arch", good[:14], 14, "truncated header"},
		{"truncated state", good[:28], 28, "truncated state of 2 bytes starting at offset 24"},
		{"truncated record length", good[:42], 42, "truncated record length"},
		{"truncated record", good[:37], 37, "truncated record of 6 bytes starting at offset 30"},
		{"record too long", hugeRec, 30, "record length 2147483647 exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tt.b))
			if err == nil {
				_, err = readAll(r)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err %v, want *FormatError", err)
			}
			if fe.Offset != tt.off || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("got offset %d %q, want %d %q", fe.Offset, fe.Msg, tt.off, tt.msg)
			}
			if !strings.Contains(err.Error(), "offset") {
				t.Errorf("message %q does not name the offset", err)
			}
		})
	}
}

func FuzzReader(f *testing.F) {
	f.Add(writeFile(f, Header{Arch: "amd64"}, `{}`, []byte("abc")))
	f.Add(writeFile(f, Header{Arch: "arm64", BootOffset: 1}, `null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b))
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Offset < 0 || fe.Offset > int64(len(b)) {
				t.Fatalf("err %v", err)
			}
			return
		}
		total := r.Offset()
		for {
			rec, err := r.Next()
			if err == io.EOF {
				if r.Offset() != int64(len(b)) {
					t.Fatalf("EOF at offset %d of %d", r.Offset(), len(b))
				}
				return
			}
			if err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) || fe.Offset > int64(len(b)) {
					t.Fatalf("err %v", err)
				}
				return
			}
			total += 4 + int64(len(rec))
			if total != r.Offset() {
				t.Fatalf("offset %d, want %d", r.Offset(), total)
			}
		}
	})
}
