// Package initramfs writes an uncompressed initramfs: a cpio archive in the
// "newc" format the kernel unpacks at boot.
package initramfs

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// Writer writes the entries of one archive. Directories must be added
// before their contents; Close writes the trailer.
type Writer struct {
	// MTime is the modification time of the entries written next, in
	// Unix seconds (NewWriter sets it to the current time: programs that
	// look at an executable's inode times see real ones).
	MTime int64

	w   *bufio.Writer
	ino uint32
	n   int64 // bytes written, for padding
	err error
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriter(w), ino: 1, MTime: time.Now().Unix()}
}

// Dir adds a directory.
func (w *Writer) Dir(name string, perm fs.FileMode) error {
	return w.entry(name, 0o040000|uint32(perm.Perm()), 0, 0, nil)
}

// File adds a regular file with the given contents.
func (w *Writer) File(name string, perm fs.FileMode, data []byte) error {
	return w.entry(name, 0o100000|uint32(perm.Perm()), 0, 0, data)
}

// Symlink adds a symbolic link name pointing to target.
func (w *Writer) Symlink(name, target string) error {
	return w.entry(name, 0o120777, 0, 0, []byte(target))
}

// CharDev adds a character device node.
func (w *Writer) CharDev(name string, perm fs.FileMode, major, minor uint32) error {
	return w.entry(name, 0o020000|uint32(perm.Perm()), major, minor, nil)
}

// Close writes the trailer and flushes. It does not close the underlying
// writer.
func (w *Writer) Close() error {
	if err := w.entry("TRAILER!!!", 0, 0, 0, nil); err != nil {
		return err
	}
	return w.w.Flush()
}

func (w *Writer) entry(name string, mode, rmajor, rminor uint32, data []byte) error {
	if w.err != nil {
		return w.err
	}
	if name != "TRAILER!!!" {
		name = strings.TrimPrefix(path.Clean("/"+name), "/")
		if name == "" {
			return fmt.Errorf("initramfs: empty name")
		}
	}
	nlink := 1
	if mode&0o170000 == 0o040000 {
		nlink = 2
	}
	ino := w.ino
	if name == "TRAILER!!!" {
		ino = 0
	}
	w.ino++
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		ino, mode, 0, 0, nlink, uint32(w.MTime), len(data), 0, 0, rmajor, rminor, len(name)+1, 0)
	w.write([]byte(hdr))
	w.write([]byte(name))
	w.write([]byte{0})
	w.pad()
	w.write(data)
	w.pad()
	return w.err
}

func (w *Writer) write(b []byte) {
	if w.err != nil {
		return
	}
	n, err := w.w.Write(b)
	w.n += int64(n)
	w.err = err
}

// pad aligns the output to 4 bytes, as newc requires after the name and
// after the data.
func (w *Writer) pad() {
	if r := w.n % 4; r != 0 {
		w.write(make([]byte, 4-r))
	}
}
