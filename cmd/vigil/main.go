// Command vigil is Vigil's node agent and its companion tools: it runs the
// kernel probes and the rule engine (`vigil run`), checks and lists rules,
// records and replays captures.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one subcommand: its one-line summary and its entry point, which
// returns the process exit code.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands is filled by the init functions of the subcommand files.
var commands = map[string]command{}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	name, rest := args[0], args[1:]
	// "rules validate" and "rules list" are two-word commands.
	if name == "rules" && len(rest) > 0 {
		if _, ok := commands["rules "+rest[0]]; ok {
			name, rest = "rules "+rest[0], rest[1:]
		}
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "vigil: unknown command %q\n\n", name)
		usage(stderr)
		return 2
	}
	return cmd.run(rest, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: vigil <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'vigil <command> -h' for a command's flags.")
}
