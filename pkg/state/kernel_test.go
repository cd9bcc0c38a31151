package state

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/probe"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// TestKernelEvents seeds a table from /proc, records a real shell session
// with the kernel probe and applies its events: a child shell connects to a
// loopback port on its stdin (dup2 onto fd 0), changes directory and execs
// cat on a relative path, two forks below this test. The probe skips its
// own process, so this test's fork is not recorded: its child is first
// seen in its own events' headers.
func TestKernelEvents(t *testing.T) {
	testutil.RequireRoot(t)
	bash := testutil.RequireBinary(t, "bash")
	testutil.RequireBinary(t, "cat")
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "rel.txt"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { time.Sleep(2 * time.Second); c.Close() }()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port

	p, err := probe.Open(probe.DefaultConfig(), zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("open probe: %v", err)
	}
	defer p.Close()
	types := []event.Type{event.TypeClone, event.TypeClone3, event.TypeFork, event.TypeVfork, event.TypeExecve,
		event.TypeOpen, event.TypeOpenat, event.TypeClose, event.TypeDup2, event.TypeDup3, event.TypeSocket,
		event.TypeConnect, event.TypeChdir}
	if err := p.SetEventTypes(types); err != nil {
		t.Fatalf("SetEventTypes: %v", err)
	}
	var (
		mu     sync.Mutex
		events []event.Event
	)
	dec := event.NewDecoder(p.SyscallTable(), event.BootOffset())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- p.Run(ctx, func(rec []byte) {
			var ev event.Event
			if err := dec.Decode(rec, &ev); err != nil {
				t.Errorf("decode: %v", err)
				return
			}
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
		})
	}()
	snap, err := ScanProc("/proc")
	if err != nil {
		t.Fatal(err)
	}
	tab := New(Options{})
	if err := tab.Seed(snap); err != nil {
		t.Fatal(err)
	}

	script := `cd ` + dir + ` && bash -c 'exec 0<>/dev/tcp/127.0.0.1/` + strconv.Itoa(port) + `; cd sub; exec cat rel.txt' >/dev/null; exit 0`
	cmd := exec.Command(bash, "-c", script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	outer := uint32(cmd.Process.Pid)
	time.Sleep(300 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	var dup, open *event.Event
	var inner uint32
	stdin := event.FDUnknown
	for i := range events {
		ev := &events[i]
		tab.Apply(ev)
		switch {
		case ev.Type == event.TypeDup2 && ev.Args.Fd2 == 0 && ev.Proc.Parent != nil && ev.Proc.Parent.Pid == outer:
			dup, inner = ev, ev.Pid
		case (ev.Type == event.TypeOpenat || ev.Type == event.TypeOpen) && ev.Args.Path == "rel.txt" && ev.Pid == inner && inner != 0:
			open = ev
			if fd := tab.FD(inner, 0); fd != nil {
				stdin = fd.Type
			}
		}
	}
	if dup == nil {
		t.Fatalf("no dup2(sock, 0) by a child of %d among %d events", outer, len(events))
	}
	want := "->127.0.0.1:" + strconv.Itoa(port)
	if dup.FD == nil || dup.FD.Num != 0 || dup.FD.Type != event.FDIPv4 || !strings.HasSuffix(FDName(dup.FD), want) || dup.Ret != 0 {
		t.Errorf("dup2 view: fd %+v name %q ret %d", dup.FD, FDName(dup.FD), dup.Ret)
	}
	if open == nil {
		t.Fatal("no open of rel.txt by the inner shell's exec")
	}
	if open.Args.ResolvedPath != filepath.Join(dir, "sub", "rel.txt") || open.FD == nil || open.FD.Name != open.Args.ResolvedPath {
		t.Errorf("open resolved %q, fd %+v", open.Args.ResolvedPath, open.FD)
	}
	pr := open.Proc
	if pr.Name != "cat" || pr.Exe != "cat" || strings.Join(pr.Args, " ") != "rel.txt" || pr.Cwd != filepath.Join(dir, "sub") {
		t.Errorf("cat process = %+v", pr)
	}
	if a := pr.Ancestor(1); a == nil || a.Pid != outer {
		t.Errorf("parent of cat = %+v, want %d", a, outer)
	}
	if a := pr.Ancestor(2); a == nil || a.Pid != uint32(os.Getpid()) {
		t.Errorf("grandparent of cat = %+v, want this test (%d)", a, os.Getpid())
	}
	if stdin != event.FDIPv4 {
		t.Errorf("cat's stdin when it opened rel.txt: %v", stdin)
	}
	t.Logf("dup2: fd.name %s; cat: cmdline %q cwd %s, ancestry %d <- %d <- %d", FDName(dup.FD), pr.CmdLine(), pr.Cwd, pr.Pid, pr.Ancestor(1).Pid, pr.Ancestor(2).Pid)
	t.Logf("%d events; stats %+v", len(events), tab.Stats())
}
