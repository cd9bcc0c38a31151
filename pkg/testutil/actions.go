package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	actionsOnce sync.Once
	actionsPath string
	actionsErr  error
)

// ActionsBinary builds the behaviour helper program test/actions, static,
// once per test binary, and returns its path.
func ActionsBinary(tb testing.TB) string {
	tb.Helper()
	goBin := RequireBinary(tb, "go")
	actionsOnce.Do(func() {
		root := RepoRoot()
		dir, err := os.MkdirTemp("", "vigil-actions")
		if err != nil {
			actionsErr = err
			return
		}
		actionsPath = filepath.Join(dir, "actions")
		cmd := exec.Command(goBin, "build", "-o", actionsPath, "./test/actions")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			actionsErr = &buildError{err, string(out)}
		}
	})
	if actionsErr != nil {
		tb.Fatalf("build test/actions: %v", actionsErr)
	}
	return actionsPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }
