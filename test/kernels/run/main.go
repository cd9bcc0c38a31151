// Command run boots the kernel matrix (test/kernels/matrix) and prints one
// row per kernel, the host's own first (the same suite run directly on it,
// as root): programs loaded, attached, events correct, boot and wall time.
// It exits 1 when any kernel fails. `make test-kernels` runs it from the
// repository root.
//
//	go run ./test/kernels/run [-arch amd64,arm64] [-series 5.10,7.2] [-host=false] [-parallel 2] [-json report.json]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vigilsec/vigil/test/kernels/matrix"
)

func main() {
	arches := flag.String("arch", "amd64,arm64", "comma-separated architectures")
	series := flag.String("series", "", "comma-separated kernel series to boot, e.g. 5.10,6.1 or oldest,newest (default: every series found)")
	parallel := flag.Int("parallel", 2, "VMs at a time")
	timeout := flag.Duration("timeout", 4*time.Minute, "limit for one boot")
	out := flag.String("out", "", "directory for the initramfs images and console logs (default: a new temporary directory)")
	jsonOut := flag.String("json", "", "also write the full report as JSON to this file")
	host := flag.Bool("host", true, "also run the suite on this machine's own kernel (needs root)")
	flag.Parse()
	if *host && os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "run: not root: no host row (-host=false to silence)")
		*host = false
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := os.Getwd()
	if err != nil {
		fail(err)
	}
	opts := matrix.Options{
		Root:     root,
		Arches:   split(*arches),
		Series:   split(*series),
		Parallel: *parallel,
		Timeout:  *timeout,
		OutDir:   *out,
		Host:     *host,
		Progress: func(b matrix.Boot) {
			fmt.Fprintf(os.Stderr, "boot %s %s: %s in %.1fs\n", b.Kernel.Name(), b.Kernel.Version, b.Verdict(), b.Wall.Seconds())
		},
	}
	r, err := matrix.Run(ctx, opts)
	if len(r.Boots) > 0 {
		matrix.WriteTable(os.Stdout, r)
	}
	if *jsonOut != "" {
		b, jerr := json.MarshalIndent(r, "", "  ")
		if jerr == nil {
			jerr = os.WriteFile(*jsonOut, b, 0o644)
		}
		if jerr != nil {
			fmt.Fprintln(os.Stderr, "run:", jerr)
		}
	}
	if err != nil {
		fail(err)
	}
	if !r.OK() {
		os.Exit(1)
	}
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "run:", err)
	os.Exit(1)
}
