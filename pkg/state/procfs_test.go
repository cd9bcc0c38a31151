package state

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/pkg/testutil"
)

// testCgroup creates a cgroup v2 directory and returns its path. The
// cgroup2 mount is found here by filesystem magic, independently of the
// mountinfo parsing under test.
func testCgroup(t *testing.T) string {
	t.Helper()
	for _, mnt := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		var fs unix.Statfs_t
		if unix.Statfs(mnt, &fs) != nil || fs.Type != unix.CGROUP2_SUPER_MAGIC {
			continue
		}
		dir := filepath.Join(mnt, "vigil-state-test-"+strconv.Itoa(os.Getpid()))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatalf("create test cgroup: %v", err)
		}
		t.Cleanup(func() { _ = os.Remove(dir) })
		return dir
	}
	testutil.Unavailable(t, "no cgroup v2 mount")
	return ""
}

// TestScanProcRealChild starts a real sleep with an open file and a
// connected loopback TCP socket in a cgroup of its own, then checks what
// ScanProc reads of it.
func TestScanProcRealChild(t *testing.T) {
	testutil.RequireRoot(t)
	sleepPath := testutil.RequireBinary(t, "sleep")
	exePath, err := filepath.EvalSymlinks(sleepPath)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dataPath := filepath.Join(dir, "data.txt")
	if err := os.WriteFile(dataPath, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := os.Open(dataPath)
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	conn, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	server := <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	defer server.Close()
	sock, err := conn.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()

	cg := testCgroup(t)
	var cgStat unix.Stat_t
	if err := unix.Stat(cg, &cgStat); err != nil {
		t.Fatal(err)
	}

	before := time.Now()
	cmd := exec.Command(sleepPath, "300")
	cmd.Dir = dir
	cmd.ExtraFiles = []*os.File{data, sock}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := uint32(cmd.Process.Pid)
	if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(int(pid))), 0o644); err != nil {
		t.Fatalf("move child into cgroup: %v", err)
	}

	snap, err := ScanProc("/proc")
	if err != nil {
		t.Fatal(err)
	}
	byPid := map[uint32]*ProcessSnapshot{}
	for i := range snap.Processes {
		byPid[snap.Processes[i].Pid] = &snap.Processes[i]
	}
	c := byPid[pid]
	if c == nil {
		t.Fatalf("child %d not in snapshot", pid)
	}
	if c.Name != "sleep" || c.Exe != sleepPath || c.ExePath != exePath || !reflect.DeepEqual(c.Args, []string{"300"}) || c.Cwd != dir {
		t.Errorf("child program: name %q exe %q exepath %q args %q cwd %q", c.Name, c.Exe, c.ExePath, c.Args, c.Cwd)
	}
	if c.PPid != uint32(os.Getpid()) || c.UID != uint32(os.Geteuid()) || c.VPid != pid || c.ExeInoMtime == 0 {
		t.Errorf("child ids: %+v", c)
	}
	if d := time.Duration(c.StartTS - before.UnixNano()); d < -time.Second || d > time.Second {
		t.Errorf("child start %v off by %v", time.Unix(0, c.StartTS), d)
	}
	if c.CgroupID != cgStat.Ino {
		t.Errorf("cgroup id = %d, want inode %d of %s", c.CgroupID, cgStat.Ino, cg)
	}
	if me := byPid[uint32(os.Getpid())]; me == nil || me.PPid != uint32(os.Getppid()) {
		t.Errorf("test process in snapshot = %+v", me)
	}

	fds := map[int32]FDSnapshot{}
	for _, fd := range c.FDs {
		fds[fd.Num] = fd
	}
	for n := int32(0); n <= 4; n++ {
		if _, ok := fds[n]; !ok {
			t.Errorf("child fd %d missing: %+v", n, c.FDs)
		}
	}
	if fd := fds[0]; fd.Type != "f" || fd.Name != os.DevNull {
		t.Errorf("fd 0 = %+v", fd)
	}
	if fd := fds[3]; fd.Type != "f" || fd.Name != dataPath || !IsOpenRead(fd.OpenFlags) {
		t.Errorf("fd 3 = %+v", fd)
	}
	fd := fds[4]
	if fd.Type != "4" || fd.Local.String() != conn.LocalAddr().String() || fd.Remote.String() != ln.Addr().String() ||
		!fd.Connected || fd.Server || fd.Protocol != ipprotoTCP || fd.SockType != sockStream {
		t.Errorf("fd 4 = %+v", fd)
	}
	// The accepted end, in this process, is the server side.
	var srv *FDSnapshot
	for i, f := range byPid[uint32(os.Getpid())].FDs {
		if f.Type == "4" && f.Local.String() == ln.Addr().String() && f.Remote.String() == conn.LocalAddr().String() {
			srv = &byPid[uint32(os.Getpid())].FDs[i]
		}
	}
	if srv == nil || !srv.Server || !srv.Connected {
		t.Errorf("accepted socket = %+v", srv)
	}

	// Seeded into a table, the child's ancestry reaches our parent.
	tab := New(Options{})
	if err := tab.Seed(snap); err != nil {
		t.Fatal(err)
	}
	p := tab.Process(pid)
	if p == nil || p.Ancestor(1) == nil || p.Ancestor(1).Pid != uint32(os.Getpid()) || p.Ancestor(2) == nil || p.Ancestor(2).Pid != uint32(os.Getppid()) {
		t.Fatalf("seeded ancestry of %d broken: %+v", pid, p)
	}
	if got := FDName(tab.FD(pid, 4)); got != conn.LocalAddr().String()+"->"+ln.Addr().String() {
		t.Errorf("fd.name of the socket = %q", got)
	}

	// The snapshot round-trips through JSON and through a table.
	b1, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(b1, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, snap) {
		t.Error("snapshot changed through JSON")
	}
	b2, _ := json.Marshal(&back)
	if string(b1) != string(b2) {
		t.Error("snapshot JSON is not deterministic")
	}
	if again := tab.Snapshot(snap.TakenAt); !reflect.DeepEqual(again, snap) {
		t.Error("Seed then Snapshot differs from the scan")
	}
}
