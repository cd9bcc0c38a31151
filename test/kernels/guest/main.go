// Command guest runs the kernel suite (test/kernels/suite) inside a kernel
// matrix VM. Run as /init (pid 1) of the initramfs that test/kernels/matrix
// builds, it mounts what the probe needs, brings up loopback, runs the
// suite, prints its lines on the console and powers the VM off. Run as any
// other pid it only runs the suite on the running kernel (as root):
//
//	guest -object pkg/probe/vigil_x86_bpfel.o -actions /path/to/actions
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/test/kernels/suite"
)

func main() {
	object := flag.String("object", "/vigil.o", "the probe's BPF object for this architecture")
	actions := flag.String("actions", "/bin/actions", "the test/actions binary")
	tmp := flag.String("tmp", "/tmp/vigil-kernels", "directory for the files the checks create")
	flag.Parse()

	init := os.Getpid() == 1
	if init {
		defer powerOff()
		if _, err := os.Stat("/proc/self/mountinfo"); err != nil {
			if err := setup(); err != nil {
				fmt.Printf("%s{\"ok\":false,\"failures\":[%q]}\n", suite.ResultPrefix, "guest setup: "+err.Error())
				return
			}
			// Packages initialised before main may already have read
			// /proc and cached the failure (cilium/ebpf caches
			// mountinfo): start afresh, still as pid 1, now that
			// everything is mounted.
			err := unix.Exec(os.Args[0], os.Args, os.Environ())
			fmt.Printf("%s{\"ok\":false,\"failures\":[%q]}\n", suite.ResultPrefix, "guest re-exec: "+err.Error())
			return
		}
	}
	ok := run(suite.Config{Object: *object, Actions: *actions, TempDir: *tmp})
	if !init && !ok {
		os.Exit(1)
	}
}

// run runs the suite and turns a panic into a failed result line, so that
// the host always reads a verdict.
func run(cfg suite.Config) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Printf("%s{\"ok\":false,\"failures\":[%q]}\n", suite.ResultPrefix, fmt.Sprintf("panic: %v\n%s", p, debug.Stack()))
			ok = false
		}
	}()
	if err := os.MkdirAll(cfg.TempDir, 0o755); err != nil {
		fmt.Printf("%s{\"ok\":false,\"failures\":[%q]}\n", suite.ResultPrefix, err.Error())
		return false
	}
	return suite.Run(cfg, os.Stdout).OK
}
