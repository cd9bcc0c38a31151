package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/pkg/testutil"
)

// falcoRules is Falco's stable rules file, a compatibility fixture kept
// beside the repository.
var falcoRules = filepath.Join(repoRoot, "..", "shared", "falco", "falco_rules.yaml")

// defaultRulesFile is Vigil's default rules file in the repository (the
// binary embeds the same file).
var defaultRulesFile = filepath.Join(repoRoot, "rules", "vigil_rules.yaml")

// alertWait is how long a behaviour's alert may take to arrive.
const alertWait = 10 * time.Second

// behaviour is one detectable action and the alert it must raise.
type behaviour struct {
	name     string
	rule     string
	priority string
	// do performs the behaviour and returns what its alert may show.
	do func(t *testing.T, env *env) facts
	// need names the facts this rule's output carries, which its alert
	// must match; empty means all of them.
	need []string
}

// facts are output fields and the values an alert of a behaviour must
// show: exact values, and substrings for fields whose formatting is the
// rule's business. Together they single out this run's alert (a path of
// its temporary directory, a pid, an argument).
type facts struct {
	exact   map[string]string
	partial map[string]string
}

// pick returns the facts named by need (all when need is empty).
func (f facts) pick(t *testing.T, need []string) facts {
	t.Helper()
	if len(need) == 0 {
		return f
	}
	out := facts{exact: map[string]string{}, partial: map[string]string{}}
	for _, k := range need {
		if v, ok := f.exact[k]; ok {
			out.exact[k] = v
		} else if v, ok := f.partial[k]; ok {
			out.partial[k] = v
		} else {
			t.Fatalf("the behaviour knows no value for %s", k)
		}
	}
	return out
}

// mismatch says how an alert's output fields differ from f ("" when they
// match).
func (f facts) mismatch(fields map[string]any) string {
	var diffs []string
	for k, v := range f.exact {
		if g, ok := fields[k]; !ok || fmt.Sprint(g) != v {
			diffs = append(diffs, fmt.Sprintf("%s=%v, want %q", k, g, v))
		}
	}
	for k, v := range f.partial {
		if g, ok := fields[k]; !ok || !strings.Contains(fmt.Sprint(g), v) {
			diffs = append(diffs, fmt.Sprintf("%s=%v, want it to contain %q", k, g, v))
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}

// env is what behaviours may use.
type env struct {
	actions string
	dir     string // a fresh directory for this behaviour
	id      string // unique to this behaviour's run, for names outside dir
}

func newEnv(t *testing.T, actions string) *env {
	return &env{actions: actions, dir: t.TempDir(), id: fmt.Sprintf("%08x", rand.Uint32())}
}

// comm is the kernel's name of a process running the program name: its
// first 15 bytes.
func comm(name string) string { return name[:min(len(name), 15)] }

func (e *env) run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return run(t, ctx, name, args...)
}

// runAction runs the actions program (or a copy of it) and returns the
// JSON object it prints last; the action must succeed.
func (e *env) runAction(t *testing.T, exe string, args ...string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s%s", filepath.Base(exe), args, err, out, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(exe), args, err, out)
	}
	return res
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

func pidOf(res map[string]any) string { return fmt.Sprint(res["pid"]) }

func shared(t *testing.T) {
	if _, err := os.Stat(falcoRules); err != nil {
		t.Fatalf("Falco's rules fixture is missing: %v", err)
	}
}

// The behaviours.

func readShadow(t *testing.T, e *env) facts {
	marker := filepath.Join(e.dir, "no-such-file")
	e.run(t, "cat", "/etc/shadow", marker)
	return facts{exact: map[string]string{"fd.name": "/etc/shadow", "proc.name": "cat", "proc.cmdline": "cat /etc/shadow " + marker}}
}

func symlinkShadow(t *testing.T, e *env) facts {
	link := filepath.Join(e.dir, "shadow-link")
	e.run(t, e.actions, "symlink", "/etc/shadow", link)
	return facts{exact: map[string]string{"evt.arg.target": "/etc/shadow", "evt.arg.linkpath": link, "proc.name": "actions"}}
}

func hardlinkShadow(t *testing.T, e *env) facts {
	// Beside the temporary directory, on the same file system as /etc.
	link := filepath.Join(filepath.Dir(e.dir), e.id+"-shadow-hardlink")
	t.Cleanup(func() { os.Remove(link) })
	e.run(t, e.actions, "link", "/etc/shadow", link)
	return facts{exact: map[string]string{"evt.arg.oldpath": "/etc/shadow", "evt.arg.newpath": link, "proc.name": "actions"}}
}

// memfdExec runs this program again from a memfd; the kernel names the
// process after the memfd.
func memfdExec(t *testing.T, e *env) facts {
	res := e.runAction(t, e.actions, "memfd-exec", e.dir)
	return facts{exact: map[string]string{"proc.pid": pidOf(res), "proc.name": "memfd:vigil-act", "proc.exepath": "/memfd:vigil-actions",
		"proc.cmdline": "memfd:vigil-act noop " + e.dir}}
}

func shmExec(t *testing.T, e *env) facts {
	exe := filepath.Join("/dev/shm", "vigil-e2e-"+e.id)
	e.copyExe(t, exe)
	t.Cleanup(func() { os.Remove(exe) })
	e.run(t, exe, "noop", e.dir)
	name := comm(filepath.Base(exe))
	return facts{exact: map[string]string{"proc.exepath": exe, "proc.name": name, "proc.cmdline": name + " noop " + e.dir}}
}

func truncateLog(t *testing.T, e *env) facts {
	logFile := filepath.Join("/var/log", "vigil-e2e-"+e.id+".log")
	// Created without O_TRUNC: only the shell below clears it.
	f, err := os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(logFile) })
	if _, err := f.WriteString("entry\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	e.run(t, "sh", "-c", ": > "+logFile)
	return facts{exact: map[string]string{"fd.name": logFile, "proc.name": "sh", "proc.cmdline": "sh -c : > " + logFile},
		partial: map[string]string{"evt.arg.flags": "O_TRUNC"}}
}

