package rules

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
	"golang.org/x/sys/unix"
)

// testEvent is an openat of /etc/shadow by `bash -c cat` whose parent is
// sshd, in a pod of tenant acme.
func testEvent() *event.Event {
	initp := &event.Process{Pid: 1, Name: "systemd", ExePath: "/usr/lib/systemd/systemd"}
	sshd := &event.Process{Pid: 10, PPid: 1, Name: "sshd", Exe: "/usr/sbin/sshd", ExePath: "/usr/sbin/sshd", Parent: initp}
	bash := &event.Process{Pid: 20, PPid: 10, Name: "bash", Exe: "bash", ExePath: "/usr/bin/bash", Args: []string{"-c", "cat"},
		Cwd: "/root", TTY: 34816, StartTS: 1_000, Parent: sshd}
	return &event.Event{Num: 7, Type: event.TypeOpenat, Timestamp: 6_000_001_000, Pid: 20, Tid: 20, PPid: 10, Comm: "bash",
		UID: 0, LoginUID: 1000, Ret: 3, CapEffective: 1<<21 | 1<<1,
		Args: event.Args{Path: "/etc/shadow", ResolvedPath: "/etc/shadow", Flags: unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC, Mode: 0o644, DirFd: unix.AT_FDCWD},
		Proc: bash,
		FD:   &event.FD{Num: 3, Type: event.FDFile, Name: "/etc/shadow", NameRaw: "/etc/shadow"},
		Meta: &event.Metadata{ContainerID: "0123456789ab", ImageRepository: "docker.io/library/nginx", PodName: "web", Namespace: "shop",
			Tenant: "acme", NamespaceLabels: map[string]string{"team": "pay"}, PodLabels: map[string]string{"app": "web"}},
	}
}

func evalCond(t *testing.T, cond string, ev *event.Event) (bool, error) {
	t.Helper()
	doc := "- rule: T\n  desc: t\n  condition: |\n    " + strings.ReplaceAll(cond, "\n", "\n    ") + "\n  output: o\n  priority: INFO\n"
	rs, _, err := LoadBytes("t.yaml", []byte(doc))
	if err != nil {
		return false, err
	}
	e := NewEvaluator(EvalOptions{UserName: func(id uint32) (string, bool) {
		if id == 0 {
			return "root", true
		}
		return "", false
	}})
	// As the engine does, a rule runs only on the event types it matches.
	r := rs.AllRules()[0]
	if !r.MatchesType(ev.Type) {
		return false, nil
	}
	e.Begin(rs, ev)
	return e.Match(r)
}

