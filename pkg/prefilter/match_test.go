package prefilter

import (
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/rules"
	"golang.org/x/sys/unix"
)

const matchRules = `
- macro: open_read
  condition: (evt.type in (open,openat,openat2) and evt.is_open_read=true and fd.typechar='f' and fd.num>=0)
- macro: open_write
  condition: (evt.type in (open,openat,openat2) and evt.is_open_write=true and fd.typechar='f' and fd.num>=0)
- list: secrets
  items: [/etc/shadow, /etc/sudoers]
- rule: read secrets
  desc: d
  condition: open_read and (fd.name in (secrets) or fd.directory = /etc/ssh) and not proc.name in (sshd)
  output: o
  priority: WARNING
- rule: write etc
  desc: d
  condition: open_write and fd.name startswith /etc/ and evt.arg.flags contains O_TRUNC
  output: o
  priority: WARNING
- rule: logs
  desc: d
  condition: open_write and fd.filename endswith .log
  output: o
  priority: WARNING
- rule: failed key
  desc: d
  condition: evt.type = openat and evt.res != SUCCESS and fd.name glob '/root/.ssh/*'
  output: o
  priority: WARNING
- rule: attach
  desc: d
  condition: evt.type = ptrace and evt.arg.request in (PTRACE_ATTACH, PTRACE_SEIZE)
  output: o
  priority: WARNING
- rule: symlink
  desc: d
  condition: evt.type = symlinkat and (evt.arg.target pmatch (/etc) or evt.arg.linkpath = /tmp/x)
  output: o
  priority: WARNING
`

func TestMatch(t *testing.T) {
	rs, _, err := rules.LoadBytes("match.yaml", []byte(matchRules))
	if err != nil {
		t.Fatal(err)
	}
	tb := Derive(rs).Compile()
	const rd, wr = unix.O_RDONLY, unix.O_WRONLY
	open := func(path string, flags uint64, ret int64) *event.Event {
		return &event.Event{Type: event.TypeOpenat, Ret: ret, Args: event.Args{Path: path, Flags: flags, DirFd: -100}}
	}
	for _, c := range []struct {
		name string
		ev   *event.Event
		want bool
	}{
		{"secret read", open("/etc/shadow", rd, 3), true},
		{"secret read failed", open("/etc/shadow", rd, -2), false},
		{"secret written", open("/etc/shadow", wr, 3), false},
		{"secret written with O_TRUNC", open("/etc/shadow", wr|unix.O_TRUNC, 3), true},
		{"ssh dir file", open("/etc/ssh/sshd_config", rd|unix.O_CLOEXEC, 3), true},
		{"other etc read", open("/etc/passwd", rd, 3), false},
		{"library read", open("/usr/lib/libc.so.6", rd|unix.O_CLOEXEC, 3), false},
		{"relative read", open("shadow", rd, 3), true},
		{"unclean read", open("/tmp/../etc/passwd", rd, 3), true},
		{"double slash", open("//etc/passwd", rd, 3), true},
		{"O_DIRECTORY", open("/usr/lib", rd|unix.O_DIRECTORY, 3), true},
		{"O_PATH", open("/usr/lib", unix.O_PATH, 3), true},
		{"opened a directory", &event.Event{Type: event.TypeOpenat, Ret: 3, Args: event.Args{Path: "/usr", OpenedDir: true}}, true},
		{"log written", open("/var/lib/app/x.log", wr|unix.O_APPEND, 3), true},
		{"log read", open("/var/lib/app/x.log", rd, 3), false},
		{"ssh key failed", open("/root/.ssh/id_rsa", rd, -13), true},
		{"ssh key read", open("/root/.ssh/id_rsa", rd, 3), false},
		{"long path", open("/"+string(make([]byte, MaxPath)), rd, 3), true},
		{"ptrace attach", &event.Event{Type: event.TypePtrace, Args: event.Args{Request: unix.PTRACE_ATTACH}}, true},
		{"ptrace seize", &event.Event{Type: event.TypePtrace, Args: event.Args{Request: unix.PTRACE_SEIZE}}, true},
		{"ptrace peek", &event.Event{Type: event.TypePtrace, Args: event.Args{Request: unix.PTRACE_PEEKDATA}}, false},
		{"symlink to etc", &event.Event{Type: event.TypeSymlinkat, Args: event.Args{Path: "/etc", Path2: "/home/a"}}, true},
		{"symlink below etc", &event.Event{Type: event.TypeSymlinkat, Args: event.Args{Path: "/etc/x", Path2: "/home/a"}}, true},
		{"symlink at /tmp/x", &event.Event{Type: event.TypeSymlinkat, Args: event.Args{Path: "/usr/x", Path2: "/tmp/x"}}, true},
		{"symlink elsewhere", &event.Event{Type: event.TypeSymlinkat, Args: event.Args{Path: "/etcetera", Path2: "/tmp/y"}}, false},
		{"unruled type", &event.Event{Type: event.TypeUnlink, Args: event.Args{Path: "/x"}}, true},
		{"state type", &event.Event{Type: event.TypeExecve, Args: event.Args{Path: "/x"}}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := tb.Match(c.ev); got != c.want {
				t.Errorf("Match = %v, want %v", got, c.want)
			}
		})
	}
}