func ptraceAttach(t *testing.T, e *env) facts {
	res := e.runAction(t, e.actions, "ptrace-attach", e.dir)
	return facts{exact: map[string]string{"proc.name": "actions", "proc.pid": pidOf(res), "proc.cmdline": "actions ptrace-attach " + e.dir},
		partial: map[string]string{"evt.arg.request": "PTRACE_ATTACH"}}
}

// ptraceTraceme makes a child call PTRACE_TRACEME.
func ptraceTraceme(t *testing.T, e *env) facts {
	res := e.runAction(t, e.actions, "ptrace-traceme", e.dir)
	return facts{exact: map[string]string{"proc.name": "actions", "proc.pid": fmt.Sprint(res["child"]), "proc.cmdline": "actions traceme-self " + e.dir},
		partial: map[string]string{"evt.arg.request": "PTRACE_TRACEME"}}
}

// writeBelow writes a new file in dir with a shell redirection.
func writeBelow(dir string) func(t *testing.T, e *env) facts {
	return func(t *testing.T, e *env) facts {
		f := filepath.Join(dir, "vigil-e2e-"+e.id)
		t.Cleanup(func() { os.Remove(f) })
		e.run(t, "sh", "-c", "echo x > "+f)
		return facts{exact: map[string]string{"fd.name": f, "proc.name": "sh", "proc.cmdline": "sh -c echo x > " + f}}
	}
}

// credentialGrep greps a directory for AWS secret keys.
func credentialGrep(t *testing.T, e *env) facts {
	e.run(t, "grep", "-r", "aws_secret_access_key", e.dir)
	return facts{exact: map[string]string{"proc.name": "grep", "proc.args": "-r aws_secret_access_key " + e.dir}}
}

// findCredentials looks for files by a credential's name.
func findCredentials(name string) func(t *testing.T, e *env) facts {
	return func(t *testing.T, e *env) facts {
		e.run(t, "find", e.dir, "-path", name)
		return facts{exact: map[string]string{"proc.name": "find", "proc.cmdline": "find " + e.dir + " -path " + name}}
	}
}

