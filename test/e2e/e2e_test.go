package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// falcoRules is Falco's stable rules file, a compatibility fixture kept
// beside the repository.
var falcoRules = filepath.Join(repoRoot, "..", "shared", "falco", "falco_rules.yaml")

// alertWait is how long a behaviour's alert may take to arrive.
const alertWait = 10 * time.Second

// behaviour is one detectable action and the alert it must raise.
type behaviour struct {
	name     string
	rule     string
	priority string
	// do performs the behaviour; marker is unique to this run and should
	// appear in the alert's output (a path, a command-line argument).
	do func(t *testing.T, env *env) (marker string)
}

// env is what behaviours may use.
type env struct {
	actions string
	dir     string // a fresh directory for this behaviour
}

func (e *env) run(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run(t, ctx, name, args...)
}

// copyExe copies the actions program to path (so that it runs under
// another name: its comm is the file's base name).
func (e *env) copyExe(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(e.actions)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

func shared(t *testing.T) {
	if _, err := os.Stat(falcoRules); err != nil {
		t.Fatalf("Falco's rules fixture is missing: %v", err)
	}
}

// The behaviours, each returning a marker its alert's output contains.
func readShadow(t *testing.T, e *env) string {
	marker := filepath.Join(e.dir, "no-such-file")
	e.run(t, "cat", "/etc/shadow", marker)
	return marker
}

func symlinkShadow(t *testing.T, e *env) string {
	link := filepath.Join(e.dir, "shadow-link")
	e.run(t, e.actions, "symlink", "/etc/shadow", link)
	return link
}

func hardlinkShadow(t *testing.T, e *env) string {
	// Beside the temporary directory, on the same file system as /etc.
	link := filepath.Join(filepath.Dir(e.dir), filepath.Base(e.dir)+"-shadow-hardlink")
	t.Cleanup(func() { os.Remove(link) })
	e.run(t, e.actions, "link", "/etc/shadow", link)
	return link
}

func memfdExec(t *testing.T, e *env) string {
	e.run(t, e.actions, "memfd-exec")
	return "memfd"
}

func shmExec(t *testing.T, e *env) string {
	exe := filepath.Join("/dev/shm", "vigil-e2e-"+filepath.Base(e.dir))
	e.copyExe(t, exe)
	t.Cleanup(func() { os.Remove(exe) })
	e.run(t, exe, "noop")
	return exe
}

func truncateLog(t *testing.T, e *env) string {
	logFile := filepath.Join("/var/log", "vigil-e2e-"+filepath.Base(e.dir)+".log")
	if err := os.WriteFile(logFile, []byte("entry\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(logFile) })
	e.run(t, "sh", "-c", ": > "+logFile)
	return logFile
}

func ptraceAttach(t *testing.T, e *env) string {
	e.run(t, e.actions, "ptrace-attach")
	return "actions"
}

// writeBelow writes a new file in dir with a shell redirection.
func writeBelow(dir string) func(t *testing.T, e *env) string {
	return func(t *testing.T, e *env) string {
		f := filepath.Join(dir, "vigil-e2e-"+filepath.Base(e.dir))
		t.Cleanup(func() { os.Remove(f) })
		e.run(t, "sh", "-c", "echo x > "+f)
		return f
	}
}

// Behaviours Vigil's default rules detect on a host.
var defaultBehaviours = []behaviour{
	{"sensitive file read", "Sensitive file read by unexpected program", "Warning", readShadow},
	{"symlink to sensitive file", "Symlink to sensitive file", "Warning", symlinkShadow},
	{"hardlink to sensitive file", "Hardlink to sensitive file", "Warning", hardlinkShadow},
	{"fileless execution", "Fileless program execution", "Critical", memfdExec},
	{"execution from /dev/shm", "Program executed from shared memory", "Warning", shmExec},
	{"log file cleared", "Log file cleared", "Warning", truncateLog},
	{"write below /etc", "Write below /etc directory", "Error", writeBelow("/etc")},
	{"write below a binary directory", "Write below binary directory", "Error", writeBelow("/usr/local/bin")},
	{"kernel module load", "Kernel module loaded", "Warning", func(t *testing.T, e *env) string {
		if _, err := os.Stat("/sys/kernel/tracing/events/syscalls/sys_enter_finit_module"); err != nil {
			// A kernel built without module support has no such syscall
			// (ENOSYS): there is nothing to load and nothing to detect.
			t.Skip("this kernel has no finit_module syscall (built without module support)")
		}
		e.run(t, e.actions, "finit-module")
		return "finit_module"
	}},
	{"ptrace attach", "Process attached with ptrace", "Warning", ptraceAttach},
}

// Behaviours Falco's stable rules detect on a host.
var falcoBehaviours = []behaviour{
	{"sensitive file read", "Read sensitive file untrusted", "Warning", readShadow},
	{"symlink over sensitive file", "Create Symlink Over Sensitive Files", "Warning", symlinkShadow},
	{"hardlink over sensitive file", "Create Hardlink Over Sensitive Files", "Warning", hardlinkShadow},
	{"fileless execution", "Fileless execution via memfd_create", "Critical", memfdExec},
	{"execution from /dev/shm", "Execution from /dev/shm", "Warning", shmExec},
	{"log file cleared", "Clear Log Activities", "Warning", truncateLog},
	{"ptrace attach", "PTRACE attached to process", "Warning", ptraceAttach},
	{"private key search", "Search Private Keys or Passwords", "Warning", func(t *testing.T, e *env) string {
		e.run(t, "find", e.dir, "-name", "id_rsa")
		return e.dir
	}},
	{"bulk data removal", "Remove Bulk Data from Disk", "Warning", func(t *testing.T, e *env) string {
		f := filepath.Join(e.dir, "secret.txt")
		if err := os.WriteFile(f, []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
		e.run(t, "shred", "-u", f)
		return f
	}},
}

func TestDefaultRulesDetectBehaviours(t *testing.T) {
	a := startAgent(t)
	checkBehaviours(t, a, defaultBehaviours)
}

func TestFalcoStableRulesDetectBehaviours(t *testing.T) {
	shared(t)
	a := startAgent(t, "-r", falcoRules)
	checkBehaviours(t, a, falcoBehaviours)
}

func checkBehaviours(t *testing.T, a *agent, bs []behaviour) {
	_, actions := buildBinaries(t)
	for _, b := range bs {
		t.Run(b.name, func(t *testing.T) {
			e := &env{actions: actions, dir: t.TempDir()}
			marker := b.do(t, e)
			match := func(fa falcoAlert) bool {
				return fa.Rule == b.rule && strings.Contains(fa.Output, marker)
			}
			got := a.http.wait(t, b.rule+" over HTTP", alertWait, match)
			if got.Priority != b.priority {
				t.Errorf("priority %q, want %q", got.Priority, b.priority)
			}
			if got.Source != "syscall" || got.Hostname == "" || got.Time.IsZero() || len(got.OutputFields) == 0 {
				t.Errorf("incomplete Falco alert: %+v", got)
			}
			n := a.nats.wait(t, b.rule+" over NATS", alertWait, match)
			if want := "vigil.alerts._host." + strings.ToLower(b.priority); n.subject != want {
				t.Errorf("NATS subject %q, want %q", n.subject, want)
			}
		})
	}
}

// TestBenignActivityRaisesNoAlert runs ordinary work (a Go build, ls, a
// package-free shell script) from a marked directory and checks that no
// alert mentions it.
func TestBenignActivityRaisesNoAlert(t *testing.T) {
	a := startAgent(t)
	dir := t.TempDir()
	marker := filepath.Base(dir)
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { println(\"hi\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module benign\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "work.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nset -e\ncd \"$1\"\nfor i in 1 2 3; do echo $i > out-$i.txt; done\ncat out-*.txt | sort > all.txt\nwc -l all.txt\nrm out-*.txt\nls -la\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "benign"), ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run(t, ctx, filepath.Join(dir, "benign"))
	run(t, ctx, "ls", "-la", dir)
	run(t, ctx, script, dir)

	// A behaviour after the benign work proves the agent was watching.
	_, actions := buildBinaries(t)
	link := filepath.Join(dir, "shadow-link")
	run(t, ctx, actions, "symlink", "/etc/shadow", link)
	a.http.wait(t, "the closing symlink alert", alertWait, func(fa falcoAlert) bool { return strings.Contains(fa.Output, link) })
	for _, fa := range a.http.snapshot() {
		if strings.Contains(fa.Output, marker) && !strings.Contains(fa.Output, link) {
			t.Errorf("benign activity raised %q: %s", fa.Rule, fa.Output)
		}
	}
}

// symlinkRule is a rules file with one rule: a symlink to target whose link
// path lies under dir raises an alert named name.
func symlinkRule(name, target, dir string) string {
	return fmt.Sprintf(`- rule: %s
  desc: test rule
  condition: evt.type in (symlink, symlinkat) and evt.arg.target = %s and evt.arg.linkpath startswith %s
  output: "%s at %%evt.arg.linkpath"
  priority: WARNING
`, name, target, dir, name)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

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

// TestTerminateFlushesAlerts raises alerts and stops the agent with SIGTERM
// at once: every alert must still reach the receivers.
func TestTerminateFlushesAlerts(t *testing.T) {
	dir := t.TempDir()
	a := startAgent(t)
	_, actions := buildBinaries(t)
	ctx := context.Background()
	var links []string
	for i := 0; i < 5; i++ {
		link := filepath.Join(dir, fmt.Sprintf("l%d", i))
		run(t, ctx, actions, "symlink", "/etc/shadow", link)
		links = append(links, link)
	}
	time.Sleep(300 * time.Millisecond) // let the kernel records reach the agent
	if err := a.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("vigil did not exit cleanly on SIGTERM: %v", err)
	}
	for _, l := range links {
		l := l
		a.http.wait(t, "flushed alert", time.Second, func(fa falcoAlert) bool { return strings.Contains(fa.Output, l) })
		a.nats.wait(t, "flushed alert", time.Second, func(fa falcoAlert) bool { return strings.Contains(fa.Output, l) })
	}
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

// TestMetricsDescribeTheEventPath checks that /metrics reports every stage
// after real activity.
func TestMetricsDescribeTheEventPath(t *testing.T) {
	a := startAgent(t)
	_, actions := buildBinaries(t)
	link := filepath.Join(t.TempDir(), "shadow-link")
	run(t, context.Background(), actions, "symlink", "/etc/shadow", link)
	a.http.wait(t, "symlink alert", alertWait, func(fa falcoAlert) bool { return strings.Contains(fa.Output, link) })
	// Enough evaluated events for the sampled latency histogram (one event
	// in 64 is timed): failing closes of fd -1 are shipped (the kernel
	// keeps no bit for such a number), and the opens of a loop are not.
	run(t, context.Background(), actions, "loop-close", "2000")
	run(t, context.Background(), actions, "loop-open", t.TempDir(), "2000")
	time.Sleep(500 * time.Millisecond)
	checks := []struct {
		name   string
		labels []string
		min    float64
	}{
		{"vigil_events_total", []string{`type="execve"`}, 1},
		{"vigil_events_total", []string{`type="symlinkat"`}, 1},
		{"vigil_rule_matches_total", []string{`rule="Symlink to sensitive file"`}, 1},
		{"vigil_rule_evaluations_total", []string{`rule="Symlink to sensitive file"`}, 1},
		{"vigil_output_alerts_total", []string{`output="webhook"`, `result="sent"`}, 1},
		{"vigil_output_alerts_total", []string{`output="nats"`, `result="sent"`}, 1},
		{"vigil_tenant_events_total", []string{`tenant=""`}, 1},
		{"vigil_tenant_alerts_total", nil, 1},
		{"vigil_state_table_entries", []string{`table="processes"`}, 1},
		{"vigil_rules_loaded", nil, 1},
		{"vigil_engine_latency_seconds_count", nil, 1},
		// The default rules bound opens by path: the loop's opens stay in
		// the kernel.
		{"vigil_kernel_prefiltered_total", nil, 1000},
	}
	for _, c := range checks {
		if got := a.metric(t, c.name, c.labels...); got < c.min {
			t.Errorf("%s%v = %v, want >= %v", c.name, c.labels, got, c.min)
		}
	}
	for _, present := range []string{"vigil_kernel_drops_total", "vigil_queue_drops_total", "vigil_decode_errors_total", "vigil_enrich_cache_hits_total"} {
		resp, err := http.Get("http://" + a.metrics + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), present) {
			t.Errorf("/metrics lacks %s", present)
		}
	}
}

// TestDropsRaiseTheAgentsOwnAlert starves the agent (the smallest ring
// buffer and a one-record queue) under a burst of failing closes, which the
// kernel ships: the lost events must be counted and reported by the
// agent's own alert.
func TestDropsRaiseTheAgentsOwnAlert(t *testing.T) {
	a := startAgentWithConfig(t, agentConfig+`
probe:
  ring_buffer_size: 4096
  queue_size: 1
`)
	_, actions := buildBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	deadline := time.Now().Add(30 * time.Second)
	for a.metric(t, "vigil_kernel_drops_total")+a.metric(t, "vigil_queue_drops_total") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no drop counted under a burst with a 4 KiB ring buffer")
		}
		run(t, ctx, actions, "loop-close", "20000")
	}
	got := a.http.wait(t, "the drop alert", 15*time.Second, func(fa falcoAlert) bool { return fa.Rule == "Vigil event drops" })
	if got.Priority != "Critical" || !strings.Contains(got.Output, "lost") {
		t.Errorf("drop alert %+v", got)
	}
}

// TestConfigChangeSwitchesRulesFiles rewrites the config file to name
// another rules file: the new rules take effect without a restart.
func TestConfigChangeSwitchesRulesFiles(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.yaml"), filepath.Join(dir, "second.yaml")
	writeFile(t, first, symlinkRule("First rules", "/etc/shadow", dir))
	writeFile(t, second, symlinkRule("Second rules", "/etc/passwd", dir))
	a := startAgentWithConfig(t, agentConfig+"rules:\n  files: ["+first+"]\n")
	_, actions := buildBinaries(t)
	ctx := context.Background()
	l1 := filepath.Join(dir, "l1")
	run(t, ctx, actions, "symlink", "/etc/shadow", l1)
	a.http.wait(t, "first rules", alertWait, func(fa falcoAlert) bool { return fa.Rule == "First rules" && strings.Contains(fa.Output, l1) })

	writeFile(t, a.configFile, agentConfig+"rules:\n  files: ["+second+"]\n")
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; ; i++ {
		l := filepath.Join(dir, fmt.Sprintf("p%d", i))
		run(t, ctx, actions, "symlink", "/etc/passwd", l)
		found := false
		for _, fa := range a.http.snapshot() {
			if fa.Rule == "Second rules" {
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the config's new rules file never took effect\n%s", tail(a.stderr.String(), 20))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
