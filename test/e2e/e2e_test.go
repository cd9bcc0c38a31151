package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBenignActivityRaisesNoAlert runs ordinary work (a Go build, ls, a
// package-free shell script) in a directory of its own and checks that no
// alert mentions that directory. The agent watches the whole host, so the
// marker is the directory's full path: other packages' tests run at the
// same time, and their temporary paths end in the same "001".
func TestBenignActivityRaisesNoAlert(t *testing.T) {
	a := startAgent(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { println(\"hi\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module benign\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "work.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nset -e\ncd \"$1\"\nfor i in 1 2 3; do echo $i > out-$i.txt; done\ncat out-*.txt | sort > all.txt\nwc -l all.txt\nrm out-*.txt\nls -la\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "benign"), ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run(t, ctx, filepath.Join(dir, "benign"))
	run(t, ctx, "ls", "-la", dir)
	run(t, ctx, script, dir)

	// A behaviour after the benign work proves the agent was watching.
	_, actions := buildBinaries(t)
	link := filepath.Join(dir, "shadow-link")
	run(t, ctx, actions, "symlink", "/etc/shadow", link)
	a.http.wait(t, "the closing symlink alert", alertWait, func(fa falcoAlert) bool { return strings.Contains(fa.Output, link) })
	for _, fa := range a.http.snapshot() {
		if strings.Contains(fa.Output, dir) && !strings.Contains(fa.Output, link) {
			t.Errorf("benign activity raised %q: %s", fa.Rule, fa.Output)
		}
	}
}

// symlinkRule is a rules file with one rule: a symlink to target whose link
// path lies under dir raises an alert named name.
func symlinkRule(name, target, dir string) string {
	return fmt.Sprintf(`- rule: %s
  desc: test rule
  condition: evt.type in (symlink, symlinkat) and evt.arg.target = %s and evt.arg.linkpath startswith %s
  output: "%s at %%evt.arg.linkpath"
  priority: WARNING
`, name, target, dir, name)
}

// writeRules writes a rules file in a directory of its own, so that what
// a test does elsewhere never looks like a rules change to the agent.
func writeRules(t *testing.T, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "rules.yaml")
	writeFile(t, f, content)
	return f
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