// serverShell makes a program named nginx start a shell.
func serverShell(t *testing.T, e *env) facts {
	nginx := filepath.Join(e.dir, "nginx")
	e.copyExe(t, nginx)
	e.run(t, nginx, "spawn", "/bin/sh", "-c", ": "+e.dir)
	return facts{exact: map[string]string{"proc.pname": "nginx", "proc.name": "sh", "proc.cmdline": "sh -c : " + e.dir}}
}

// sshNonStandardPort runs the real ssh client against a listening socket
// on a loopback port other than 22.
func sshNonStandardPort(t *testing.T, e *env) facts {
	ssh := testutil.RequireBinary(t, "ssh")
	// no SSH server: the client gives up after connecting
	ln := testutil.ClosingListener(t, "tcp", "127.0.0.1:0")
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	e.run(t, ssh, "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "ConnectTimeout=5", "-p", port, "vigil-e2e@127.0.0.1", "true")
	return facts{exact: map[string]string{"proc.name": "ssh", "fd.sip": "127.0.0.1", "fd.sport": port}}
}

// sshToPublicAddress connects a program named ssh to port 4444 of an
// address that is neither loopback nor private (TEST-NET-2), given to the
// loopback device of a network namespace of its own: Falco's rule ignores
// loopback and RFC 1918 destinations.
func sshToPublicAddress(t *testing.T, e *env) facts {
	unshare := testutil.RequireBinary(t, "unshare")
	ip := testutil.RequireBinary(t, "ip")
	ssh := filepath.Join(e.dir, "ssh")
	e.copyExe(t, ssh)
	const addr, port = "198.51.100.7", "4444"
	e.runAction(t, unshare, "-n", "sh", "-c",
		`"$1" link set lo up && "$1" addr add `+addr+`/32 dev lo && exec "$0" serve-connect `+addr+` `+port, ssh, ip)
	return facts{exact: map[string]string{"proc.name": "ssh", "proc.exepath": ssh, "fd.rport": port, "fd.l4proto": "tcp"},
		partial: map[string]string{"fd.name": "->" + addr + ":" + port}}
}

// sockPacket opens an AF_PACKET socket.
func sockPacket(t *testing.T, e *env) facts {
	res := e.runAction(t, e.actions, "socket-packet")
	return facts{exact: map[string]string{"proc.name": "actions", "proc.pid": pidOf(res)}, partial: map[string]string{"evt.args": "AF_PACKET"}}
}

// dupSocket duplicates a TCP socket onto standard input.
func dupSocket(t *testing.T, e *env) facts {
	res := e.runAction(t, e.actions, "dup2-socket")
	return facts{exact: map[string]string{"proc.name": "actions", "proc.pid": pidOf(res), "evt.rawres": "0", "fd.l4proto": "tcp"}}
}

// netcatExec starts a program named nc with -e.
func netcatExec(t *testing.T, e *env) facts {
	nc := filepath.Join(e.dir, "nc")
	e.copyExe(t, nc)
	e.run(t, nc, "noop", "-e", "/bin/sh", e.dir)
	return facts{exact: map[string]string{"proc.name": "nc", "proc.args": "noop -e /bin/sh " + e.dir}}
}

// terminalShell starts a shell on a pseudo-terminal (script(1)).
func terminalShell(t *testing.T, e *env) facts {
	script := testutil.RequireBinary(t, "script")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, "-qec", "/bin/sh -c ': "+e.dir+"'", "/dev/null")
	cmd.Env = append(os.Environ(), "SHELL=/bin/sh")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	return facts{exact: map[string]string{"proc.name": "sh", "proc.pname": "script"}, partial: map[string]string{"proc.cmdline": e.dir}}
}

// loadModule asks the kernel to load /dev/null as a module.
func loadModule(t *testing.T, e *env) facts {
	res := e.runAction(t, e.actions, "finit-module", e.dir)
	if fmt.Sprint(res["errno"]) == strconv.Itoa(int(unix.ENOSYS)) {
		t.Skip("NOT TESTED HERE: this kernel was built without module support (finit_module returns ENOSYS), " +
			"so no module can be loaded and the rule cannot fire; test/kernels checks the probe records finit_module on kernels with modules")
	}
	return facts{exact: map[string]string{"proc.name": "actions", "proc.pid": pidOf(res), "proc.cmdline": "actions finit-module " + e.dir}}
}

