package main

import (
	"golang.org/x/sys/unix"
)

func init() {
	actions["openat"] = action{"DIR REL: openat(dirfd of DIR, REL, O_WRONLY|O_CREAT, 0640)", 2, openat}
	actions["symlink"] = action{"TARGET LINK: symlink(TARGET, LINK)", 2, func(a []string) (map[string]any, error) {
		return nil, unix.Symlink(a[0], a[1])
	}}
	actions["link"] = action{"OLD NEW: linkat(AT_FDCWD, OLD, AT_FDCWD, NEW, 0)", 2, func(a []string) (map[string]any, error) {
		return nil, unix.Linkat(unix.AT_FDCWD, a[0], unix.AT_FDCWD, a[1], 0)
	}}
	actions["rename"] = action{"OLD NEW: renameat(AT_FDCWD, OLD, AT_FDCWD, NEW)", 2, func(a []string) (map[string]any, error) {
		return nil, unix.Renameat(unix.AT_FDCWD, a[0], unix.AT_FDCWD, a[1])
	}}
	actions["unlink"] = action{"PATH: unlinkat(AT_FDCWD, PATH, 0)", 1, func(a []string) (map[string]any, error) {
		return nil, unix.Unlinkat(unix.AT_FDCWD, a[0], 0)
	}}
	actions["mkdir"] = action{"PATH: mkdirat(AT_FDCWD, PATH, 0750)", 1, func(a []string) (map[string]any, error) {
		return nil, unix.Mkdirat(unix.AT_FDCWD, a[0], 0o750)
	}}
	actions["chmod"] = action{"PATH: fchmodat(AT_FDCWD, PATH, 04755)", 1, func(a []string) (map[string]any, error) {
		return nil, unix.Fchmodat(unix.AT_FDCWD, a[0], 0o4755, 0)
	}}
	actions["chown"] = action{"PATH: fchownat(AT_FDCWD, PATH, 1234, 5678, 0)", 1, func(a []string) (map[string]any, error) {
		return nil, unix.Fchownat(unix.AT_FDCWD, a[0], 1234, 5678, 0)
	}}
	actions["chdir"] = action{"DIR: chdir(DIR)", 1, func(a []string) (map[string]any, error) {
		return nil, unix.Chdir(a[0])
	}}
}

func openat(a []string) (map[string]any, error) {
	dirfd, err := unix.Open(a[0], unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Openat(dirfd, a[1], unix.O_WRONLY|unix.O_CREAT, 0o640)
	if err != nil {
		return nil, err
	}
	unix.Close(fd)
	unix.Close(dirfd)
	return map[string]any{"dirfd": dirfd, "fd": fd}, nil
}
