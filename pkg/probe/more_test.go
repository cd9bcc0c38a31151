package probe

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/pkg/event"
)

// TestFileAndCredentialEvents covers the remaining syscall families with
// one real call each.
func TestFileAndCredentialEvents(t *testing.T) {
	p := openProbe(t, DefaultConfig(), event.AllTypes()...)
	s := startSession(t, p)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.WriteFile(a, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		typ  event.Type
		want event.Args
	}{
		{[]string{"rename", a, b}, event.TypeRenameat, event.Args{Path: a, Path2: b, DirFd: -100, DirFd2: -100}},
		{[]string{"chmod", b}, event.TypeFchmodat, event.Args{Path: b, DirFd: -100, Mode: 0o4755}},
		{[]string{"chown", b}, event.TypeFchownat, event.Args{Path: b, DirFd: -100}},
		{[]string{"unlink", b}, event.TypeUnlinkat, event.Args{Path: b, DirFd: -100}},
		{[]string{"mkdir", a}, event.TypeMkdirat, event.Args{Path: a, DirFd: -100, Mode: 0o750}},
		{[]string{"chdir", a}, event.TypeChdir, event.Args{Path: a, DirFd: -100}},
		{[]string{"unshare"}, event.TypeUnshare, event.Args{Flags: unix.CLONE_NEWUTS}},
	}
	for _, tt := range tests {
		t.Run(tt.typ.String(), func(t *testing.T) {
			_, pid := s.runAction(t, tt.args...)
			ev := one(t, s.of(pid), tt.typ, nil)
			checkArgs(t, ev, tt.want)
			if ev.Ret != 0 {
				t.Errorf("ret %d", ev.Ret)
			}
			if tt.typ == event.TypeFchownat && ev.Args.IDs != [3]uint32{1234, 5678, 0} {
				t.Errorf("chown ids %v", ev.Args.IDs)
			}
		})
	}
	t.Run("mount and umount2", func(t *testing.T) {
		mnt := filepath.Join(dir, "mnt")
		if err := os.Mkdir(mnt, 0o755); err != nil {
			t.Fatal(err)
		}
		_, pid := s.runAction(t, "mount-tmpfs", mnt)
		evs := s.of(pid)
		checkArgs(t, one(t, evs, event.TypeMount, nil), event.Args{Path: mnt, Path2: "vigil", Name: "tmpfs", Flags: unix.MS_NOSUID, DirFd: -100, DirFd2: -100})
		checkArgs(t, one(t, evs, event.TypeUmount2, nil), event.Args{Path: mnt, Flags: unix.MNT_DETACH, DirFd: -100})
	})
	t.Run("bpf", func(t *testing.T) {
		res, pid := s.runAction(t, "bpf-fail")
		ev := one(t, s.of(pid), event.TypeBpf, func(e *event.Event) bool { return e.Ret < 0 })
		if ev.Args.Cmd != 0 || ev.Ret != -num(t, res, "errno") {
			t.Errorf("cmd %d ret %d, want 0 -%v", ev.Args.Cmd, ev.Ret, res["errno"])
		}
	})
	t.Run("setns", func(t *testing.T) {
		res, pid := s.runAction(t, "setns-uts")
		ev := one(t, s.of(pid), event.TypeSetns, nil)
		checkArgs(t, ev, event.Args{Fd: int32(num(t, res, "fd")), Flags: unix.CLONE_NEWUTS})
	})
	t.Run("sendmsg", func(t *testing.T) {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		port := pc.LocalAddr().(*net.UDPAddr).Port
		res, pid := s.runAction(t, "sendmsg-udp", strconv.Itoa(port))
		ev := one(t, s.of(pid), event.TypeSendmsg, nil)
		checkArgs(t, ev, event.Args{Fd: int32(num(t, res, "fd")), Addr: event.Sockaddr{Family: event.AFInet, Addr: netip.MustParseAddr("127.0.0.1"), Port: uint16(port)}})
		if ev.Ret != 5 {
			t.Errorf("ret %d, want 5 bytes sent", ev.Ret)
		}
	})
	t.Run("setresuid", func(t *testing.T) {
		_, pid := s.runAction(t, "setuid", "0")
		ev := one(t, s.of(pid), event.TypeSetresuid, nil)
		if ev.Args.IDs != [3]uint32{0, 0, 0} || ev.Ret != 0 {
			t.Errorf("ids %v ret %d", ev.Args.IDs, ev.Ret)
		}
	})
}

