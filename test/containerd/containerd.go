// Package containerd starts a private containerd (with its CRI plugin) for
// tests: its own root, state and socket under a temporary directory, images
// built locally and imported with ctr, pods and containers created through
// the CRI API like the kubelet does. Nothing here talks to a registry.
package containerd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/vigilsec/vigil/pkg/testutil"
)

// Images every Daemon has: the sandbox (pause) image and the workload image,
// both the sleeper program. The pause image's entrypoint replaces itself
// once ("/sleeper replace /sleeper"), so a sandbox's process execs twice.
const (
	PauseImage   = "docker.io/vigil/pause:test"
	SleeperImage = "docker.io/vigil/sleeper:test"
)

// Daemon is a running private containerd.
type Daemon struct {
	// Dir holds the config, root, state and socket.
	Dir string
	// Socket is the containerd (and CRI) socket.
	Socket string
	// Image is the locally built image imported as SleeperImage; Pause
	// the one imported as PauseImage.
	Image, Pause *Image
	// Runtime is a CRI runtime client on Socket.
	Runtime runtimeapi.RuntimeServiceClient

	t       testing.TB
	cgroups []string // pod cgroup parents to remove at the end
	args    []string
	cmd     *exec.Cmd
	exited  chan struct{}
	conn    *grpc.ClientConn
	log     *bytes.Buffer
}

const configTemplate = `version = 2
root = "{{.Dir}}/root"
state = "{{.Dir}}/state"
oom_score = 0

[grpc]
  address = "{{.Socket}}"

[ttrpc]
  address = "{{.Dir}}/ttrpc.sock"

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "{{.Pause}}"
    restrict_oom_score_adj = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    enable_selinux = false
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
          BinaryName = "{{.Runc}}"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "{{.Dir}}/cni/bin"
      conf_dir = "{{.Dir}}/cni/conf"
  [plugins."io.containerd.internal.v1.opt"]
    path = "{{.Dir}}/opt"
`

// runcWrapper runs the real runc; while the hold file exists, a "create"
// waits after runc created the container (its cgroup and init process
// exist) until the file is removed, so the runtime has not recorded it yet.
const runcWrapper = `#!/bin/sh
case " $* " in
*" create "*)
	"{{.Real}}" "$@"
	rc=$?
	while [ -e "{{.Hold}}" ]; do sleep 0.005; done
	exit $rc
	;;
esac
exec "{{.Real}}" "$@"
`

