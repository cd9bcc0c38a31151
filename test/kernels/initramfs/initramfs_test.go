package initramfs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/pkg/testutil"
)

func build(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.MTime = 0x6a000000
	for _, err := range []error{
		w.Dir("bin", 0o755),
		w.File("/bin/hello", 0o755, []byte("#!/bin/sh\necho hi\n")),
		w.Symlink("bin/sh", "hello"),
		w.File("odd", 0o644, []byte("x")),
		w.Dir("dev", 0o755),
		w.CharDev("dev/console", 0o600, 5, 1),
		w.Close(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestLayout(t *testing.T) {
	b := build(t)
	if len(b)%4 != 0 {
		t.Errorf("archive of %d bytes is not 4-aligned", len(b))
	}
	// The first header: magic, inode 1, directory mode 040755, nlink 2,
	// size 0, name "bin" (4 bytes with its NUL).
	want := "070701" + "00000001" + "000041ed" + "00000000" + "00000000" + "00000002" + "6a000000" + "00000000" +
		"00000000" + "00000000" + "00000000" + "00000000" + "00000004" + "00000000" + "bin\x00"
	if got := string(b[:len(want)]); got != want {
		t.Errorf("first entry\n got %q\nwant %q", got, want)
	}
	if !bytes.Contains(b, []byte("TRAILER!!!\x00")) {
		t.Error("no trailer")
	}
}

// TestExtract unpacks the archive with a real cpio (busybox's, as the
// kernel matrix fetches it, or the system's) and compares the tree.
func TestExtract(t *testing.T) {
	cpio := os.Getenv("VIGIL_CPIO")
	if cpio == "" {
		cpio = testutil.RequireBinary(t, "cpio")
	}
	dir := t.TempDir()
	cmd := exec.Command(cpio, "-i", "-d", "-m", "--no-absolute-filenames")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(build(t))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "bin/hello"))
	if err != nil || string(data) != "#!/bin/sh\necho hi\n" {
		t.Errorf("bin/hello: %q %v", data, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "bin/hello")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("bin/hello mode: %v %v", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "odd")); err != nil || fi.ModTime().Unix() != 0x6a000000 {
		t.Errorf("odd mtime: %v %v", fi, err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "bin/sh")); err != nil || target != "hello" {
		t.Errorf("bin/sh -> %q %v", target, err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "odd")); err != nil || string(data) != "x" {
		t.Errorf("odd: %q %v", data, err)
	}
}

func FuzzWriter(f *testing.F) {
	f.Add("a/b", []byte("data"))
	f.Add("", []byte{})
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		err := w.File(name, 0o644, data)
		if err == nil {
			err = w.Close()
		}
		if err == nil && buf.Len()%4 != 0 {
			t.Fatalf("archive of %d bytes is not 4-aligned", buf.Len())
		}
	})
}
