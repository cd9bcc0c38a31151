package main

import (
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/vigilsec/vigil/pkg/rules"
)

func init() {
	commands["fields"] = command{"list every supported rule field", listFields}
}

// listFields prints the field registry: name (with argument form), type
// and description.
func listFields(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fields", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tTYPE\tDESCRIPTION")
	for _, f := range rules.Fields() {
		name := f.Name
		if f.Arg != "" {
			name += " " + f.Arg
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, f.Type, f.Desc)
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "vigil fields: %v\n", err)
		return 1
	}
	return 0
}