func TestConditions(t *testing.T) {
	cases := []struct {
		cond string
		want bool
	}{
		// equality and comparison
		{"proc.name = bash", true},
		{"proc.name == bash", true},
		{"proc.name != bash", false},
		{"proc.name = sh", false},
		{"fd.num >= 0", true}, {"fd.num > 3", false}, {"fd.num < 4", true}, {"fd.num <= 2", false},
		{"fd.num = 0x3", true},
		{"evt.num in (1, 7, 9)", true},
		{"proc.tty != 0", true},
		{"user.loginuid = 1000", true},
		// string operators
		{"fd.name contains shad", true}, {"fd.name contains SHAD", false},
		{"fd.name icontains SHAD", true},
		{"fd.name startswith /etc/", true}, {"fd.name endswith dow", true}, {"fd.name endswith /etc", false},
		{"fd.name bcontains 736861", true}, {"fd.name bstartswith 2f657463", true}, {"fd.name bstartswith 736861", false},
		{"fd.name glob '/etc/*'", true}, {"fd.name glob '/e?c/sha[a-z]ow'", true}, {"fd.name glob '/*dow'", true}, {"fd.name glob '/etc'", false},
		{"fd.name iglob '/ETC/*'", true}, {"fd.name glob '/ETC/*'", false},
		{"fd.name regex '/etc/s.*'", true}, {"fd.name regex 'shadow'", false},
		{"fd.name in (/etc/passwd, /etc/shadow)", true}, {"fd.name in (/etc/passwd)", false},
		{"fd.name in ()", false}, {"not fd.name in ()", true},
		{"fd.name intersects (/etc/shadow)", true},
		{"fd.name pmatch (/etc)", true}, {"fd.name pmatch (/et)", false}, {"fd.name pmatch (/usr, /etc/shadow)", true},
		{"fd.name exists", true}, {"fd.sip exists", false},
		{`fd.name = "/etc/shadow"`, true}, {`fd.name = '/etc/shadow'`, true},
		// fields with arguments and ancestry
		{"proc.aname[0] = bash", true}, {"proc.aname[1] = sshd", true}, {"proc.aname[2] = systemd", true},
		{"proc.aname[3] = systemd", false}, {"proc.aname = sshd", true}, {"proc.aname = bash", false},
		{"proc.aname in (systemd)", true}, {"proc.pname = sshd", true}, {"proc.pcmdline = sshd", true},
		{"proc.cmdline = 'bash -c cat'", true}, {"proc.args = '-c cat'", true}, {"proc.exepath = /usr/bin/bash", true},
		{"evt.arg.flags contains O_TRUNC", true}, {"evt.arg.flags contains O_RDONLY", false}, {"evt.arg.flags = 'O_WRONLY|O_CREAT|O_TRUNC'", true},
		{"evt.arg[2] = /etc/shadow", true}, {"evt.arg.name = /etc/shadow", true}, {"evt.arg.mode = 0644", true},
		{"evt.arg.nosuch exists", false},
		{"evt.is_open_write = true", true}, {"evt.is_open_read = true", false}, {"evt.res = SUCCESS", true}, {"evt.rawres = 3", true},
		{"evt.type = openat", true}, {"evt.type in (open, openat2)", false}, {"evt.type != execve", true},
		{"fd.typechar = f", true}, {"fd.directory = /etc", true}, {"fd.filename = shadow", true},
		{"thread.cap_effective contains CAP_SYS_ADMIN", true}, {"thread.cap_effective icontains dac_override", true},
		{"thread.cap_effective contains CAP_SYS_MODULE", false},
		{"user.name = root", true}, {"user.uid = 0", true}, {"proc.duration > 5000000000", true},
		{"container.id != host", true}, {"k8s.ns.name = shop", true}, {"k8s.ns.label[team] = pay", true},
		{"k8s.pod.label[app] = web", true}, {"k8s.pod.label[nope] exists", false}, {"tenant.name = acme", true},
		{"fd.rip.tenant = acme", false}, {"fd.rip.tenant != acme", false},
		// missing values: every check is false, != included
		{"fd.sip != 1.2.3.4", false}, {"fd.l4proto != tcp", false}, {"not fd.l4proto = tcp", true},
		// transformers and val()
		{"tolower(proc.name) = bash", true}, {"toupper(proc.name) = BASH", true}, {"basename(fd.name) = shadow", true},
		{"len(proc.name) = 4", true}, {"toupper(basename(fd.name)) = SHADOW", true},
		{"b64(k8s.pod.label[app]) exists", false},
		{"proc.name = val(proc.aname[0])", true}, {"proc.name = val(proc.pname)", false}, {"proc.name != val(proc.pname)", true},
		{"fd.name startswith val(fd.directory)", true},
		// precedence: not > and > or
		{"proc.name = sh or proc.name = bash and fd.num = 3", true},
		{"proc.name = bash or proc.name = sh and fd.num = 4", true},
		{"(proc.name = bash or proc.name = sh) and fd.num = 4", false},
		{"not proc.name = sh and fd.num = 3", true},
		{"not (proc.name = bash and fd.num = 4)", true},
		{"not not proc.name = bash", true},
	}
	ev := testEvent()
	for _, tc := range cases {
		got, err := evalCond(t, tc.cond, ev)
		if err != nil {
			t.Errorf("%s: %v", tc.cond, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s = %v, want %v", tc.cond, got, tc.want)
		}
	}
}

func TestConditionErrors(t *testing.T) {
	cases := []struct{ cond, want string }{
		{"proc.nme = bash", "unknown field proc.nme"},
		{"fd.num contains 3", "operator contains cannot be used with field fd.num of type int64"},
		{"fd.num = abc", `field fd.num needs a number, got "abc"`},
		{"evt.is_open_read = maybe", "needs true or false"},
		{"fd.sip = notanip", "needs an IP address"},
		{"fd.name regex '('", "invalid regular expression"},
		{"fd.name bcontains zz", "needs a hex string"},
		{"proc.aname[x] = a", "needs a non-negative index"},
		{"k8s.ns.label = a", "needs an argument"},
		{"proc.name[1] = a", "takes no argument"},
		{"tolower(fd.num) = 1", "needs a string field"},
		{"proc.name = val(fd.num)", "has type string while val(fd.num) has type int64"},
		{"no_such_macro", `undefined macro "no_such_macro"`},
		{"proc.name = bash and", "syntax error"},
		{"proc.name in bash", "needs a parenthesised list"},
		{"proc.name = (a, b)", "takes a single value"},
		{"(proc.name = bash", "expected ')'"},
		{"proc.name foo bar", "unknown operator"},
		{`proc.name = "unterminated`, "unterminated string"},
	}
	ev := testEvent()
	for _, tc := range cases {
		_, err := evalCond(t, tc.cond, ev)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.cond, err, tc.want)
		}
	}
}

