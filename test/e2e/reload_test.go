package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReloadWithBrokenRulesKeepsDetecting breaks the rules file, sends
// SIGHUP, and checks that the running rules still fire; then fixes it.
func TestReloadWithBrokenRulesKeepsDetecting(t *testing.T) {
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yaml")
	good := symlinkRule("E2E symlink to shadow", "/etc/shadow", dir)
	writeFile(t, rulesFile, good)
	a := startAgent(t, "-r", rulesFile)
	_, actions := buildBinaries(t)
	ctx := context.Background()

	link1 := filepath.Join(dir, "l1")
	run(t, ctx, actions, "symlink", "/etc/shadow", link1)
	a.http.wait(t, "alert before reload", alertWait, func(fa falcoAlert) bool { return strings.Contains(fa.Output, link1) })

	writeFile(t, rulesFile, good+"- rule: Broken\n  condition: evt.type = open and no.such.field = 1\n  output: x\n  priority: WARNING\n  desc: d\n")
	if err := a.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for a.metric(t, "vigil_rules_reloads_total", `result="error"`) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the broken reload was not counted")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(a.stderr.String(), "rules.yaml:") || !strings.Contains(a.stderr.String(), "no.such.field") {
		t.Errorf("the reload error does not name file:line and the field:\n%s", tail(a.stderr.String(), 10))
	}
	link2 := filepath.Join(dir, "l2")
	run(t, ctx, actions, "symlink", "/etc/shadow", link2)
	a.http.wait(t, "alert after a failed reload", alertWait, func(fa falcoAlert) bool { return strings.Contains(fa.Output, link2) })
}

// TestReloadLosesNoEvent performs a stream of detectable actions while the
// rules are reloaded again and again (SIGHUP and file rewrites): every
// action's alert must arrive.
func TestReloadLosesNoEvent(t *testing.T) {
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yaml")
	rule := symlinkRule("E2E symlink to shadow", "/etc/shadow", dir)
	writeFile(t, rulesFile, rule)
	a := startAgent(t, "-r", rulesFile)
	_, actions := buildBinaries(t)

	const n = 40
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 10; i++ {
			if i%2 == 0 {
				_ = a.cmd.Process.Signal(syscall.SIGHUP)
			} else {
				_ = os.WriteFile(rulesFile, []byte(rule+fmt.Sprintf("# rewrite %d\n", i)), 0o644)
			}
			time.Sleep(150 * time.Millisecond)
		}
	}()
	var links []string
	for i := 0; i < n; i++ {
		link := filepath.Join(dir, fmt.Sprintf("reload-%02d", i))
		run(t, context.Background(), actions, "symlink", "/etc/shadow", link)
		links = append(links, link)
		time.Sleep(30 * time.Millisecond)
	}
	<-done
	for _, l := range links {
		l := l
		a.http.wait(t, "alert across reloads "+l, alertWait, func(fa falcoAlert) bool { return strings.HasSuffix(fa.Output, l) })
	}
	if ok := a.metric(t, "vigil_rules_reloads_total", `result="ok"`); ok < 3 {
		t.Errorf("only %v successful reloads counted", ok)
	}
}

// TestConfigChangeSwitchesRulesFiles rewrites the config file to name a
// rules file in another directory: the new rules take effect without a
// restart, and from then on edits of the new file reload while
// rules.watch is on. With rules.watch off the config file is still
// watched (it names the rules files and rules.watch itself), but the rules
// files are not.
func TestConfigChangeSwitchesRulesFiles(t *testing.T) {
	for _, tc := range []struct {
		name  string
		watch bool
	}{{"rules watched", true}, {"rules.watch off", false}} {
		t.Run(tc.name, func(t *testing.T) {
			// Links in one directory, each rules file in another: only
			// the rules files' own changes can reload.
			dir := t.TempDir()
			first, second := filepath.Join(t.TempDir(), "first.yaml"), filepath.Join(t.TempDir(), "second.yaml")
			writeFile(t, first, symlinkRule("First rules", "/etc/shadow", dir))
			writeFile(t, second, symlinkRule("Second rules", "/etc/passwd", dir))
			config := func(rules string) string {
				return agentConfig + fmt.Sprintf("rules:\n  watch: %v\n  files: [%s]\n", tc.watch, rules)
			}
			a := startAgentWithConfig(t, config(first))
			_, actions := buildBinaries(t)
			ctx := context.Background()
			l1 := filepath.Join(dir, "l1")
			run(t, ctx, actions, "symlink", "/etc/shadow", l1)
			a.http.wait(t, "first rules", alertWait, func(fa falcoAlert) bool { return fa.Rule == "First rules" && strings.Contains(fa.Output, l1) })

			writeFile(t, a.configFile, config(second))
			untilAlert(t, a, dir, "/etc/passwd", "Second rules", 15*time.Second)

			// An edit of the new rules file, in a directory the agent did
			// not watch at start.
			reloads := a.metric(t, "vigil_rules_reloads_total")
			writeFile(t, second, symlinkRule("Second rules edited", "/etc/passwd", dir))
			if tc.watch {
				untilAlert(t, a, dir, "/etc/passwd", "Second rules edited", 15*time.Second)
				return
			}
			time.Sleep(2 * time.Second) // well past the watch's debounce
			if n := a.metric(t, "vigil_rules_reloads_total"); n != reloads {
				t.Errorf("rules.watch off: an edit of a rules file reloaded (%v reloads, %v before)", n, reloads)
			}
			l := filepath.Join(dir, "after-edit")
			run(t, ctx, actions, "symlink", "/etc/passwd", l)
			got := a.http.wait(t, "the running rules", alertWait, func(fa falcoAlert) bool { return strings.Contains(fa.Output, l) })
			if got.Rule != "Second rules" {
				t.Errorf("rules.watch off: rule %q fired, want the running %q", got.Rule, "Second rules")
			}
		})
	}
}

