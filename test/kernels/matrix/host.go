package matrix

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/vigilsec/vigil/pkg/probe/features"
)

// HostKernel is the matrix's row for this machine's own kernel.
func HostKernel() Kernel {
	rel := features.Release()
	return Kernel{Arch: runtime.GOARCH, Series: seriesOf(rel), Package: "host", Version: rel, Host: true}
}

// seriesOf returns the major.minor of a kernel release ("6.18.3-cloud"
// gives "6.18").
func seriesOf(release string) string {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return release
	}
	minor := parts[1]
	if i := strings.IndexFunc(minor, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minor = minor[:i]
	}
	return parts[0] + "." + minor
}

// RunHost runs the guest suite directly on this machine's kernel (it needs
// root): the guest binary and test/actions built for the host's
// architecture in binDir, with the repository's probe object, judged like
// a boot by its result line within timeout. Its output is saved to logDir.
func RunHost(ctx context.Context, root, binDir, logDir string, timeout time.Duration) Boot {
	k := HostKernel()
	obj, ok := objects[k.Arch]
	if !ok {
		return Boot{Kernel: k, Err: "no probe object for " + k.Arch}
	}
	if os.Geteuid() != 0 {
		return Boot{Kernel: k, Err: "the host row needs root"}
	}
	tmp, err := os.MkdirTemp("", "vigil-host-suite-")
	if err != nil {
		return Boot{Kernel: k, Err: err.Error()}
	}
	defer os.RemoveAll(tmp)
	b := runGuest(ctx, k, logDir, timeout, filepath.Join(binDir, "guest"),
		"-object", filepath.Join(root, obj), "-actions", filepath.Join(binDir, "actions"), "-tmp", tmp)
	if b.Err != "" {
		b.Err = fmt.Sprintf("host %s: %s", k.Version, b.Err)
	}
	return b
}
