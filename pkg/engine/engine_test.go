package engine

import (
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/rules"
	"golang.org/x/sys/unix"
)

const stableRules = "../../../shared/falco/falco_rules.yaml"

func loadStable(t testing.TB) *rules.Ruleset {
	t.Helper()
	if _, err := os.Stat(stableRules); err != nil {
		t.Skipf("Falco rules fixture not found: %v", err)
	}
	rs, _, err := rules.Load(stableRules)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func newEngine(t testing.TB, rs *rules.Ruleset, matching string) *Engine {
	t.Helper()
	e, err := New(rs, Options{RuleMatching: matching, Hostname: "node-1", UserName: users, GroupName: groups,
		Now: func() time.Time { return time.Unix(0, baseTS) }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func fired(e *Engine, ev *event.Event) []*alert.Alert {
	var out []*alert.Alert
	e.Process(ev, func(a *alert.Alert) { out = append(out, a) })
	return out
}

func ruleNames(as []*alert.Alert) []string {
	var n []string
	for _, a := range as {
		n = append(n, a.Rule)
	}
	return n
}

func TestStableRulesFire(t *testing.T) {
	rs := loadStable(t)
	e := newEngine(t, rs, MatchAll)

	shellInContainer := func() *event.Event {
		runc := proc(300, "runc:[1:CHILD]", "/usr/bin/runc", nil)
		sh := proc(301, "bash", "/bin/bash", runc)
		sh.TTY = 34816
		ev := execEvent(sh, containerMeta())
		ev.TTY = 34816
		return ev
	}
	catShadow := func() *event.Event {
		cat := proc(210, "cat", "/usr/bin/cat", hostChain(), "/etc/shadow")
		return openEvent(cat, "/etc/shadow", unix.O_RDONLY|unix.O_CLOEXEC, 3, nil)
	}
	symlink := func() *event.Event {
		ln := proc(211, "ln", "/usr/bin/ln", hostChain(), "-s", "/etc/shadow", "/tmp/x")
		ev := newEvent(event.TypeSymlinkat, ln)
		ev.Args.Path, ev.Args.Path2, ev.Args.DirFd2 = "/etc/shadow", "/tmp/x", unix.AT_FDCWD
		return ev
	}
	ptraceAttach := func(req int64) *event.Event {
		gdb := proc(212, "gdb", "/usr/bin/gdb", hostChain(), "-p", "1")
		ev := newEvent(event.TypePtrace, gdb)
		ev.Args.Request, ev.Args.TargetPid = req, 1
		return ev
	}
	packetSocket := func() *event.Event {
		p := proc(213, "tcpdump", "/usr/bin/tcpdump", nil)
		ev := newEvent(event.TypeSocket, p)
		ev.Args.Domain, ev.Args.SockType, ev.Ret = unix.AF_PACKET, unix.SOCK_RAW, 4
		ev.Meta = containerMeta()
		return ev
	}
	kmod := func() *event.Event {
		p := proc(214, "insmod", "/usr/sbin/insmod", nil)
		ev := newEvent(event.TypeFinitModule, p)
		ev.CapEffective = 1<<16 | 1<<21
		ev.Meta = containerMeta()
		return ev
	}
	truncLog := func() *event.Event {
		p := proc(215, "python3", "/usr/bin/python3", hostChain())
		return openEvent(p, "/var/log/syslog", unix.O_WRONLY|unix.O_TRUNC, 3, nil)
	}
	memfdExec := func() *event.Event {
		p := proc(216, "3", "memfd:x", hostChain())
		p.ExeFromMemfd = true
		p.Exe = "memfd:x"
		ev := execEvent(p, nil)
		ev.Args.ExeFromMemfd = true
		return ev
	}

	cases := []struct {
		name string
		ev   *event.Event
		want string
	}{
		{"terminal shell in container", shellInContainer(), "Terminal shell in container"},
		{"cat /etc/shadow", catShadow(), "Read sensitive file untrusted"},
		{"symlink to /etc/shadow", symlink(), "Create Symlink Over Sensitive Files"},
		{"ptrace attach", ptraceAttach(unix.PTRACE_ATTACH), "PTRACE attached to process"},
		{"ptrace traceme", ptraceAttach(unix.PTRACE_TRACEME), "PTRACE anti-debug attempt"},
		{"packet socket", packetSocket(), "Packet socket created in container"},
		{"kernel module", kmod(), "Linux Kernel Module Injection Detected"},
		{"truncate a log", truncLog(), "Clear Log Activities"},
		{"memfd exec", memfdExec(), "Fileless execution via memfd_create"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ruleNames(fired(e, tc.ev))
			if !slices.Contains(got, tc.want) {
				t.Errorf("fired %v, want %q among them", got, tc.want)
			}
		})
	}

	quiet := []struct {
		name string
		ev   *event.Event
	}{
		{"read /etc/hosts", openEvent(proc(220, "cat", "/usr/bin/cat", hostChain()), "/etc/hosts", unix.O_RDONLY, 3, nil)},
		{"close", closeEvent(hostChain(), 3)},
		{"shell without tty", func() *event.Event { ev := shellInContainer(); ev.Proc.TTY, ev.TTY = 0, 0; return ev }()},
		{"shell on the host", func() *event.Event { ev := shellInContainer(); ev.Meta = nil; return ev }()},
		{"ptrace peekdata", ptraceAttach(unix.PTRACE_PEEKUSR)},
		{"inet socket", func() *event.Event { ev := packetSocket(); ev.Args.Domain = unix.AF_INET; return ev }()},
		{"sshd reads shadow", func() *event.Event {
			p := proc(221, "sshd", "/usr/sbin/sshd", hostChain())
			return openEvent(p, "/etc/shadow", unix.O_RDONLY, 3, nil)
		}()},
	}
	for _, tc := range quiet {
		t.Run("quiet/"+tc.name, func(t *testing.T) {
			if got := fired(e, tc.ev); len(got) != 0 {
				t.Errorf("fired %v, want nothing", ruleNames(got))
			}
		})
	}
}

func TestAlertContent(t *testing.T) {
	e := newEngine(t, loadStable(t), MatchFirst)
	cat := proc(210, "cat", "/usr/bin/cat", hostChain(), "/etc/shadow")
	ev := openEvent(cat, "/etc/shadow", unix.O_RDONLY, 3, containerMeta())
	ev.UID = 1000
	as := fired(e, ev)
	if len(as) != 1 {
		t.Fatalf("fired %v, want one alert", ruleNames(as))
	}
	a := as[0]
	if a.Rule != "Read sensitive file untrusted" || a.Priority != alert.PriorityWarning || a.Source != "syscall" || a.Hostname != "node-1" {
		t.Errorf("alert header %q %v %q %q", a.Rule, a.Priority, a.Source, a.Hostname)
	}
	if a.Tenant != "acme" || a.Namespace != "shop" || a.Pod != "web-7d9f" || a.ContainerID != "0123456789ab" {
		t.Errorf("workload %q %q %q %q", a.Tenant, a.Namespace, a.Pod, a.ContainerID)
	}
	if !a.Time.Equal(time.Unix(0, baseTS)) {
		t.Errorf("time %v", a.Time)
	}
	want := map[string]any{
		"fd.name": "/etc/shadow", "proc.aname[2]": "sshd", "proc.aname[3]": "systemd", "proc.aname[4]": nil,
		"evt.type": "openat", "user.name": "alice", "user.uid": uint64(1000), "user.loginuid": int64(-1),
		"proc.name": "cat", "proc.exepath": "/usr/bin/cat", "proc.pname": "bash", "proc.cmdline": "cat /etc/shadow",
		"proc.tty": int64(0),
	}
	for k, v := range want {
		if got, ok := a.OutputFields[k]; !ok || got != v {
			t.Errorf("output field %s = %#v (present %v), want %#v", k, got, ok, v)
		}
	}
	if len(a.OutputFields) != len(want) {
		t.Errorf("output fields %v, want exactly %d", a.OutputFields, len(want))
	}
	const out = "Sensitive file opened for reading by non-trusted program | file=/etc/shadow gparent=sshd ggparent=systemd gggparent=<NA> evt_type=openat user=alice user_uid=1000 user_loginuid=-1 process=cat proc_exepath=/usr/bin/cat parent=bash command=cat /etc/shadow terminal=0"
	if a.Output != out {
		t.Errorf("output\n got %s\nwant %s", a.Output, out)
	}
}

func TestRuleMatchingFirstAndAll(t *testing.T) {
	rs, _, err := rules.LoadBytes("t.yaml", []byte(`
- rule: A
  desc: a
  condition: evt.type = openat and fd.name startswith /etc
  output: a %fd.name
  priority: INFO
- rule: B
  desc: b
  condition: evt.type = openat and fd.name = /etc/passwd
  output: b
  priority: WARNING
- rule: C
  desc: c
  condition: evt.type = connect
  output: c
  priority: WARNING
`))
	if err != nil {
		t.Fatal(err)
	}
	ev := openEvent(hostChain(), "/etc/passwd", unix.O_RDONLY, 3, nil)
	first := newEngine(t, rs, MatchFirst)
	if got := ruleNames(fired(first, ev)); !slices.Equal(got, []string{"A"}) {
		t.Errorf("first: fired %v, want [A]", got)
	}
	fired(first, closeEvent(hostChain(), 3))
	if st := first.Stats(); st[0].Evaluated != 1 || st[0].Matched != 1 || st[1].Evaluated != 0 || st[1].Matched != 0 {
		t.Errorf("first: stats %+v, want B neither evaluated nor matched", st)
	}
	all := newEngine(t, rs, MatchAll)
	if got := ruleNames(fired(all, ev)); !slices.Equal(got, []string{"A", "B"}) {
		t.Errorf("all: fired %v, want [A B]", got)
	}
	st := all.Stats()
	if len(st) != 3 || st[0].Evaluated != 1 || st[0].Matched != 1 || st[1].Matched != 1 || st[2].Evaluated != 0 {
		t.Errorf("stats %+v", st)
	}
	if _, err := New(rs, Options{RuleMatching: "some"}); err == nil {
		t.Error("New accepted rule_matching \"some\"")
	}
}

func TestSwapWhileProcessing(t *testing.T) {
	a, _, err := rules.LoadBytes("a.yaml", []byte("- rule: A\n  desc: a\n  condition: evt.type = openat\n  output: a\n  priority: INFO\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := rules.LoadBytes("b.yaml", []byte("- rule: B\n  desc: b\n  condition: evt.type = openat\n  output: b\n  priority: INFO\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, a, MatchFirst)
	ev := openEvent(hostChain(), "/etc/passwd", unix.O_RDONLY, 3, nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 1000; i++ {
			if i%2 == 0 {
				e.Swap(b)
			} else {
				e.Swap(a)
			}
		}
	}()
	for i := 0; i < 5000; i++ {
		e.Process(ev, func(al *alert.Alert) {
			if al.Rule != "A" && al.Rule != "B" {
				t.Errorf("alert from rule %q", al.Rule)
			}
		})
	}
	wg.Wait()
	e.Swap(b)
	if got := ruleNames(fired(e, ev)); !slices.Equal(got, []string{"B"}) {
		t.Errorf("after swap fired %v, want [B]", got)
	}
}

func TestReloadKeepsWorkingRuleset(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/rules.yaml"
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("- rule: A\n  desc: a\n  condition: evt.type = openat\n  output: a\n  priority: INFO\n")
	e := newEngine(t, nil, MatchFirst)
	ev := openEvent(hostChain(), "/etc/passwd", unix.O_RDONLY, 3, nil)
	if got := fired(e, ev); len(got) != 0 {
		t.Fatalf("engine without rules fired %v", ruleNames(got))
	}
	if _, err := e.Reload(path); err != nil {
		t.Fatal(err)
	}
	write("- rule: B\n  desc: b\n  condition: evt.type = openat and proc.nme = x\n  output: b\n  priority: INFO\n")
	if _, err := e.Reload(path); err == nil {
		t.Fatal("reload of a broken file succeeded")
	}
	if got := ruleNames(fired(e, ev)); !slices.Equal(got, []string{"A"}) {
		t.Errorf("after a failed reload fired %v, want [A]", got)
	}
}