// untilAlert makes symlinks to target under dir until an alert of rule
// arrives, or fails after timeout.
func untilAlert(t *testing.T, a *agent, dir, target, rule string, timeout time.Duration) {
	t.Helper()
	_, actions := buildBinaries(t)
	deadline := time.Now().Add(timeout)
	for i := 0; ; i++ {
		l := filepath.Join(dir, fmt.Sprintf("%s-%d", strings.ReplaceAll(rule, " ", "-"), i))
		run(t, context.Background(), actions, "symlink", target, l)
		time.Sleep(200 * time.Millisecond)
		for _, fa := range a.http.snapshot() {
			if fa.Rule == rule {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("rule %q never took effect\n%s", rule, tail(a.stderr.String(), 20))
		}
	}
}

// TestEarlyHangupReloadsOnceReady sends SIGHUP to the real binary as soon
// as it logs its first line, long before the probes are loaded: the agent
// must not die of it, and must reload once, when it runs.
func TestEarlyHangupReloadsOnceReady(t *testing.T) {
	a := launch(t, agentOptions{noWait: true})
	deadline := time.Now().Add(30 * time.Second)
	for a.stderr.String() == "" {
		if time.Now().After(deadline) {
			t.Fatal("vigil logged nothing within 30s")
		}
		time.Sleep(time.Millisecond)
	}
	if strings.Contains(a.stderr.String(), "vigil running") {
		t.Fatalf("vigil was running before its first line was seen: the SIGHUP would not be early\n%s", a.stderr.String())
	}
	if err := a.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	a.waitReady(t)
	// The start counts one successful load, the queued SIGHUP another.
	deadline = time.Now().Add(15 * time.Second)
	for a.metric(t, "vigil_rules_reloads_total", `result="ok"`) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the early SIGHUP never reloaded\n%s", tail(a.stderr.String(), 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if n := a.metric(t, "vigil_rules_reloads_total", `result="ok"`); n != 2 {
		t.Errorf("%v successful loads, want the start and one reload", n)
	}
	if n := strings.Count(a.stderr.String(), `"reason":"SIGHUP"`); n != 1 {
		t.Errorf("%d reloads logged for SIGHUP, want 1\n%s", n, tail(a.stderr.String(), 20))
	}
	select {
	case err := <-a.done:
		a.done <- err
		t.Fatalf("vigil exited: %v", err)
	default:
	}
}

// antiDebugRule is a rules file item that fires on PTRACE_TRACEME.
const antiDebugRule = `- rule: E2E anti-debug
  desc: test rule
  condition: evt.type = ptrace and evt.arg.request contains PTRACE_TRACEME
  output: "E2E anti-debug pid=%proc.pid"
  priority: NOTICE
`

// TestReloadWidensKernelSyscallSet starts with rules that never look at
// ptrace, so the kernel must not emit it; a reload that adds a ptrace rule
// must make the kernel emit it and the rule fire.
func TestReloadWidensKernelSyscallSet(t *testing.T) {
	dir := t.TempDir()
	rule := symlinkRule("E2E symlink to shadow", "/etc/shadow", dir)
	rulesFile := writeRules(t, rule)
	a := startAgent(t, "-r", rulesFile)
	_, actions := buildBinaries(t)
	e := newEnv(t, actions)

	ptraceTraceme(t, e)
	link := filepath.Join(dir, "after-traceme")
	run(t, context.Background(), actions, "symlink", "/etc/shadow", link)
	a.http.wait(t, "the symlink after the traceme", alertWait, func(fa falcoAlert) bool { return strings.Contains(fa.Output, link) })
	if n := a.metric(t, "vigil_events_total", `type="ptrace"`); n != 0 {
		t.Fatalf("the kernel emitted %v ptrace events though no rule looks at ptrace", n)
	}

	writeFile(t, rulesFile, rule+antiDebugRule)
	if err := a.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for a.metric(t, "vigil_rules_reloads_total", `result="ok"`) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no reload\n%s", tail(a.stderr.String(), 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
	want := ptraceTraceme(t, e)
	got := a.http.wait(t, "the new ptrace rule", alertWait, func(fa falcoAlert) bool {
		return fa.Rule == "E2E anti-debug" && strings.HasSuffix(fa.Output, ": Notice E2E anti-debug pid="+want.exact["proc.pid"])
	})
	checkAlert(t, got, "Notice")
	if n := a.metric(t, "vigil_events_total", `type="ptrace"`); n < 1 {
		t.Errorf("vigil_events_total{type=\"ptrace\"} = %v after the reload", n)
	}
}