// TestNestedPrefixes checks that a path under two prefixes of different
// clauses satisfies both.
func TestNestedPrefixes(t *testing.T) {
	rs, _, err := rules.LoadBytes("p.yaml", []byte(`
- rule: a
  desc: d
  condition: evt.type = openat and fd.name startswith /etc/ and evt.failed = true
  output: o
  priority: WARNING
- rule: b
  desc: d
  condition: evt.type = openat and fd.name startswith /etc/ssh/ and evt.failed = false
  output: o
  priority: WARNING
`))
	if err != nil {
		t.Fatal(err)
	}
	tb := Derive(rs).Compile()
	for _, c := range []struct {
		path string
		ret  int64
		want bool
	}{
		{"/etc/ssh/x", -1, true}, {"/etc/ssh/x", 0, true}, {"/etc/x", -1, true}, {"/etc/x", 0, false}, {"/usr/x", -1, false},
	} {
		ev := &event.Event{Type: event.TypeOpenat, Ret: c.ret, Args: event.Args{Path: c.path}}
		if got := tb.Match(ev); got != c.want {
			t.Errorf("%s ret %d: Match = %v, want %v", c.path, c.ret, got, c.want)
		}
	}
}

// TestRequestNames checks that ptrace requests above the scanned range
// render as numbers, so the name table is complete.
func TestRequestNames(t *testing.T) {
	loadRenderings()
	for r := int64(maxNamedRequest + 1); r < 0x10000; r += 7 {
		ev := &event.Event{Type: event.TypePtrace, Args: event.Args{Request: r}}
		if s := render(ev, "evt.arg.request"); s != itoa(int(r)) {
			t.Fatalf("request %#x renders as %q: raise maxNamedRequest", r, s)
		}
	}
	if len(requestNames["PTRACE_ATTACH"]) != 1 {
		t.Errorf("PTRACE_ATTACH: %v", requestNames["PTRACE_ATTACH"])
	}
}

// TestUnion checks that the union accepts what either filter accepts.
func TestUnion(t *testing.T) {
	load := func(cond string) *Filter {
		rs, _, err := rules.LoadBytes("u.yaml", []byte("- rule: r\n  desc: d\n  condition: "+cond+"\n  output: o\n  priority: INFO\n"))
		if err != nil {
			t.Fatal(err)
		}
		return Derive(rs)
	}
	a := load("evt.type = openat and fd.name = /etc/a")
	b := load("(evt.type = openat and fd.name = /etc/b) or (evt.type = ptrace and evt.arg.request = PTRACE_ATTACH)")
	c := load("evt.type = ptrace and proc.name = x")
	for _, c := range []struct {
		f    *Filter
		path string
		want bool
	}{
		{Union(a, b), "/etc/a", true}, {Union(a, b), "/etc/b", true}, {Union(a, b), "/etc/c", false},
		{Union(a, a), "/etc/b", false}, {Union(b, c), "/etc/b", true},
	} {
		ev := &event.Event{Type: event.TypeOpenat, Ret: 3, Args: event.Args{Path: c.path}}
		if got := c.f.Compile().Match(ev); got != c.want {
			t.Errorf("%s: Match = %v, want %v", c.path, got, c.want)
		}
	}
	ptrace := &event.Event{Type: event.TypePtrace, Args: event.Args{Request: unix.PTRACE_PEEKDATA}}
	if Union(a, b).Compile().Match(ptrace) {
		t.Error("union of a and b accepts a ptrace no rule of either wants")
	}
	if !Union(b, c).Compile().Match(ptrace) {
		t.Error("union of b and c rejects a ptrace c's unfiltered rule wants")
	}
}
