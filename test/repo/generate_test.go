package repo

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// git runs git in dir and fails the test on error.
func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=test", "-c", "user.email=test@example.invalid"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// TestGenerateCheck runs `make generate-check` in a scratch repository
// holding this Makefile, with a stand-in for `make generate`: it must fail
// on any change to a tracked file, wherever it is, and on any new file.
func TestGenerateCheck(t *testing.T) {
	for _, bin := range []string{"make", "git"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed", bin)
		}
	}
	for _, tc := range []struct {
		name     string
		dirty    string // a command run before make, leaving the tree dirty
		generate string
		ok       bool
		output   string // a substring of make's output
	}{
		{name: "generate changes nothing", generate: "true", ok: true},
		{name: "generate rewrites a file identically", generate: "cp README.md README.md.new && mv README.md.new README.md", ok: true},
		{name: "a tracked file outside bpf and pkg changes", generate: "echo x >> README.md", output: "M README.md"},
		{name: "a generated file changes", generate: "echo x >> pkg/probe/gen.go", output: "M pkg/probe/gen.go"},
		{name: "a tracked file is removed", generate: "rm bpf/probe.c", output: "D bpf/probe.c"},
		{name: "a new untracked file", generate: "touch pkg/probe/new_bpfel.o", output: "?? pkg/probe/new_bpfel.o"},
		{name: "the tree is dirty before", dirty: "echo x >> README.md", generate: "true", output: "uncommitted changes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mk, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
			if err != nil {
				t.Fatal(err)
			}
			files := map[string]string{"Makefile": string(mk), "README.md": "# test\n", "bpf/probe.c": "int x;\n", "pkg/probe/gen.go": "package probe\n"}
			for name, content := range files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			git(t, dir, "init", "-q")
			git(t, dir, "add", ".")
			git(t, dir, "commit", "-q", "-m", "scratch")
			if tc.dirty != "" {
				cmd := exec.Command("sh", "-c", tc.dirty)
				cmd.Dir = dir
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s: %v\n%s", tc.dirty, err, out)
				}
			}
			out, err := makeIn(dir, nil, "generate-check", "GENERATE="+tc.generate)
			if tc.ok != (err == nil) {
				t.Errorf("make generate-check: err = %v, want ok = %v\n%s", err, tc.ok, out)
			}
			if !strings.Contains(out, tc.output) {
				t.Errorf("output lacks %q:\n%s", tc.output, out)
			}
		})
	}
}
