package enrich

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/testutil"
	"github.com/vigilsec/vigil/test/containerd"
)

// TestPlainRuncContainer runs a container with runc alone (no containerd):
// runc's default cgroup is /<id>, which gives the container id.
func TestPlainRuncContainer(t *testing.T) {
	testutil.RequireRoot(t)
	runc := testutil.RequireBinary(t, "runc")
	testutil.RequireBinary(t, "go")
	dir := t.TempDir()
	containerd.BuildSleeper(t, dir)
	bundle := filepath.Join(dir, "bundle")
	rootfs := filepath.Join(bundle, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	prog, err := os.ReadFile(filepath.Join(dir, "sleeper"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "sleeper"), prog, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(runc, append([]string{"--root", filepath.Join(dir, "state")}, args...)...)
		cmd.Dir = bundle
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("runc %v: %v\n%s", args, err, out)
		}
		return out
	}
	run("spec")
	var spec map[string]any
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil || json.Unmarshal(b, &spec) != nil {
		t.Fatalf("runc spec: %v", err)
	}
	proc := spec["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = []string{"/sleeper"}
	if b, err = json.Marshal(spec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}

	const id = "9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9"
	// Detached: the container keeps runc's stdio, so it must not be a pipe
	// we wait on.
	logFile := filepath.Join(dir, "runc.log")
	start := exec.Command(runc, "--root", filepath.Join(dir, "state"), "--log", logFile, "run", "-d", "--bundle", bundle, id)
	start.Dir = bundle
	if err := start.Run(); err != nil {
		log, _ := os.ReadFile(logFile)
		t.Fatalf("runc run: %v\n%s", err, log)
	}
	t.Cleanup(func() {
		exec.Command(runc, "--root", filepath.Join(dir, "state"), "kill", id, "KILL").Run()
		time.Sleep(100 * time.Millisecond)
		exec.Command(runc, "--root", filepath.Join(dir, "state"), "delete", "-f", id).Run()
		containerd.RemoveCgroups("/" + id)
	})
	var state struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal(run("state", id), &state); err != nil || state.Pid == 0 {
		t.Fatalf("runc state: %v", err)
	}
	path, cgID, err := containerd.ProcessCgroup(state.Pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("runc container cgroup %s", path)

	e := newTestEnricher(t, testConfig(t), true)
	var s sink
	e.Process(&event.Event{Timestamp: time.Now().UnixNano(), CgroupID: cgID}, s.next)
	flushUntil(t, e, &s, 1, 5*time.Second)
	if m := s.evs[0].Meta; m.ContainerFullID != id || m.ContainerID != id[:12] || m.PodName != "" || !m.Complete {
		t.Fatalf("meta = %+v (cgroup %s)", m, path)
	}
}
