package matrix

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Kernel is one kernel of the matrix, as test/kernels/fetch.sh fetched it.
type Kernel struct {
	// Arch is the Debian and Go architecture (amd64, arm64).
	Arch string `json:"arch"`
	// Series is the major.minor release (5.10, 6.1, ...).
	Series string `json:"series"`
	// Package and Version name the Debian package holding the image.
	Package string `json:"package"`
	Version string `json:"version"`
	// Image is the path of the cached vmlinuz.
	Image string `json:"-"`
	// Host marks the row of this machine's own kernel (RunHost): no
	// image, Package "host", Version the release.
	Host bool `json:"host,omitempty"`
}

// Name is "arch/series", "arch/series-host" for the host's kernel.
func (k Kernel) Name() string {
	if k.Host {
		return k.Arch + "/" + k.Series + "-host"
	}
	return k.Arch + "/" + k.Series
}

// Manifest is what the fetch script printed.
type Manifest struct {
	Kernels []Kernel
	// Busybox maps an architecture to its static busybox.
	Busybox map[string]string
}

// Fetch runs the fetch script for arches (with VIGIL_KERNEL_SERIES set to
// series when not empty) and parses its manifest. Its progress goes to
// stderr.
func Fetch(ctx context.Context, script string, arches, series []string) (Manifest, error) {
	cmd := exec.CommandContext(ctx, script, arches...)
	cmd.Stderr = os.Stderr
	cmd.Env = os.Environ()
	if len(series) > 0 {
		cmd.Env = append(cmd.Env, "VIGIL_KERNEL_SERIES="+strings.Join(series, " "))
	}
	out, err := cmd.Output()
	if err != nil {
		return Manifest{}, fmt.Errorf("%s: %w", script, err)
	}
	return ParseManifest(out)
}

// ParseManifest parses the fetch script's output:
//
//	kernel ARCH SERIES PACKAGE VERSION PATH
//	busybox ARCH VERSION PATH
func ParseManifest(out []byte) (Manifest, error) {
	m := Manifest{Busybox: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 0:
		case f[0] == "kernel" && len(f) == 6:
			m.Kernels = append(m.Kernels, Kernel{Arch: f[1], Series: f[2], Package: f[3], Version: f[4], Image: f[5]})
		case f[0] == "busybox" && len(f) == 4:
			m.Busybox[f[1]] = f[3]
		default:
			return Manifest{}, fmt.Errorf("manifest line %d: %q", n, sc.Text())
		}
	}
	return m, sc.Err()
}
