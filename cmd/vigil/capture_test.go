package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/testutil"
)

// TestCaptureThenReplay records a real mkdir with `vigil capture` and finds
// it, and the initial state, in the output of `vigil replay`.
func TestCaptureThenReplay(t *testing.T) {
	testutil.RequireRoot(t)
	mkdir := testutil.RequireBinary(t, "mkdir")
	dir := t.TempDir()
	file := filepath.Join(dir, "test.vcap")
	target := filepath.Join(dir, "made-by-mkdir")

	var stderr bytes.Buffer
	done := make(chan int)
	go func() {
		done <- dispatch([]string{"capture", "-o", file, "--duration", "4s", "--types", "mkdirat,mkdir"}, &bytes.Buffer{}, &stderr)
	}()
	// The probe attaches and the state is scanned first, which takes a
	// while on a loaded machine: make directories until the capture ends,
	// so that some are made while it records.
	var code int
	for i := 0; ; i++ {
		if out, err := exec.Command(mkdir, fmt.Sprintf("%s-%d", target, i)).CombinedOutput(); err != nil {
			t.Fatalf("mkdir: %v %s", err, out)
		}
		select {
		case code = <-done:
		case <-time.After(100 * time.Millisecond):
			continue
		}
		break
	}
	if code != 0 {
		t.Fatalf("capture exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "records in") {
		t.Errorf("capture summary missing: %s", stderr.String())
	}

	var stdout bytes.Buffer
	stderr.Reset()
	if code := dispatch([]string{"replay", "--state", file}, &stdout, &stderr); code != 0 {
		t.Fatalf("replay exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var state struct {
		Processes []json.RawMessage `json:"processes"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &state); err != nil || len(state.Processes) == 0 {
		t.Fatalf("state line: %v (%d processes)", err, len(state.Processes))
	}
	found := false
	for _, l := range lines[1:] {
		var ev struct {
			Type string `json:"type"`
			Comm string `json:"comm"`
			Args struct {
				Path string `json:"path"`
			} `json:"args"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("event line %q: %v", l, err)
		}
		if strings.HasPrefix(ev.Args.Path, target+"-") && ev.Comm == "mkdir" && strings.HasPrefix(ev.Type, "mkdir") {
			found = true
		}
	}
	if !found {
		t.Errorf("no mkdir of %s among %d replayed events", target, len(lines)-1)
	}

	// The same capture through the rules, offline.
	rulesFile := filepath.Join(dir, "rules.yaml")
	rule := "- rule: Directory made under test\n  desc: d\n  condition: evt.type in (mkdir, mkdirat) and evt.arg.path startswith " + target +
		"\n  output: made %evt.arg.path by %proc.name\n  priority: NOTICE\n"
	if err := os.WriteFile(rulesFile, []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := dispatch([]string{"replay", "-r", rulesFile, "--json", file}, &stdout, &stderr); code != 0 {
		t.Fatalf("replay -r exit %d: %s", code, stderr.String())
	}
	var alerts int
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var a struct {
			Rule         string         `json:"rule"`
			Priority     string         `json:"priority"`
			OutputFields map[string]any `json:"output_fields"`
		}
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("alert line %q: %v", l, err)
		}
		if a.Rule != "Directory made under test" || a.Priority != "Notice" || a.OutputFields["proc.name"] != "mkdir" {
			t.Fatalf("unexpected alert %s", l)
		}
		alerts++
	}
	if alerts == 0 {
		t.Fatal("replay -r raised no alert for the recorded mkdir")
	}
}
