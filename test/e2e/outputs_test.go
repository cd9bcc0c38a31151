package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestStdoutFormats reads what the agent prints on stdout: with --json one
// Falco JSON alert per line, without it Falco's text line
// `<time>: <Priority> <output>`.
func TestStdoutFormats(t *testing.T) {
	for _, tc := range []struct {
		name string
		text bool
	}{{"json", false}, {"text", true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rulesFile := writeRules(t, symlinkRule("E2E symlink to shadow", "/etc/shadow", dir))
			a := launch(t, agentOptions{text: tc.text, args: []string{"-r", rulesFile}})
			_, actions := buildBinaries(t)
			link := filepath.Join(dir, "l1")
			before := time.Now()
			run(t, context.Background(), actions, "symlink", "/etc/shadow", link)
			a.nats.wait(t, "the alert", alertWait, func(fa falcoAlert) bool { return strings.HasSuffix(fa.Output, " "+link) })
			line := waitLine(t, a, link)
			if tc.text {
				checkTextLine(t, line, before, "Warning E2E symlink to shadow at "+link)
				return
			}
			for _, l := range strings.Split(strings.TrimSpace(a.stdout.String()), "\n") {
				var keys map[string]json.RawMessage
				if err := json.Unmarshal([]byte(l), &keys); err != nil {
					t.Fatalf("stdout line is not JSON: %v: %s", err, l)
				}
				for _, k := range []string{"time", "rule", "priority", "output", "output_fields", "source", "tags", "hostname"} {
					if _, ok := keys[k]; !ok {
						t.Errorf("Falco JSON key %q missing: %s", k, l)
					}
				}
			}
			var fa falcoAlert
			if err := json.Unmarshal([]byte(line), &fa); err != nil {
				t.Fatal(err)
			}
			// Falco's JSON output field is the whole text line.
			if fa.Rule != "E2E symlink to shadow" {
				t.Errorf("rule %q", fa.Rule)
			}
			checkTextLine(t, fa.Output, before, "Warning E2E symlink to shadow at "+link)
			checkAlert(t, fa, "Warning")
			if got := fa.OutputFields["evt.arg.linkpath"]; got != link {
				t.Errorf("output field evt.arg.linkpath = %v, want %s", got, link)
			}
			if fa.Time.Before(before.Add(-time.Second)) {
				t.Errorf("alert time %v before the action (%v)", fa.Time, before)
			}
		})
	}
}

// waitLine returns the first stdout line containing s.
func waitLine(t *testing.T, a *agent, s string) string {
	t.Helper()
	deadline := time.Now().Add(alertWait)
	for {
		for _, l := range strings.Split(a.stdout.String(), "\n") {
			if strings.Contains(l, s) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stdout line with %q:\n%s", s, tail(a.stdout.String(), 10))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var textLineRE = regexp.MustCompile(`^(\d{2}:\d{2}:\d{2}\.\d{9}): (.*)$`)

// checkTextLine checks a Falco text line: a local time of day close to
// when the action ran, then the priority and the output.
func checkTextLine(t *testing.T, line string, when time.Time, rest string) {
	t.Helper()
	m := textLineRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("not a Falco text line `<time>: <Priority> <output>`: %q", line)
	}
	if m[2] != rest {
		t.Errorf("line %q, want %q after the time", m[2], rest)
	}
	tod, err := time.ParseInLocation("15:04:05.000000000", m[1], time.Local)
	if err != nil {
		t.Fatal(err)
	}
	w := when.In(time.Local)
	at := time.Date(w.Year(), w.Month(), w.Day(), tod.Hour(), tod.Minute(), tod.Second(), tod.Nanosecond(), time.Local)
	if d := at.Sub(w); d < -time.Second || d > time.Minute {
		t.Errorf("line time %s is %v away from the action at %s", m[1], d, w.Format("15:04:05.000"))
	}
}
