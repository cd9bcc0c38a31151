package matrix

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/vigilsec/vigil/test/kernels/initramfs"
)

// busyboxApplets are linked in /bin for debugging a guest by hand (rdinit=/bin/sh).
var busyboxApplets = []string{"sh", "true", "ls", "cat", "mount", "dmesg", "ip", "poweroff"}

// objects names the probe's BPF object of each architecture, relative to
// the repository root.
var objects = map[string]string{
	"amd64": "pkg/probe/vigil_x86_bpfel.o",
	"arm64": "pkg/probe/vigil_arm64_bpfel.o",
}

// buildGuest cross-builds the guest and test/actions for arch into
// dir/arch and returns that directory.
func buildGuest(ctx context.Context, root, arch, dir string) (string, error) {
	bin := filepath.Join(dir, arch)
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	for _, b := range []struct{ out, pkg string }{{"guest", "./test/kernels/guest"}, {"actions", "./test/actions"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(bin, b.out), b.pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build %s for %s: %w\n%s", b.pkg, arch, err, out)
		}
	}
	return bin, nil
}

// BuildInitramfs cross-builds the guest and test/actions for arch and writes
// an initramfs holding them, the probe's object and busybox to dir. It
// returns the archive's path.
func BuildInitramfs(ctx context.Context, root, arch, busybox, dir string) (string, error) {
	obj, ok := objects[arch]
	if !ok {
		return "", fmt.Errorf("no probe object for %s", arch)
	}
	bin, err := buildGuest(ctx, root, arch, dir)
	if err != nil {
		return "", err
	}
	files := map[string]string{
		"init":        filepath.Join(bin, "guest"),
		"bin/actions": filepath.Join(bin, "actions"),
		"bin/busybox": busybox,
		"vigil.o":     filepath.Join(root, obj),
	}
	data := map[string][]byte{}
	for name, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("initramfs: %w", err)
		}
		data[name] = b
	}
	path := filepath.Join(dir, "initramfs-"+arch+".cpio")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	w := initramfs.NewWriter(f)
	// Errors stick in w: Close reports the first.
	for _, d := range []string{"bin", "dev", "proc", "sys", "tmp", "etc"} {
		w.Dir(d, 0o755)
	}
	w.CharDev("dev/console", 0o600, 5, 1)
	w.CharDev("dev/null", 0o666, 1, 3)
	// /etc/shadow is the symlink check's target; it need not exist.
	w.File("init", 0o755, data["init"])
	w.File("bin/actions", 0o755, data["bin/actions"])
	w.File("bin/busybox", 0o755, data["bin/busybox"])
	for _, a := range busyboxApplets {
		w.Symlink("bin/"+a, "busybox")
	}
	w.File("vigil.o", 0o644, data["vigil.o"])
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("initramfs: %w", err)
	}
	return path, f.Close()
}
