package matrix

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes one row per boot, then the detail of every failure
// (with the verifier log of a rejected program), then the phase times.
func WriteTable(w io.Writer, r Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KERNEL\tRELEASE\tLOADED\tATTACHED\tEVENTS\tBOOT\tWALL\tVERDICT")
	for _, b := range r.Boots {
		release, loaded, attached, events := "-", "-", "-", "-"
		verdict := "FAIL"
		if b.OK() {
			verdict = "ok"
		}
		if res := b.Result; res != nil {
			release = res.Kernel
			n := 0
			for _, p := range res.Programs {
				if p.OK {
					n++
				}
			}
			loaded = fmt.Sprintf("%d/%d", n, len(res.Programs))
			attached = yesNo(res.Attached)
			events = fmt.Sprintf("%d/%d", res.Passed, res.Passed+res.Failed)
			if res.Skipped > 0 {
				events += fmt.Sprintf(" (%d skipped)", res.Skipped)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.Kernel.Name(), release, loaded, attached, events,
			secs(b.FirstLine), secs(b.Wall), verdict)
	}
	tw.Flush()
	for _, b := range r.Boots {
		if b.Err != "" {
			fmt.Fprintf(w, "\n== %s (%s %s): %s\n", b.Kernel.Name(), b.Kernel.Package, b.Kernel.Version, b.Err)
		}
		for _, c := range b.Checks {
			if !c.OK && !c.Skipped {
				fmt.Fprintf(w, "\n== %s %s %s: %s\n", b.Kernel.Name(), c.Mode, c.Check, indent(c.Detail))
			}
		}
		for _, c := range b.Checks {
			if c.Skipped {
				fmt.Fprintf(w, "-- %s %s %s skipped: %s\n", b.Kernel.Name(), c.Mode, c.Check, c.Detail)
			}
		}
	}
	fmt.Fprintf(w, "\nfetch %s, build %s, total %s; console logs in %s\n", secs(r.Fetch), secs(r.Build), secs(r.Total), r.OutDir)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

func secs(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

func indent(s string) string {
	return strings.ReplaceAll(s, "\n", "\n    ")
}
