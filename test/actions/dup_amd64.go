package main

import "golang.org/x/sys/unix"

// dupOnto calls dup2(oldfd, newfd) itself: the library may use dup3.
func dupOnto(oldfd, newfd int) error {
	_, _, e := unix.Syscall(unix.SYS_DUP2, uintptr(oldfd), uintptr(newfd), 0)
	return errOrNil(e)
}