// TestExecUpperLayer executes a program from an overlayfs lower layer and
// one written through the mount (so in the upper layer).
func TestExecUpperLayer(t *testing.T) {
	p := openProbe(t, DefaultConfig())
	s := startSession(t, p)
	root := t.TempDir()
	lower, upper, work, merged := filepath.Join(root, "lower"), filepath.Join(root, "upper"), filepath.Join(root, "work"), filepath.Join(root, "merged")
	for _, d := range []string{lower, upper, work, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin, err := os.ReadFile(actionsBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lower, "lower-actions"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Fatalf("mount overlay: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(merged, unix.MNT_DETACH) })
	if err := os.WriteFile(filepath.Join(merged, "upper-actions"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		upper bool
	}{{"lower-actions", false}, {"upper-actions", true}} {
		t.Run(tt.name, func(t *testing.T) {
			exe := filepath.Join(merged, tt.name)
			_, pid := s.runExe(t, exe, "noop")
			ev := one(t, s.of(pid), event.TypeExecve, nil)
			if ev.Args.ExeUpperLayer != tt.upper || ev.Args.ExePath != exe || ev.Args.ExeFromMemfd {
				t.Errorf("upper %v exe %q memfd %v, want upper %v exe %q", ev.Args.ExeUpperLayer, ev.Args.ExePath, ev.Args.ExeFromMemfd, tt.upper, exe)
			}
		})
	}
}

// TestHotReload changes the syscall set while the probe runs.
func TestHotReload(t *testing.T) {
	for _, mode := range []string{AttachPerSyscall, AttachGeneric} {
		t.Run(mode, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Attach = mode
			p := openProbe(t, cfg, event.TypeOpenat)
			s := startSession(t, p)
			dir := t.TempDir()
			_, pid := s.runAction(t, "mkdir", filepath.Join(dir, "x"))
			if n := len(only(s.of(pid), event.TypeMkdirat, nil)); n != 0 {
				t.Fatalf("%d mkdirat events before selecting it", n)
			}
			if err := p.SetEventTypes([]event.Type{event.TypeMkdirat}); err != nil {
				t.Fatal(err)
			}
			if got := p.EventTypes(); !slices.Contains(got, event.TypeMkdirat) || slices.Contains(got, event.TypeOpenat) ||
				!slices.Contains(got, event.TypeExecve) {
				t.Errorf("EventTypes = %v", got)
			}
			_, pid = s.runAction(t, "mkdir", filepath.Join(dir, "y"))
			evs := s.of(pid)
			one(t, evs, event.TypeMkdirat, nil)
			if n := len(only(evs, event.TypeOpenat, nil)); n != 0 {
				t.Errorf("%d openat events after deselecting it", n)
			}
			one(t, evs, event.TypeExecve, nil) // lifecycle stays on
		})
	}
}

// TestSelfSkipped checks that the agent's own syscalls are never recorded.
func TestSelfSkipped(t *testing.T) {
	p := openProbe(t, DefaultConfig(), event.TypeOpenat, event.TypeMkdirat)
	s := startSession(t, p)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, pid := s.runAction(t, "mkdir", filepath.Join(dir, "other"))
	one(t, s.of(pid), event.TypeMkdirat, nil)
	if evs := s.of(uint32(os.Getpid())); len(evs) != 0 {
		t.Errorf("%d events of the agent itself, first %+v", len(evs), evs[0])
	}
}

// TestKernelDropsCounted fills a one-page ring buffer that nobody reads and
// checks that the kernel counts what it could not write.
func TestKernelDropsCounted(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RingBufferSize = os.Getpagesize()
	p := openProbe(t, cfg, event.TypeOpenat, event.TypeClose)
	runLoop(t, "loop-open", t.TempDir(), "2000")
	st := p.Stats()
	if st.KernelDrops < 1000 || st.Records != 0 {
		t.Errorf("stats %+v, want at least 1000 kernel drops and no record read", st)
	}
}

// TestExecLongArgv checks that an argument vector of more than 10 KiB is
// recorded whole.
func TestExecLongArgv(t *testing.T) {
	p := openProbe(t, DefaultConfig())
	s := startSession(t, p)
	args := []string{"noop"}
	for i := range 100 {
		args = append(args, strconv.Itoa(i)+strings.Repeat("x", 100))
	}
	_, pid := s.runAction(t, args...)
	ev := one(t, s.of(pid), event.TypeExecve, nil)
	if want := append([]string{actionsBinary(t)}, args...); !slices.Equal(ev.Args.Argv, want) {
		t.Errorf("argv of %d arguments, want %d", len(ev.Args.Argv), len(want))
	}
}
