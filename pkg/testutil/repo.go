package testutil

import (
	"path/filepath"
	"runtime"
)

// RepoRoot returns the repository's root directory, found from the path
// of this source file (two levels below it).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}
