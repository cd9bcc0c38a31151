package deploy

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The image is checked in three parts: the Dockerfile's shape, the binary
// its build command produces, and, where a Docker daemon answers, the image
// itself built from the Dockerfile.

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	froms := regexp.MustCompile(`(?m)^FROM\s+(.*)$`).FindAllStringSubmatch(df, -1)
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, got %d stages", len(froms))
	}
	final := froms[len(froms)-1][1]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		t.Errorf("final stage %q: want distroless/static or scratch", final)
	}
	for _, want := range []string{
		"CGO_ENABLED=0",          // static binary
		"-trimpath",              // reproducible paths
		"./cmd/vigil",            // the agent
		"rules/vigil_rules.yaml", // default rules shipped in the image
		"ENTRYPOINT [\"/usr/bin/vigil\"]",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^USER\s+[1-9][0-9]*`).MatchString(df) {
		t.Error("Dockerfile does not default to a non-root user")
	}
	// What the build needs must not be filtered out of the context.
	ignore, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "Dockerfile.dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(ignore), "\n") {
		line = strings.TrimSpace(line)
		for _, needed := range []string{"go.mod", "go.sum", "cmd", "pkg", "bpf", "rules"} {
			if line == needed || line == needed+"/" || line == "*" {
				t.Errorf("Dockerfile.dockerignore excludes %s, which the build needs", needed)
			}
		}
	}
}

// TestStaticBinary builds the agent the way the Dockerfile does and checks
// that the result has no dynamic loader and no shared libraries, so it runs
// on distroless/static.
func TestStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the agent")
	}
	gobin := requireBinary(t, "go")
	out := filepath.Join(t.TempDir(), "vigil")
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	cmdOut, err := runIn(abs, []string{"CGO_ENABLED=0"}, gobin, "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./cmd/vigil")
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, cmdOut)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary has a %v program header: not static", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("binary needs shared libraries %v", libs)
	}
}

// TestDockerfileBuilds builds deploy/Dockerfile with Docker and runs the
// image: `vigil version` prints the version passed as a build argument, as
// the image's non-root default user. It needs a running Docker daemon
// (BuildKit) and network access to the base images; without a daemon it
// skips, saying so.
func TestDockerfileBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the image")
	}
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("NOT TESTED HERE: docker is not installed, so deploy/Dockerfile is not built (TestDockerfile and TestStaticBinary still check it)")
	}
	if out, err := runIn("", nil, docker, "info", "--format", "{{.ServerVersion}}"); err != nil || strings.TrimSpace(out) == "" {
		t.Skipf("NOT TESTED HERE: no Docker daemon answers (%v: %s), so deploy/Dockerfile is not built (TestDockerfile and TestStaticBinary still check it)",
			err, strings.TrimSpace(lastLine(out)))
	}
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("vigil-test:%d", time.Now().UnixNano())
	const version = "9.9.9-imagetest"
	out, err := runIn(abs, []string{"DOCKER_BUILDKIT=1"}, docker, "build", "-f", "deploy/Dockerfile", "--build-arg", "VERSION="+version, "-t", tag, ".")
	if err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = runErr(docker, "rmi", "-f", tag) })
	user := strings.TrimSpace(run(t, docker, "image", "inspect", "-f", "{{.Config.User}}", tag))
	if user != "65532:65532" {
		t.Errorf("image user %q, want 65532:65532 (nonroot)", user)
	}
	got := run(t, docker, "run", "--rm", tag, "version")
	if !strings.HasPrefix(got, "vigil "+version+" ") {
		t.Errorf("vigil version in the image printed %q, want vigil %s", got, version)
	}
	rules := run(t, docker, "run", "--rm", tag, "rules", "validate", "/etc/vigil/rules/vigil_rules.yaml")
	t.Logf("rules validate: %s", strings.TrimSpace(rules))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