func TestEscapes(t *testing.T) {
	cases := []struct{ in, want string }{
		{`"a\"b"`, `a"b`}, {`'a\'b'`, `a'b`}, {`"a\\b"`, `a\b`}, {`"a\nb"`, "a\nb"}, {`"a\tb"`, "a\tb"},
		{`"\ "`, `\ `}, {`'it"s'`, `it"s`}, {`"a b"`, "a b"},
	}
	for _, tc := range cases {
		e, err := ParseCondition("proc.name = " + tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got := e.(*CheckExpr).Values[0].Text; got != tc.want {
			t.Errorf("%s parsed as %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestIPChecks(t *testing.T) {
	ev := testEvent()
	ev.Type = event.TypeConnect
	ev.FD = &event.FD{Num: 4, Type: event.FDIPv4, SockType: unix.SOCK_STREAM, Protocol: unix.IPPROTO_TCP,
		Local: netip.MustParseAddrPort("10.0.0.5:40000"), Remote: netip.MustParseAddrPort("93.184.216.34:443"), Connected: true}
	ev.Peer = &event.Peer{PodName: "db", Namespace: "data", Tenant: "other"}
	cases := []struct {
		cond string
		want bool
	}{
		{"fd.sip = 93.184.216.34", true}, {"fd.cip = 10.0.0.5", true}, {"fd.ip = 10.0.0.5", true}, {"fd.ip = 93.184.216.34", true},
		{"fd.snet = 93.184.0.0/16", true}, {"fd.net = 10.0.0.0/8", true}, {"fd.snet in (10.0.0.0/8, 192.168.0.0/16)", false},
		{"fd.sport = 443", true}, {"fd.lport = 40000", true}, {"fd.port = 443", true}, {"fd.rport in (80, 443)", true},
		{"fd.l4proto = tcp", true}, {"fd.name = 10.0.0.5:40000->93.184.216.34:443", true}, {"fd.typechar = 4", true},
		{"fd.sockfamily = ip", true}, {"fd.connected = true", true},
		{"fd.rip.tenant != val(tenant.name)", true}, {"fd.rip.k8s.ns = data", true}, {"fd.rip.k8s.pod = db", true},
	}
	for _, tc := range cases {
		got, err := evalCond(t, tc.cond, ev)
		if err != nil || got != tc.want {
			t.Errorf("%s = %v (%v), want %v", tc.cond, got, err, tc.want)
		}
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		pat, s string
		want   bool
	}{
		{"*", "", true}, {"*", "/a/b", true}, {"/a/*", "/a/b/c", true}, {"a?c", "abc", true}, {"a?c", "ac", false},
		{"[abc]x", "bx", true}, {"[!abc]x", "bx", false}, {"[^abc]x", "dx", true}, {"[a-c]", "d", false},
		{`\*`, "*", true}, {`\*`, "a", false}, {"*.so*", "libc.so.6", true}, {"*a*b*c", "xaybzc", true}, {"*a*b*c", "xaybz", false},
		{"[", "[", true},
	}
	for _, tc := range cases {
		if got := globMatch(tc.pat, tc.s); got != tc.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tc.pat, tc.s, got, tc.want)
		}
	}
}

func TestRulesNumbers(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"20", 20, true}, {"020", 20, true}, {"-5", -5, true}, {"+5", 5, true},
		{"0x10", 16, true}, {"0X1f", 31, true}, {"0xffffffffffffffff", -1, true}, {"18446744073709551615", -1, true},
		{"-9223372036854775808", -9223372036854775808, true},
		{"0b1", 0, false}, {"0o7", 0, false}, {"2_0", 0, false}, {"0x_10", 0, false}, {"1e3", 0, false},
		{"", 0, false}, {"-", 0, false}, {"0x", 0, false}, {"-0x10", 0, false}, {"--1", 0, false}, {"+-1", 0, false},
		{"18446744073709551616", 0, false}, {"-9223372036854775809", 0, false}, {" 1", 0, false}, {"1.5", 0, false},
	}
	for _, tc := range cases {
		got, err := parseNum(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseNum(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	// Through a condition: 020 is twenty, not octal sixteen.
	ev := testEvent()
	ev.Num = 20
	if ok, err := evalCond(t, "evt.num = 020", ev); !ok || err != nil {
		t.Errorf("evt.num = 020 on event 20: %v, %v", ok, err)
	}
	if _, err := evalCond(t, "evt.num = 0b10100", ev); err == nil || !strings.Contains(err.Error(), `field evt.num needs a number, got "0b10100"`) {
		t.Errorf("0b10100: error %v", err)
	}
}
