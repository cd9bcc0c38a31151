package testutil

import (
	"path/filepath"
	"testing"
)

// UniqueName returns prefix followed by a name no other test, in this
// package or another running at the same time, is given: the last two
// elements of a fresh t.TempDir, whose parent carries a random suffix.
// It suits names made outside the temporary directory, such as cgroups.
func UniqueName(tb testing.TB, prefix string) string {
	tb.Helper()
	dir := tb.TempDir()
	return prefix + filepath.Base(filepath.Dir(dir)) + "-" + filepath.Base(dir)
}
