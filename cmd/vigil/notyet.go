package main

import (
	"fmt"
	"io"
)

// notYet registers a subcommand whose implementation has not landed; it says
// so plainly and exits 3 instead of pretending to work.
func notYet(name, summary, issue string) {
	commands[name] = command{summary + " (not built yet)", func(_ []string, _, stderr io.Writer) int {
		fmt.Fprintf(stderr, "vigil %s: not built yet (%s)\n", name, issue)
		return 3
	}}
}
