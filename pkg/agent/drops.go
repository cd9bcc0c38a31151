package agent

import (
	"fmt"
	"sort"
	"time"

	"github.com/vigilsec/vigil/pkg/alert"
)

// DropRule is the rule name of the agent's own alert about lost events.
const DropRule = "Vigil event drops"

// dropWatch turns growing drop counters into the agent's own alert, the way
// Falco reports syscall_event_drops: when the drops seen since the last check
// exceed a threshold, one alert, and at most one per interval.
type dropWatch struct {
	threshold uint64        // drops per check that raise an alert
	every     time.Duration // minimum time between two alerts
	last      map[string]uint64
	lastAlert time.Time
	hostname  string
}

func newDropWatch(threshold uint64, every time.Duration, hostname string) *dropWatch {
	return &dropWatch{threshold: threshold, every: every, last: map[string]uint64{}, hostname: hostname}
}

// check compares the current cumulative drop counters (by source: "kernel",
// "queue", "enrich" ...) with the previous ones and returns an alert when
// the increase crosses the threshold and the last alert is old enough.
func (d *dropWatch) check(now time.Time, counters map[string]uint64) *alert.Alert {
	var total uint64
	fields := map[string]any{}
	for src, n := range counters {
		delta := n - d.last[src]
		if n < d.last[src] { // a counter reset (restarted stage)
			delta = n
		}
		d.last[src] = n
		fields["vigil.drops."+src] = delta
		total += delta
	}
	if total == 0 || total < d.threshold {
		return nil
	}
	if !d.lastAlert.IsZero() && now.Sub(d.lastAlert) < d.every {
		return nil
	}
	d.lastAlert = now
	return &alert.Alert{
		Time:         now,
		Rule:         DropRule,
		Priority:     alert.PriorityCritical,
		Source:       "internal",
		Output:       fmt.Sprintf("Vigil lost %d events since the last check (%s)", total, formatDrops(fields)),
		Tags:         []string{"vigil", "self"},
		Hostname:     d.hostname,
		OutputFields: fields,
	}
}

func formatDrops(fields map[string]any) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s=%v", k[len("vigil.drops."):], fields[k])
	}
	return s
}
