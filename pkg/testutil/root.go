// Package testutil holds helpers shared by tests that need the real kernel,
// real binaries or real services.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// strict reports whether missing prerequisites must fail tests instead of
// skipping them: in CI (CI=true) and when VIGIL_STRICT_TESTS=1.
func strict() bool {
	return os.Getenv("CI") == "true" || os.Getenv("VIGIL_STRICT_TESTS") == "1"
}

// Unavailable skips t with reason, or fails it when tests are strict: a test
// that needs the kernel or a service must run in CI, never silently pass.
func Unavailable(t testing.TB, reason string) {
	t.Helper()
	if strict() {
		t.Fatalf("prerequisite missing in strict mode: %s", reason)
	}
	t.Skipf("skipped: %s (set VIGIL_STRICT_TESTS=1 to make this a failure)", reason)
}

// RequireRoot skips (or, when strict, fails) t unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "needs root for BPF and real processes")
	}
}

// RequireBinary returns the path of the named program, skipping (or, when
// strict, failing) t when it is not installed.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, name+" is not installed ("+err.Error()+"); run 'make deps'")
	}
	return p
}
