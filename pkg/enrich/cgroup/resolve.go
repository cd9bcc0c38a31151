package cgroup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrNotFound is returned when no cgroup has the requested id (it was
// removed, or never existed).
var ErrNotFound = errors.New("cgroup: no cgroup with this id")

// fileidKernfs is the file-handle type of kernfs (FILEID_KERNFS): the handle
// of a cgroup2 directory is its 64-bit cgroup id.
const fileidKernfs = 0xfe

// Resolver maps cgroup ids to paths under one cgroup2 mount. It opens the
// cgroup directly by its file handle when it may (CAP_DAC_READ_SEARCH), and
// otherwise searches the hierarchy for the directory with that inode. Safe for
// concurrent use; it is meant for the slow path, never per event.
type Resolver struct {
	root string

	mu       sync.Mutex
	mountFD  int
	byHandle bool
}

// NewResolver returns a Resolver for the cgroup2 file system mounted at root
// (see Mount).
func NewResolver(root string) (*Resolver, error) {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cgroup: open %s: %w", root, err)
	}
	return &Resolver{root: filepath.Clean(root), mountFD: fd, byHandle: true}, nil
}

// Root returns the mount point the resolver works under.
func (r *Resolver) Root() string { return r.root }

// Close releases the mount's file descriptor.
func (r *Resolver) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mountFD < 0 {
		return nil
	}
	err := unix.Close(r.mountFD)
	r.mountFD = -1
	return err
}

// Path returns the path of the cgroup with the given id relative to the mount,
// starting with "/" ("/" itself for the root cgroup).
func (r *Resolver) Path(id uint64) (string, error) {
	r.mu.Lock()
	useHandle, mfd := r.byHandle, r.mountFD
	r.mu.Unlock()
	if useHandle && mfd >= 0 {
		p, err := r.pathByHandle(mfd, id)
		switch {
		case err == nil:
			return p, nil
		case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL):
			r.mu.Lock()
			r.byHandle = false
			r.mu.Unlock()
		case errors.Is(err, unix.ESTALE) || errors.Is(err, unix.ENOENT):
			return "", ErrNotFound
		default:
			return "", err
		}
	}
	return r.pathByWalk(id)
}

func (r *Resolver) pathByHandle(mfd int, id uint64) (string, error) {
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], id)
	fd, err := unix.OpenByHandleAt(mfd, unix.NewFileHandle(fileidKernfs, b[:]), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_PATH)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	abs, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return "", err
	}
	return r.relative(abs)
}

// pathByWalk searches the hierarchy for the directory whose inode is id.
func (r *Resolver) pathByWalk(id uint64) (string, error) {
	var found string
	err := filepath.WalkDir(r.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == r.root {
				return err
			}
			return nil // a cgroup removed under our feet
		}
		if !d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Ino == id {
			found = p
			return filepath.SkipAll
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if found == "" {
		return "", ErrNotFound
	}
	return r.relative(found)
}

func (r *Resolver) relative(abs string) (string, error) {
	rel, ok := strings.CutPrefix(abs, r.root)
	if !ok || (rel != "" && rel[0] != '/') {
		return "", fmt.Errorf("cgroup: %s is not under %s", abs, r.root)
	}
	if rel == "" {
		rel = "/"
	}
	return rel, nil
}

// ID returns the cgroup id of the cgroup at path (relative to the mount, or
// absolute under it): the inode number of its directory.
func (r *Resolver) ID(path string) (uint64, error) {
	if !strings.HasPrefix(path, r.root+"/") && path != r.root {
		path = filepath.Join(r.root, path)
	}
	return DirID(path)
}

// DirID returns the cgroup id of the cgroup directory at the absolute path p.
func DirID(p string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}
