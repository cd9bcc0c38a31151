package main

import (
	"fmt"
	"io"
	"runtime"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func init() {
	commands["version"] = command{"print the version", func(_ []string, stdout, _ io.Writer) int {
		fmt.Fprintf(stdout, "vigil %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	}}
}
