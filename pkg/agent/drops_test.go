package agent

import (
	"testing"
	"time"
)

func TestDropWatch(t *testing.T) {
	t0 := time.Unix(1000, 0)
	d := newDropWatch(10, time.Minute, "node")
	steps := []struct {
		at       time.Duration
		counters map[string]uint64
		alert    bool
		output   string
	}{
		{0, map[string]uint64{"kernel": 0, "queue": 0}, false, ""},
		{time.Second, map[string]uint64{"kernel": 5, "queue": 4}, false, ""}, // 9 < 10
		{2 * time.Second, map[string]uint64{"kernel": 20, "queue": 4}, true, "Vigil lost 15 events since the last check (kernel=15 queue=0)"},
		{3 * time.Second, map[string]uint64{"kernel": 100, "queue": 4}, false, ""}, // within a minute of the last alert
		{2 * time.Minute, map[string]uint64{"kernel": 200, "queue": 4}, true, "Vigil lost 100 events since the last check (kernel=100 queue=0)"},
		{3 * time.Minute, map[string]uint64{"kernel": 12, "queue": 4}, true, "Vigil lost 12 events since the last check (kernel=12 queue=0)"}, // reset counter
	}
	for i, s := range steps {
		a := d.check(t0.Add(s.at), s.counters)
		if (a != nil) != s.alert {
			t.Fatalf("step %d: alert = %v, want %v", i, a != nil, s.alert)
		}
		if a != nil && a.Output != s.output {
			t.Fatalf("step %d: output %q, want %q", i, a.Output, s.output)
		}
		if a != nil && (a.Rule != DropRule || a.Hostname != "node") {
			t.Fatalf("step %d: alert %+v", i, a)
		}
	}
}
