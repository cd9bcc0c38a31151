package main

import (
	"errors"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func init() {
	actions["connect-unmapped"] = action{": connect to 127.0.0.1, the address in a page dropped while the connect waits", 0,
		func([]string) (map[string]any, error) { return connectUnmapped(unix.AF_INET) }}
	actions["connect6-unmapped"] = action{": connect to [::1], the address in a page dropped while the connect waits", 0,
		func([]string) (map[string]any, error) { return connectUnmapped(unix.AF_INET6) }}
}

// connectUnmapped makes a connect whose sockaddr the kernel has read on
// entry but which is no longer mapped when the call returns: the address
// lies alone in an anonymous page, the listener's accept queue is full so
// the first SYN is dropped, and while the connect waits for its
// retransmission the page is dropped (MADV_DONTNEED) and the queue freed.
// A tracepoint at exit cannot fault the page back in.
func connectUnmapped(family int) (map[string]any, error) {
	// Backlog 0: one established connection fills the queue.
	lfd, addr, err := listenLoopback(family, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(lfd)
	filler, err := unix.Socket(family, unix.SOCK_STREAM, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(filler)
	if err := unix.Connect(filler, addr); err != nil {
		return nil, err
	}

	page, err := unix.Mmap(-1, 0, os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, err
	}
	defer unix.Munmap(page)
	var port int
	size := uintptr(unix.SizeofSockaddrInet4)
	switch a := addr.(type) {
	case *unix.SockaddrInet4:
		port = a.Port
		raw := (*unix.RawSockaddrInet4)(unsafe.Pointer(&page[0]))
		raw.Family, raw.Addr = unix.AF_INET, a.Addr
	case *unix.SockaddrInet6:
		port, size = a.Port, unix.SizeofSockaddrInet6
		raw := (*unix.RawSockaddrInet6)(unsafe.Pointer(&page[0]))
		raw.Family, raw.Addr = unix.AF_INET6, a.Addr
	}
	// sin_port and sin6_port: big endian, at offset 2.
	page[2], page[3] = byte(port>>8), byte(port)

	fd, err := unix.Socket(family, unix.SOCK_STREAM, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var dropped atomic.Bool
	freed := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		err := unix.Madvise(page, unix.MADV_DONTNEED)
		dropped.Store(err == nil)
		afd, _, aerr := unix.Accept4(lfd, 0)
		if aerr == nil {
			unix.Close(afd)
		}
		freed <- errors.Join(err, aerr)
	}()
	start := time.Now()
	_, _, errno := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&page[0])), size)
	waited := time.Since(start)
	// Read before waiting for the goroutine, which has always dropped the
	// page by the time it is done.
	droppedFirst := dropped.Load()
	if err := <-freed; err != nil {
		return nil, err
	}
	if errno != 0 {
		return nil, errno
	}
	if !droppedFirst {
		return nil, errors.New("connect returned before its address's page was dropped")
	}
	return map[string]any{"fd": fd, "filler_fd": filler, "port": port, "waited_ms": waited.Milliseconds()}, nil
}