// Behaviours Vigil's default rules detect on a host.
var defaultBehaviours = []behaviour{
	{"sensitive file read", "Sensitive file read by unexpected program", "Warning", readShadow, nil},
	{"symlink to sensitive file", "Symlink to sensitive file", "Warning", symlinkShadow, nil},
	{"hardlink to sensitive file", "Hardlink to sensitive file", "Warning", hardlinkShadow, nil},
	{"fileless execution", "Fileless program execution", "Critical", memfdExec, nil},
	{"execution from /dev/shm", "Program executed from shared memory", "Warning", shmExec, nil},
	{"log file cleared", "Log file cleared", "Warning", truncateLog, nil},
	{"write below /etc", "Write below /etc directory", "Error", writeBelow("/etc"), nil},
	{"write below a binary directory", "Write below binary directory", "Error", writeBelow("/usr/local/bin"), nil},
	{"kernel module load", "Kernel module loaded", "Warning", loadModule, nil},
	{"ptrace attach", "Process attached with ptrace", "Warning", ptraceAttach, nil},
	{"ptrace anti-debug", "Anti-debugging with ptrace", "Notice", ptraceTraceme, nil},
	{"credential search", "Search for credentials", "Warning", credentialGrep, nil},
	{"shell below a server", "Shell spawned by a server process", "Warning", serverShell, nil},
	{"ssh to a non-standard port", "SSH connection to non-standard port", "Notice", sshNonStandardPort, nil},
}

// hostScope widens the default rules that watch containers only to the
// host, with the `*_scope` hooks the rules file documents.
const hostScope = `
- macro: packet_socket_scope
  condition: (evt.num > 0)
- macro: stream_redirect_scope
  condition: (evt.num > 0)
- macro: remote_shell_tool_scope
  condition: (evt.num > 0)
- macro: interactive_shell_scope
  condition: (evt.num > 0)
`

// Behaviours of the default rules scoped to containers, performed on the
// host with the scopes widened.
var hostScopedBehaviours = []behaviour{
	{"packet socket", "Packet socket opened in container", "Notice", sockPacket, nil},
	{"stdin redirected to a socket", "Standard stream redirected to network socket", "Warning", dupSocket, nil},
	{"netcat with a program", "Remote shell tool started in container", "Warning", netcatExec, nil},
	{"shell on a terminal", "Interactive shell in container", "Notice", terminalShell, nil},
}

// Falco's outputs name fewer fields; these are the ones each rule prints.
var (
	falcoProc = []string{"proc.name", "proc.cmdline"}
	falcoFile = []string{"proc.name", "proc.cmdline", "fd.name"}
)

