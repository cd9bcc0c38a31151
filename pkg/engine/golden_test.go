package engine

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/event"
	"golang.org/x/sys/unix"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGoldenOutputs renders the alerts of a few stable rules: output text and
// output fields with their Go types.
func TestGoldenOutputs(t *testing.T) {
	e := newEngine(t, loadStable(t), MatchAll)
	runc := proc(300, "runc:[1:CHILD]", "/usr/bin/runc", nil)
	sh := proc(301, "bash", "/bin/bash", runc, "-i")
	sh.TTY = 34816
	shell := execEvent(sh, containerMeta())

	cat := proc(210, "cat", "/usr/bin/cat", hostChain(), "/etc/shadow")
	read := openEvent(cat, "/etc/shadow", unix.O_RDONLY|unix.O_CLOEXEC, 3, nil)
	read.UID = 1000

	gdb := proc(212, "gdb", "/usr/bin/gdb", hostChain(), "-p", "1")
	ptrace := newEvent(event.TypePtrace, gdb)
	ptrace.Args.Request, ptrace.Args.TargetPid = unix.PTRACE_ATTACH, 1

	var b strings.Builder
	for _, ev := range []*event.Event{shell, read, ptrace} {
		e.Process(ev, func(a *alert.Alert) { writeAlert(&b, a) })
	}
	path := filepath.Join("testdata", "stable_alerts.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("alerts differ from %s (run with -update after checking):\n%s", path, b.String())
	}
}

func writeAlert(b *strings.Builder, a *alert.Alert) {
	fmt.Fprintf(b, "rule: %s\npriority: %s\ntags: %s\noutput: %s\n", a.Rule, a.Priority, strings.Join(a.Tags, ","), a.Output)
	keys := make([]string, 0, len(a.OutputFields))
	for k := range a.OutputFields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "  %s = %q (%T)\n", fmt.Sprint(k), fmt.Sprint(a.OutputFields[k]), a.OutputFields[k])
	}
	fmt.Fprintf(b, "workload: tenant=%q ns=%q pod=%q container=%q\n\n", a.Tenant, a.Namespace, a.Pod, a.ContainerID)
}
