package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/vigilsec/vigil/pkg/prefilter"
	"github.com/vigilsec/vigil/pkg/rules"
	defaultrules "github.com/vigilsec/vigil/rules"
)

func init() {
	commands["rules validate"] = command{"check rules files and print every error", rulesValidate}
	commands["rules list"] = command{"list the rules of rules files", rulesList}
}

// rulesValidate loads the files in order and prints every warning and
// error; it exits 1 when the rules do not load.
func rulesValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rules validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quiet := fs.Bool("q", false, "do not print warnings")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: vigil rules validate [-q] FILE|DIR...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	rs, warns, err := rules.Load(fs.Args()...)
	if !*quiet {
		for _, w := range warns {
			fmt.Fprintf(stderr, "warning: %s\n", w.String())
		}
	}
	if err != nil {
		var le *rules.LoadError
		if errors.As(err, &le) {
			for _, e := range le.Errs {
				fmt.Fprintf(stderr, "error: %s\n", e.Error())
			}
			fmt.Fprintf(stderr, "%d error(s)\n", len(le.Errs))
		} else {
			fmt.Fprintf(stderr, "error: %v\n", err)
		}
		return 1
	}
	fmt.Fprintf(stdout, "ok: %d rules (%d enabled), %d warning(s), event types: %s\n",
		len(rs.AllRules()), len(rs.Rules()), len(warns), typeNames(rs.EventTypes()))
	return 0
}

func typeNames[T fmt.Stringer](ts []T) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.String()
	}
	return strings.Join(names, ",")
}

// rulesList prints each rule: name, priority, event types, tags, enabled.
func rulesList(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rules list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kernelFilters := fs.Bool("kernel-filters", false, "print, per event type, the prefilter the kernel applies and the rules that kept it wider")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: vigil rules list [--kernel-filters] [FILE|DIR...] (default: the built-in rules)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var (
		rs  *rules.Ruleset
		err error
	)
	if paths := fs.Args(); len(paths) > 0 {
		rs, _, err = rules.Load(paths...)
	} else {
		rs, _, err = defaultrules.Load()
	}
	if err != nil {
		fmt.Fprintf(stderr, "vigil rules list: %v\n", err)
		return 1
	}
	if *kernelFilters {
		if err := prefilter.Derive(rs).Explain(stdout); err != nil {
			fmt.Fprintf(stderr, "vigil rules list: %v\n", err)
			return 1
		}
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tPRIORITY\tEVENT TYPES\tTAGS\tENABLED")
	for _, r := range rs.AllRules() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\n", r.Name, r.Priority, typeNames(r.EventTypes()), strings.Join(r.Tags, ","), r.Enabled)
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "vigil rules list: %v\n", err)
		return 1
	}
	return 0
}