// Start runs containerd with a private configuration until the test ends,
// builds the sleeper image and imports it. It needs root, containerd, runc
// and ctr (skipping, or failing in strict mode, without them).
func Start(t testing.TB) *Daemon {
	t.Helper()
	testutil.RequireRoot(t)
	bin := testutil.RequireBinary(t, "containerd")
	testutil.RequireBinary(t, "containerd-shim-runc-v2")
	runc := testutil.RequireBinary(t, "runc")
	testutil.RequireBinary(t, "ctr")
	testutil.RequireBinary(t, "go")

	// Short paths: unix socket names are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "vigil-ctrd-")
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{Dir: dir, Socket: filepath.Join(dir, "containerd.sock"), t: t, log: &bytes.Buffer{}}
	for _, sub := range []string{"cni/bin", "cni/conf", "opt", "build"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var wrapper bytes.Buffer
	if err := template.Must(template.New("runc").Parse(runcWrapper)).Execute(&wrapper, map[string]string{
		"Real": runc, "Hold": d.holdFile(),
	}); err != nil {
		t.Fatal(err)
	}
	wrapperPath := filepath.Join(dir, "runc")
	if err := os.WriteFile(wrapperPath, wrapper.Bytes(), 0o755); err != nil {
		t.Fatal(err)
	}
	var cfg bytes.Buffer
	if err := template.Must(template.New("cfg").Parse(configTemplate)).Execute(&cfg, map[string]string{
		"Dir": dir, "Socket": d.Socket, "Pause": PauseImage, "Runc": wrapperPath,
	}); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, cfg.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	d.args = []string{bin, "--config", cfgPath, "--log-level", "info"}
	t.Cleanup(d.stop)
	d.conn, err = grpc.NewClient("unix://"+d.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	d.Runtime = runtimeapi.NewRuntimeServiceClient(d.conn)
	if err := d.launch(); err != nil {
		t.Fatal(err)
	}

	d.Image = BuildSleeper(t, filepath.Join(dir, "build"), SleeperImage)
	prog, err := os.ReadFile(filepath.Join(dir, "build", "sleeper"))
	if err != nil {
		t.Fatal(err)
	}
	d.Pause, err = WriteImage(filepath.Join(dir, "build", "pause.tar"), map[string][]byte{"sleeper": prog},
		[]string{"/sleeper", "replace", "/sleeper"}, []string{PauseImage})
	if err != nil {
		t.Fatal(err)
	}
	d.Ctr("images", "import", d.Image.Archive)
	d.Ctr("images", "import", d.Pause.Archive)
	return d
}

// launch starts containerd and waits until its CRI service answers.
func (d *Daemon) launch() error {
	d.cmd = exec.Command(d.args[0], d.args[1:]...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		d.cmd = nil
		return err
	}
	d.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { cmd.Wait(); close(exited) }(d.cmd, d.exited)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := d.Runtime.Version(ctx, &runtimeapi.VersionRequest{})
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("containerd exited: %v\n%s", d.cmd.ProcessState, d.log.String())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd did not answer on %s: %v\n%s", d.Socket, err, d.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops containerd, leaving its containers (and their shims) running,
// as a runtime upgrade or crash does.
func (d *Daemon) Stop() {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(15 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
	}
	d.cmd = nil
}

// Restart starts containerd again after Stop; it recovers the running
// containers.
func (d *Daemon) Restart() {
	d.t.Helper()
	if err := d.launch(); err != nil {
		d.t.Fatal(err)
	}
}

func (d *Daemon) holdFile() string { return filepath.Join(d.Dir, "hold-create") }

// HoldCreates makes every container and pod sandbox created from now on
// stop once runc created it (its cgroup and init process exist) and before
// containerd records it, until the returned release is called: the window
// in which a workload runs that its runtime does not know yet, held open.
func (d *Daemon) HoldCreates() (release func()) {
	d.t.Helper()
	if err := os.WriteFile(d.holdFile(), nil, 0o644); err != nil {
		d.t.Fatal(err)
	}
	release = func() { os.Remove(d.holdFile()) }
	d.t.Cleanup(release)
	return release
}

// Ctr runs ctr against the daemon in the k8s.io namespace and returns its
// output, failing the test on error.
func (d *Daemon) Ctr(args ...string) string {
	d.t.Helper()
	return d.CtrIn("k8s.io", args...)
}

// CtrIn runs ctr against the daemon in the given containerd namespace.
func (d *Daemon) CtrIn(namespace string, args ...string) string {
	d.t.Helper()
	full := append([]string{"--address", d.Socket, "--namespace", namespace}, args...)
	out, err := exec.Command("ctr", full...).CombinedOutput()
	if err != nil {
		d.t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Log returns containerd's output so far.
func (d *Daemon) Log() string { return d.log.String() }

// stop removes every pod sandbox (stopping its containers and shims), then
// stops containerd and removes its directory.
func (d *Daemon) stop() {
	if d.cmd == nil && d.args != nil && d.Runtime != nil {
		if err := d.launch(); err != nil { // stopped by the test: restart to clean up
			d.t.Logf("containerd: restart for cleanup: %v", err)
		}
	}
	if d.cmd != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if resp, err := d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err == nil {
			for _, s := range resp.GetItems() {
				d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: s.GetId()})
				d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: s.GetId()})
			}
		}
		cancel()
	}
	if d.conn != nil {
		d.conn.Close()
	}
	d.Stop()
	// Overlay mounts of removed snapshots are gone; unmount leftovers before
	// removing the tree.
	if mounts, err := os.ReadFile("/proc/self/mounts"); err == nil {
		for _, line := range strings.Split(string(mounts), "\n") {
			if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], d.Dir) {
				syscall.Unmount(f[1], syscall.MNT_DETACH)
			}
		}
	}
	RemoveCgroups(d.cgroups...)
	if err := os.RemoveAll(d.Dir); err != nil {
		d.t.Logf("containerd: cleanup %s: %v", d.Dir, err)
	}
}

// String describes the daemon for logs.
func (d *Daemon) String() string { return fmt.Sprintf("containerd(%s)", d.Socket) }

// RemoveCgroups removes the given (empty) cgroups, such as the pod cgroups
// the kubelet would have removed, and their parents when empty, from every
// cgroup hierarchy.
func RemoveCgroups(parents ...string) {
	mounts, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || (f[2] != "cgroup" && f[2] != "cgroup2") {
			continue
		}
		for _, p := range parents {
			for dir := filepath.Join(f[1], p); len(dir) > len(f[1]); dir = filepath.Dir(dir) {
				if os.Remove(dir) != nil {
					break
				}
			}
		}
	}
}
