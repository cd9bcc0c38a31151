// Package matrix boots a matrix of Debian kernels, amd64 and arm64, under
// qemu (software emulation) with an initramfs holding the kernel suite's
// guest as init, and collects each guest's verdict: programs loaded,
// attached, events correct. test/kernels/run is its command line;
// `make test-kernels` runs the whole matrix.
package matrix

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// Options configure a matrix run.
type Options struct {
	// Root is the repository root.
	Root string
	// Arches to boot (default amd64 and arm64).
	Arches []string
	// Series keeps only these major.minor series, where "oldest" and
	// "newest" name the oldest and newest published and "min-X.Y" the
	// oldest at or above X.Y (default: all).
	Series []string
	// ArchSeries, when it has an entry for an architecture, replaces
	// Series for it: only those kernels are fetched.
	ArchSeries map[string][]string
	// Host adds a row for this machine's own kernel: the same suite run
	// directly on the host (RunHost; it needs root).
	Host bool
	// Parallel is how many VMs run at once (default 2).
	Parallel int
	// Timeout bounds one boot (default 4 minutes).
	Timeout time.Duration
	// OutDir receives the initramfs images and console logs (default: a
	// new temporary directory).
	OutDir string
	// Select, when set, picks the kernels to boot among those fetched.
	Select func([]Kernel) []Kernel
	// Progress, when set, is called after each boot.
	Progress func(Boot)
}

// Report is the outcome of a matrix run.
type Report struct {
	Boots []Boot `json:"boots"`
	// Fetch, Build and Total are wall times of the phases and the run.
	Fetch time.Duration `json:"fetch_ns"`
	Build time.Duration `json:"build_ns"`
	Total time.Duration `json:"total_ns"`
	// OutDir holds the console logs.
	OutDir string `json:"out_dir"`
}

// OK reports whether no boot failed and at least one passed: kernels
// below the minimum (Boot.Unsupported) are expected to be refused.
func (r Report) OK() bool {
	passed := 0
	for _, b := range r.Boots {
		switch b.Verdict() {
		case "FAIL":
			return false
		case "ok":
			passed++
		}
	}
	return passed > 0
}

// Run fetches the kernels, builds one initramfs per architecture and boots
// every kernel, Parallel at a time.
func Run(ctx context.Context, o Options) (Report, error) {
	start := time.Now()
	if len(o.Arches) == 0 {
		o.Arches = []string{"amd64", "arm64"}
	}
	if o.Parallel < 1 {
		o.Parallel = 2
	}
	if o.Timeout == 0 {
		o.Timeout = 4 * time.Minute
	}
	if o.OutDir == "" {
		dir, err := os.MkdirTemp("", "vigil-kernels-")
		if err != nil {
			return Report{}, err
		}
		o.OutDir = dir
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return Report{}, err
	}
	r := Report{OutDir: o.OutDir}

	m, err := fetchAll(ctx, o)
	if err != nil {
		return r, err
	}
	r.Fetch = time.Since(start)
	kernels := m.Kernels
	if o.Select != nil {
		kernels = o.Select(kernels)
	}
	if len(kernels) == 0 {
		return r, fmt.Errorf("no kernel to boot for %v %v", o.Arches, o.Series)
	}

	t := time.Now()
	var hostBin string
	if o.Host {
		if hostBin, err = buildGuest(ctx, o.Root, runtime.GOARCH, filepath.Join(o.OutDir, "host")); err != nil {
			return r, err
		}
	}
	initrds := map[string]string{}
	for _, k := range kernels {
		if _, ok := initrds[k.Arch]; ok {
			continue
		}
		bb, ok := m.Busybox[k.Arch]
		if !ok {
			return r, fmt.Errorf("no busybox for %s", k.Arch)
		}
		path, err := BuildInitramfs(ctx, o.Root, k.Arch, bb, o.OutDir)
		if err != nil {
			return r, err
		}
		initrds[k.Arch] = path
	}
	r.Build = time.Since(t)

	// The host's row first, then the kernels in the fetched order.
	if o.Host {
		kernels = append([]Kernel{HostKernel()}, kernels...)
	}
	r.Boots = make([]Boot, len(kernels))
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, o.Parallel)
	for i, k := range kernels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var b Boot
			if k.Host {
				b = RunHost(ctx, o.Root, hostBin, o.OutDir, o.Timeout)
			} else {
				b = BootKernel(ctx, k, initrds[k.Arch], o.OutDir, o.Timeout)
			}
			r.Boots[i] = b
			if o.Progress != nil {
				mu.Lock()
				o.Progress(b)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	r.Total = time.Since(start)
	return r, ctx.Err()
}

// fetchAll runs the fetch script once for the architectures that share
// o.Series and once for each architecture of o.ArchSeries, and merges the
// manifests.
func fetchAll(ctx context.Context, o Options) (Manifest, error) {
	script := filepath.Join(o.Root, "test/kernels/fetch.sh")
	var shared []string
	all := Manifest{Busybox: map[string]string{}}
	merge := func(arches, series []string) error {
		m, err := Fetch(ctx, script, arches, series)
		if err != nil {
			return err
		}
		all.Kernels = append(all.Kernels, m.Kernels...)
		maps.Copy(all.Busybox, m.Busybox)
		return nil
	}
	for _, arch := range o.Arches {
		series, ok := o.ArchSeries[arch]
		if !ok {
			shared = append(shared, arch)
			continue
		}
		if err := merge([]string{arch}, series); err != nil {
			return all, err
		}
	}
	if len(shared) > 0 {
		if err := merge(shared, o.Series); err != nil {
			return all, err
		}
	}
	return all, nil
}
