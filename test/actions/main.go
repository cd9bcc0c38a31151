// Command actions performs one kernel-visible behaviour per subcommand, for
// tests that watch the kernel: `actions openat DIR REL` opens DIR/REL with
// openat(dirfd, REL, O_WRONLY|O_CREAT). It prints one JSON object with what
// it did (pid, fds, ...) on stdout and exits 0, or prints the error and
// exits 1. Build it static (CGO_ENABLED=0) so it runs anywhere.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// action performs one behaviour with its arguments and returns what the
// test needs to know (merged into the printed JSON object).
type action struct {
	usage string
	nargs int
	run   func(args []string) (map[string]any, error)
}

var actions = map[string]action{}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	a, ok := actions[os.Args[1]]
	if !ok || len(os.Args)-2 < a.nargs {
		usage()
		os.Exit(2)
	}
	out, err := a.run(os.Args[2:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "actions %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	if out == nil {
		out = map[string]any{}
	}
	out["pid"] = os.Getpid()
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}

func usage() {
	names := make([]string, 0, len(actions))
	for n, a := range actions {
		names = append(names, "  "+n+" "+a.usage)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: actions <action> [args]\n%s\n", strings.Join(names, "\n"))
}
