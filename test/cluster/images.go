package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/pkg/testutil"
)

// Images of the scenario, all built from static binaries.
const (
	// AgentImage holds the vigil binary as deploy/Dockerfile lays it out.
	AgentImage = "docker.io/vigil/agent:test"
	// WorkloadImage holds the workload server as /usr/sbin/nginx and
	// busybox as /bin/sh and its applets.
	WorkloadImage = "docker.io/vigil/workload:test"
	// NATSImage holds nats-server.
	NATSImage = "docker.io/vigil/nats:test"
)

// busyboxApplets are linked to /bin/busybox in the workload image.
var busyboxApplets = []string{"sh", "cat", "echo", "wget", "sleep", "ls", "touch", "rm", "id"}

// goBuild builds a static binary of pkg (a package path or a directory of the
// repository) into out.
func goBuild(out, pkg string, ldflags string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w "+ldflags, "-o", out, pkg)
	cmd.Dir = testutil.RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// BuildImages builds the pause, agent, workload and NATS images as OCI
// archives below dir and returns their paths, for Start.
func BuildImages(t testing.TB, dir string) []string {
	t.Helper()
	busybox := testutil.RequireBinary(t, "busybox")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bins := map[string]string{
		"vigil":       "./cmd/vigil",
		"workload":    "./test/cluster/workload",
		"sleeper":     "./test/containerd/sleeper",
		"nats-server": "github.com/nats-io/nats-server/v2",
	}
	errs := make(chan error, len(bins))
	for name, pkg := range bins {
		go func() {
			ld := ""
			if name == "vigil" {
				ld = "-X main.version=cluster-test"
			}
			errs <- goBuild(filepath.Join(dir, name), pkg, ld)
		}()
	}
	for range bins {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rules := read(filepath.Join(testutil.RepoRoot(), "rules", "vigil_rules.yaml"))
	bb := read(busybox)
	workload := map[string]imageFile{
		"bin/busybox":    {Content: bb},
		"usr/sbin/nginx": {Content: read(filepath.Join(dir, "workload"))},
		"usr/bin":        {Dir: true},
		"tmp":            {Dir: true, Mode: 0o1777},
		"etc/shadow":     {Content: []byte("root:*:19000:0:99999:7:::\n"), Mode: 0o640},
		"etc/passwd":     {Content: []byte("root:x:0:0:root:/root:/bin/sh\n"), Mode: 0o644},
		"etc/group":      {Content: []byte("root:x:0:\n"), Mode: 0o644},
	}
	for _, a := range busyboxApplets {
		workload["bin/"+a] = imageFile{Link: "busybox"}
	}
	specs := []imageSpec{
		{Ref: PauseImage, Files: map[string]imageFile{"pause": {Content: read(filepath.Join(dir, "sleeper"))}}, Entrypoint: []string{"/pause"}},
		{Ref: AgentImage, Files: map[string]imageFile{
			"usr/bin/vigil":                    {Content: read(filepath.Join(dir, "vigil"))},
			"etc/vigil/rules/vigil_rules.yaml": {Content: rules, Mode: 0o644},
			"tmp":                              {Dir: true, Mode: 0o1777},
		}, Entrypoint: []string{"/usr/bin/vigil"}, Cmd: []string{"run"}},
		{Ref: WorkloadImage, Files: workload, Entrypoint: []string{"/usr/sbin/nginx"}},
		{Ref: NATSImage, Files: map[string]imageFile{"nats-server": {Content: read(filepath.Join(dir, "nats-server"))}},
			Entrypoint: []string{"/nats-server"}},
	}
	var out []string
	for _, s := range specs {
		p := filepath.Join(dir, filepath.Base(s.Ref[:len(s.Ref)-len(":test")])+".tar")
		if err := writeOCIArchive(p, s); err != nil {
			t.Fatalf("image %s: %v", s.Ref, err)
		}
		out = append(out, p)
	}
	return out
}