// Behaviours Falco's stable rules detect on a host.
var falcoBehaviours = []behaviour{
	{"sensitive file read", "Read sensitive file untrusted", "Warning", readShadow, falcoFile},
	{"symlink over sensitive file", "Create Symlink Over Sensitive Files", "Warning", symlinkShadow, nil},
	{"hardlink over sensitive file", "Create Hardlink Over Sensitive Files", "Warning", hardlinkShadow, nil},
	{"fileless execution", "Fileless execution via memfd_create", "Critical", memfdExec, []string{"proc.name", "proc.cmdline", "proc.exepath"}},
	{"execution from /dev/shm", "Execution from /dev/shm", "Warning", shmExec, []string{"proc.name", "proc.cmdline", "proc.exepath"}},
	{"log file cleared", "Clear Log Activities", "Warning", truncateLog, falcoFile},
	{"ptrace attach", "PTRACE attached to process", "Warning", ptraceAttach, falcoProc},
	{"ptrace anti-debug", "PTRACE anti-debug attempt", "Notice", ptraceTraceme, falcoProc},
	{"private key search", "Search Private Keys or Passwords", "Warning", findCredentials("*/.ssh/id_rsa"), nil},
	{"AWS credentials search", "Find AWS Credentials", "Warning", findCredentials("*/.aws/credentials"), nil},
	{"ssh to a non-standard port", "Disallowed SSH Connection Non Standard Port", "Notice", sshToPublicAddress, nil},
	{"shell below a server", "Run shell untrusted", "Notice", serverShell, nil},
	{"directory traversal", "Directory traversal monitored file read", "Warning", func(t *testing.T, e *env) facts {
		raw := e.dir + strings.Repeat("/..", strings.Count(e.dir, "/")) + "/etc/passwd"
		e.run(t, "cat", raw)
		return facts{exact: map[string]string{"proc.name": "cat", "proc.cmdline": "cat " + raw, "fd.name": "/etc/passwd", "fd.nameraw": raw}}
	}, nil},
	{"bulk data removal", "Remove Bulk Data from Disk", "Warning", func(t *testing.T, e *env) facts {
		f := filepath.Join(e.dir, "secret.txt")
		if err := os.WriteFile(f, []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
		e.run(t, "shred", "-u", f)
		return facts{exact: map[string]string{"proc.name": "shred", "proc.cmdline": "shred -u " + f}}
	}, nil},
}

func TestDefaultRulesDetectBehaviours(t *testing.T) {
	a := startAgent(t)
	checkBehaviours(t, a, defaultBehaviours)
}

// TestDefaultRulesScopedToHostDetectBehaviours loads the default rules file
// and then a file that redefines the container-only scopes, as a user
// would, and performs those rules' behaviours on the host.
func TestDefaultRulesScopedToHostDetectBehaviours(t *testing.T) {
	override := filepath.Join(t.TempDir(), "host-scope.yaml")
	writeFile(t, override, hostScope)
	a := startAgent(t, "-r", defaultRulesFile, "-r", override)
	checkBehaviours(t, a, hostScopedBehaviours)
}

func TestFalcoStableRulesDetectBehaviours(t *testing.T) {
	shared(t)
	a := startAgent(t, "-r", falcoRules)
	checkBehaviours(t, a, falcoBehaviours)
}

// checkBehaviours performs each behaviour and waits for its alert, over
// HTTP and over NATS, on the host's subject for its priority.
func checkBehaviours(t *testing.T, a *agent, bs []behaviour) {
	_, actions := buildBinaries(t)
	for _, b := range bs {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, actions)
			want := b.do(t, e).pick(t, b.need)
			got := waitFacts(t, a.http, "HTTP", b.rule, want)
			checkAlert(t, got, b.priority)
			n := waitFacts(t, a.nats, "NATS", b.rule, want)
			checkAlert(t, n, b.priority)
			if wantSubject := "vigil.alerts._host." + strings.ToLower(b.priority); n.subject != wantSubject {
				t.Errorf("NATS subject %q, want %q", n.subject, wantSubject)
			}
		})
	}
}

// waitFacts waits for an alert of rule whose output fields show want; on
// timeout it reports how the rule's alerts differ.
func waitFacts(t *testing.T, c *collector, via, rule string, want facts) falcoAlert {
	t.Helper()
	deadline := time.Now().Add(alertWait)
	for {
		var near []string
		for _, fa := range c.snapshot() {
			if fa.Rule != rule {
				continue
			}
			diff := want.mismatch(fa.OutputFields)
			if diff == "" {
				return fa
			}
			near = append(near, diff)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q alert with the behaviour's output fields within %v; that rule's alerts differ: %v", via, rule, alertWait, near)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkAlert checks an alert's priority and its Falco envelope.
func checkAlert(t *testing.T, got falcoAlert, priority string) {
	t.Helper()
	if got.Priority != priority {
		t.Errorf("priority %q, want %q", got.Priority, priority)
	}
	if got.Source != "syscall" || got.Hostname == "" || got.Time.IsZero() || time.Since(got.Time) > time.Minute {
		t.Errorf("incomplete Falco alert: source %q hostname %q time %v", got.Source, got.Hostname, got.Time)
	}
	// Host processes carry no workload.
	if c, ok := got.OutputFields["container.id"]; ok && c != "host" {
		t.Errorf("container.id = %v, want host", c)
	}
}
