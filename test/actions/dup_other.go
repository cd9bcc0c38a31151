//go:build !amd64

package main

import "golang.org/x/sys/unix"

// dupOnto calls dup3(oldfd, newfd, 0): arm64 has no dup2.
func dupOnto(oldfd, newfd int) error {
	return unix.Dup3(oldfd, newfd, 0)
}
