package main

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Loops for benchmarks: each runs N iterations and reports the mean time of
// one iteration, so process start-up is not measured.
func init() {
	actions["loop-open"] = action{"DIR N: N times openat(DIR/f, O_RDONLY|O_CREAT) and close", 2, loopOpen}
	actions["loop-getppid"] = action{"N: N times getppid (a syscall no rule selects)", 1, loopGetppid}
	actions["loop-close"] = action{"N: N times close(-1), which fails", 1, func(a []string) (map[string]any, error) {
		n, err := count(a[0])
		if err != nil {
			return nil, err
		}
		return timed(n, func() error {
			unix.Close(-1)
			return nil
		})
	}}
	actions["loop-open-missing"] = action{"DIR N: N times openat(DIR/missing), which fails", 2, func(a []string) (map[string]any, error) {
		n, err := count(a[1])
		if err != nil {
			return nil, err
		}
		path := filepath.Join(a[0], "missing")
		return timed(n, func() error {
			unix.Open(path, unix.O_RDONLY, 0)
			return nil
		})
	}}
	actions["loop-exec"] = action{"N: N times run /bin/true and wait", 1, loopExec}
}

func count(s string) (int, error) { return strconv.Atoi(s) }

func timed(n int, f func() error) (map[string]any, error) {
	start := time.Now()
	for range n {
		if err := f(); err != nil {
			return nil, err
		}
	}
	el := time.Since(start)
	return map[string]any{"n": n, "ns_per_iter": float64(el.Nanoseconds()) / float64(n)}, nil
}

func loopOpen(a []string) (map[string]any, error) {
	n, err := count(a[1])
	if err != nil {
		return nil, err
	}
	path := filepath.Join(a[0], "f")
	return timed(n, func() error {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CREAT, 0o600)
		if err != nil {
			return err
		}
		return unix.Close(fd)
	})
}

func loopGetppid(a []string) (map[string]any, error) {
	n, err := count(a[0])
	if err != nil {
		return nil, err
	}
	return timed(n, func() error {
		unix.Getppid()
		return nil
	})
}

func loopExec(a []string) (map[string]any, error) {
	n, err := count(a[0])
	if err != nil {
		return nil, err
	}
	return timed(n, func() error { return exec.Command("/bin/true").Run() })
}
