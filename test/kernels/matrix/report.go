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
			events = eventCounts(b)
		}
		boot := secs(b.FirstLine)
		if b.Kernel.Host {
			boot = "-" // nothing boots: the suite runs on the host
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.Kernel.Name(), release, loaded, attached, events,
			boot, secs(b.Wall), b.Verdict())
	}
	tw.Flush()
	for _, b := range r.Boots {
		if b.Unsupported() {
			fmt.Fprintf(w, "\n== %s is below the minimum: %s\n   the agent refuses it: %s\n", b.Kernel.Name(), b.Result.Missing, b.Result.Refusal)
			continue
		}
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

// eventCounts counts the event checks (one behaviour each, per attach
// mode): passed/run, and skipped ones.
func eventCounts(b Boot) string {
	passed, run, skipped := 0, 0, 0
	for _, c := range b.Checks {
		if c.Family == "" || c.Family == "load" {
			continue
		}
		switch {
		case c.Skipped:
			skipped++
		case c.OK:
			passed++
			run++
		default:
			run++
		}
	}
	s := fmt.Sprintf("%d/%d", passed, run)
	if skipped > 0 {
		s += fmt.Sprintf(" (%d skipped)", skipped)
	}
	return s
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
