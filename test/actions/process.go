package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func init() {
	actions["noop"] = action{": do nothing", 0, func([]string) (map[string]any, error) { return nil, nil }}
	actions["sleep"] = action{"SECONDS: sleep", 1, func(a []string) (map[string]any, error) {
		d, err := time.ParseDuration(a[0] + "s")
		time.Sleep(d)
		return nil, err
	}}
	actions["memfd-exec"] = action{"[ARGS...]: copy this program into a memfd and execveat it (AT_EMPTY_PATH) as `noop ARGS...`", 0, memfdExec}
	actions["fork-chain"] = action{"N: start a child that runs fork-chain N-1, down to 0", 1, forkChain}
	actions["ptrace-attach"] = action{": start a sleeping child, PTRACE_ATTACH to it, detach, kill", 0, ptraceAttach}
	actions["ptrace-traceme"] = action{"[ARGS...]: start `traceme-self ARGS...`, which calls ptrace(PTRACE_TRACEME) and exits; act as its tracer until then", 0, ptraceTraceme}
	actions["traceme-self"] = action{"[ARGS...]: ptrace(PTRACE_TRACEME), then exit (run by ptrace-traceme; ARGS only mark it)", 0, func([]string) (map[string]any, error) {
		_, _, e := unix.RawSyscall(unix.SYS_PTRACE, unix.PTRACE_TRACEME, 0, 0)
		return map[string]any{"errno": int(e)}, errOrNil(e)
	}}
	actions["spawn"] = action{"PROG [ARGS...]: run PROG with ARGS as a child and wait for it", 1, func(a []string) (map[string]any, error) {
		cmd := exec.Command(a[0], a[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		err := cmd.Run()
		return map[string]any{"child": cmd.Process.Pid, "exit": cmd.ProcessState.ExitCode()}, err
	}}
	actions["finit-module"] = action{": finit_module(/dev/null, \"vigil=1\", 0), which fails", 0, func([]string) (map[string]any, error) {
		f, err := os.Open("/dev/null")
		if err != nil {
			return nil, err
		}
		defer f.Close()
		err = unix.FinitModule(int(f.Fd()), "vigil=1", 0)
		return map[string]any{"fd": f.Fd(), "errno": errnoOf(err)}, nil
	}}
	actions["setuid"] = action{"UID: setresuid(UID, UID, UID) on one thread", 1, func(a []string) (map[string]any, error) {
		uid, err := strconv.Atoi(a[0])
		if err != nil {
			return nil, err
		}
		runtime.LockOSThread()
		_, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid))
		return map[string]any{"errno": errnoOf(errOrNil(e))}, nil
	}}
	actions["mount-tmpfs"] = action{"DIR: mount a tmpfs on DIR, then umount2(DIR, MNT_DETACH)", 1, func(a []string) (map[string]any, error) {
		if err := unix.Mount("vigil", a[0], "tmpfs", unix.MS_NOSUID, "size=1m"); err != nil {
			return nil, err
		}
		return nil, unix.Unmount(a[0], unix.MNT_DETACH)
	}}
	actions["bpf-fail"] = action{": bpf(BPF_MAP_CREATE) with an invalid attribute, which fails", 0, func([]string) (map[string]any, error) {
		var attr [64]byte
		_, _, e := unix.Syscall(unix.SYS_BPF, 0, uintptr(unsafe.Pointer(&attr[0])), uintptr(len(attr)))
		return map[string]any{"errno": int(e)}, nil
	}}
	actions["setns-uts"] = action{": setns(open(/proc/self/ns/uts), CLONE_NEWUTS) (its own namespace)", 0, func([]string) (map[string]any, error) {
		fd, err := unix.Open("/proc/self/ns/uts", unix.O_RDONLY, 0)
		if err != nil {
			return nil, err
		}
		defer unix.Close(fd)
		runtime.LockOSThread()
		return map[string]any{"fd": fd}, unix.Setns(fd, unix.CLONE_NEWUTS)
	}}
	actions["unshare"] = action{": unshare(CLONE_NEWUTS) on a locked thread", 0, func([]string) (map[string]any, error) {
		runtime.LockOSThread() // the thread dies with the namespace at exit
		return nil, unix.Unshare(unix.CLONE_NEWUTS)
	}}
}

func errOrNil(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func errnoOf(err error) int {
	if e, ok := err.(unix.Errno); ok {
		return int(e)
	}
	return 0
}

func memfdExec(args []string) (map[string]any, error) {
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	fd, err := unix.MemfdCreate("vigil-actions", 0)
	if err != nil {
		return nil, err
	}
	if _, err := unix.Write(fd, self); err != nil {
		return nil, err
	}
	// Print before exec: the new image prints its own line.
	fmt.Printf("{\"memfd\":%d,\"exec_pid\":%d}\n", fd, os.Getpid())
	path, err := unix.BytePtrFromString("")
	if err != nil {
		return nil, err
	}
	argv, err := cStrings(append([]string{"actions", "noop"}, args...))
	if err != nil {
		return nil, err
	}
	envv, err := cStrings(os.Environ())
	if err != nil {
		return nil, err
	}
	_, _, e := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(path)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])), unix.AT_EMPTY_PATH, 0)
	return nil, fmt.Errorf("execveat: %w", e)
}

func forkChain(a []string) (map[string]any, error) {
	n, err := strconv.Atoi(a[0])
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, nil
	}
	cmd := exec.Command("/proc/self/exe", "fork-chain", strconv.Itoa(n-1))
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, err
	}
	return map[string]any{"child": cmd.Process.Pid, "depth": n}, nil
}

func ptraceAttach([]string) (map[string]any, error) {
	cmd := exec.Command("/proc/self/exe", "sleep", "30")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer cmd.Process.Kill()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pid := cmd.Process.Pid
	if err := unix.PtraceAttach(pid); err != nil {
		return nil, err
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
		return nil, err
	}
	if err := unix.PtraceDetach(pid); err != nil {
		return nil, err
	}
	return map[string]any{"target": pid}, nil
}

// ptraceTraceme runs traceme-self as a child. Once the child has called
// PTRACE_TRACEME this process is its tracer: every stop it reports
// (signals the Go runtime sends itself) is continued with its signal, from
// the thread that started it, until the child exits.
func ptraceTraceme(args []string) (map[string]any, error) {
	self, err := os.Executable() // the child keeps this program's name
	if err != nil {
		return nil, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd := exec.Command(self, append([]string{"traceme-self"}, args...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pid := cmd.Process.Pid
	for {
		var ws unix.WaitStatus
		if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
			return nil, err
		}
		switch {
		case ws.Exited():
			if ws.ExitStatus() != 0 {
				return nil, fmt.Errorf("traceme-self exited %d", ws.ExitStatus())
			}
			return map[string]any{"child": pid}, nil
		case ws.Signaled():
			return nil, fmt.Errorf("traceme-self killed by %v", ws.Signal())
		case ws.Stopped():
			if err := unix.PtraceCont(pid, int(ws.StopSignal())); err != nil {
				return nil, err
			}
		}
	}
}

// cStrings returns a NULL-terminated array of C strings.
func cStrings(ss []string) ([]*byte, error) {
	out := make([]*byte, 0, len(ss)+1)
	for _, s := range ss {
		p, err := unix.BytePtrFromString(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return append(out, nil), nil
}
