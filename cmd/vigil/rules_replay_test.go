package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReplayRulesJSON runs Falco's stable rules over a capture file written
// from constructed kernel records, without root: `vigil replay -r RULES
// --json` prints the alerts as Falco's JSON lines.
func TestReplayRulesJSON(t *testing.T) {
	const stable = "../../../shared/falco/falco_rules.yaml"
	if _, err := os.Stat(stable); err != nil {
		t.Skipf("Falco rules fixture not found: %v", err)
	}
	const (
		sysExecve    = 59
		sysOpenat    = 257
		sysSymlinkat = 266
		atFDCWD      = 0xffffffffffffff9c
	)
	path := writeTestCapture(t,
		// find / -name id_rsa (the exe part lists path components leaf first)
		withComm("find", testRecord(2, sysExecve, 0, [6]uint64{}, []byte{21}, []byte("/usr/bin/find"),
			[]byte{18}, []byte("find\x00/\x00-name\x00id_rsa\x00"), []byte{19}, []byte("find\x00bin\x00usr\x00"))),
		// then, from the same process, symlinkat("/etc/shadow", AT_FDCWD, "/tmp/x")
		withComm("find", testRecord(1, sysSymlinkat, 0, [6]uint64{0, atFDCWD, 0}, []byte{1}, []byte("/etc/shadow"), []byte{3}, []byte("/tmp/x"))),
		// and an open of /etc/hosts, which no rule minds
		withComm("find", testRecord(1, sysOpenat, 3, [6]uint64{atFDCWD, 0, unix.O_RDONLY}, []byte{2}, []byte("/etc/hosts"))),
		testRecord(4, -1, 0, [6]uint64{}),
	)
	var stdout, stderr bytes.Buffer
	if code := dispatch([]string{"replay", "-r", stable, "--json", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	type jsonAlert struct {
		Rule         string         `json:"rule"`
		Priority     string         `json:"priority"`
		Source       string         `json:"source"`
		Output       string         `json:"output"`
		Tags         []string       `json:"tags"`
		OutputFields map[string]any `json:"output_fields"`
	}
	var got []jsonAlert
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var a jsonAlert
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		got = append(got, a)
	}
	want := []struct {
		rule, priority string
		fields         map[string]any
	}{
		{"Search Private Keys or Passwords", "Warning", map[string]any{"proc.name": "find", "proc.cmdline": "find / -name id_rsa", "evt.type": "execve"}},
		{"Create Symlink Over Sensitive Files", "Warning", map[string]any{"evt.arg.target": "/etc/shadow", "evt.arg.linkpath": "/tmp/x",
			"proc.name": "find", "proc.exepath": "/usr/bin/find", "proc.cmdline": "find / -name id_rsa"}},
	}
	if len(got) != len(want) {
		t.Fatalf("%d alerts, want %d:\n%s", len(got), len(want), stdout.String())
	}
	for i, w := range want {
		a := got[i]
		if a.Rule != w.rule || a.Priority != w.priority || a.Source != "syscall" || len(a.Tags) == 0 || a.Output == "" {
			t.Errorf("alert %d: %q %q %q tags %v output %q, want %q %q", i, a.Rule, a.Priority, a.Source, a.Tags, a.Output, w.rule, w.priority)
		}
		for k, v := range w.fields {
			if a.OutputFields[k] != v {
				t.Errorf("alert %d (%s): output field %s = %#v, want %#v", i, a.Rule, k, a.OutputFields[k], v)
			}
		}
	}
}

// withComm sets the comm of a record made by testRecord.
func withComm(comm string, rec []byte) []byte {
	clear(rec[136:152])
	copy(rec[136:151], comm)
	return rec
}
