package prefilter

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/rules"
	"github.com/vigilsec/vigil/pkg/state"
	"golang.org/x/sys/unix"
)

// Pools the generators draw from: paths of every shape the filter treats
// differently (clean, relative, unclean, long prefixes of each other).
var (
	genPaths = []string{"/etc/shadow", "/etc", "/etc/", "/etc/pam.d", "/etc/pam.d/x", "/tmp/x", "/tmp/x.log",
		"/var/log/a.log", "/var/log", "x", "etc/shadow", "../etc/shadow", "/etc/../etc/shadow", "/etc//shadow",
		"/root/.ssh/id_rsa", "/a../b", "/", "", "/dev/sda", "/etc/./shadow", "/etc/.", "/.x", "/etc/.hidden", "/release_agent", "/sys/fs/cgroup/release_agent"}
	genValues = []string{"/etc/shadow", "/etc", "/etc/", "/etc/pam.d", "/tmp/x", "x", ".log", "shadow", "..", "/.",
		"/etc/*", "*.log", "/tmp/[ab]", "*", "/./", "/.", "/.h", ".x", "/var/log", "release_agent", "/dev/sd", "a.log", "/root/.ssh", "''"}
	genStrFields = []string{"fd.name", "fd.nameraw", "fd.directory", "fd.filename", "evt.arg.name", "evt.arg.target",
		"evt.arg.linkpath", "evt.arg.oldpath", "evt.arg.newpath", "evt.arg.path", "evt.arg.filename", "evt.arg[1]",
		"proc.name", "tolower(fd.name)"}
	genStrOps   = []string{"=", "!=", "in", "startswith", "endswith", "pmatch", "glob", "contains", "icontains", "exists"}
	genTypes    = []string{"open", "openat", "openat2", "creat", "symlink", "symlinkat", "link", "linkat", "rename", "unlink", "unlinkat", "mkdir", "chmod", "ptrace", "fchmod", "dup"}
	genFlagStrs = []string{"O_CREAT", "O_TRUNC", "O_RDONLY", "O_WRONLY", "O_RDWR", "O_DIRECTORY", "RDONLY", "O_", "O_SYNC", "O_TMPFILE", "DSYNC", "|"}
	genRequests = []string{"PTRACE_ATTACH", "16", "PTRACE_TRACEME", "PTRACE_POKEDATA", "99", "0"}
	genFlagBits = []uint64{unix.O_CREAT, unix.O_TRUNC, unix.O_DIRECTORY, unix.O_PATH, unix.O_CLOEXEC, unix.O_SYNC, unix.O_TMPFILE, unix.O_APPEND}
)

type gen struct{ r *rand.Rand }

func (g gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g gen) leaf() string {
	switch g.r.IntN(12) {
	case 0, 1, 2, 3:
		f, op := g.pick(genStrFields), g.pick(genStrOps)
		switch op {
		case "exists":
			return f + " exists"
		case "in", "pmatch":
			return fmt.Sprintf("%s %s (%s, %s)", f, op, g.pick(genValues), g.pick(genValues))
		}
		return fmt.Sprintf("%s %s %s", f, op, g.pick(genValues))
	case 4:
		return fmt.Sprintf("%s %s %s", g.pick([]string{"evt.is_open_read", "evt.is_open_write", "evt.is_open_exec", "evt.failed"}),
			g.pick([]string{"=", "!="}), g.pick([]string{"true", "false"}))
	case 5:
		return fmt.Sprintf("%s %s %s", g.pick([]string{"fd.typechar", "fd.type"}), g.pick([]string{"=", "!=", "in"}),
			g.pick([]string{"f", "d", "4", "file", "directory", "ipv4", "(f, d)", "(ipv4, ipv6)"}))
	case 6:
		return fmt.Sprintf("%s %s %s", g.pick([]string{"fd.num", "evt.rawres"}), g.pick([]string{"=", "!=", "<", "<=", ">", ">=", "in"}),
			g.pick([]string{"0", "-1", "3", "(-1, 0)"}))
	case 7:
		return fmt.Sprintf("evt.res %s %s", g.pick([]string{"=", "!=", "startswith", "in"}), g.pick([]string{"SUCCESS", "E", "ENOENT", "(SUCCESS, ENOENT)"}))
	case 8:
		return fmt.Sprintf("evt.arg.flags %s %s", g.pick([]string{"contains", "contains", "=", "startswith"}), g.pick(genFlagStrs))
	case 9:
		return fmt.Sprintf("evt.arg.request %s %s", g.pick([]string{"=", "in", "contains", "!="}), g.pick(genRequests))
	case 10:
		return fmt.Sprintf("evt.type %s %s", g.pick([]string{"=", "!=", "in"}), g.pick(genTypes))
	}
	return "evt.dir = " + g.pick([]string{"<", ">"})
}

func (g gen) cond(depth int) string {
	if depth == 0 || g.r.IntN(3) == 0 {
		return g.leaf()
	}
	switch g.r.IntN(3) {
	case 0:
		return "not (" + g.cond(depth-1) + ")"
	case 1:
		return "(" + g.cond(depth-1) + " and " + g.cond(depth-1) + ")"
	}
	return "(" + g.cond(depth-1) + " or " + g.cond(depth-1) + ")"
}

// ruleset generates rules; those that do not load alone are left out.
func (g gen) ruleset(t testing.TB, n int) *rules.Ruleset {
	var b strings.Builder
	for i := range n {
		types := []string{g.pick(genTypes), g.pick(genTypes), g.pick(genTypes)}
		item := fmt.Sprintf("- rule: r%d\n  desc: d\n  condition: evt.type in (%s) and %s and %s\n  output: o\n  priority: WARNING\n",
			i, strings.Join(types, ", "), g.leaf(), g.cond(3))
		if _, _, err := rules.LoadBytes("gen.yaml", []byte(item)); err != nil {
			continue
		}
		b.WriteString(item)
	}
	rs, _, err := rules.LoadBytes("gen.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("generated rules: %v\n%s", err, b.String())
	}
	return rs
}

func (g gen) event(num uint64) *event.Event {
	t, _ := event.TypeByName(g.pick(genTypes))
	ev := &event.Event{Num: num, Type: t, Pid: 100 + uint32(g.r.IntN(3)), Tid: 100, Timestamp: int64(num) * 1000, Comm: "gen"}
	ev.Tid = ev.Pid
	ev.Args.Path, ev.Args.Path2 = g.pick(genPaths), g.pick(genPaths)
	ev.Args.DirFd, ev.Args.DirFd2 = -100, -100
	ev.Args.Flags = uint64(g.r.IntN(4))
	for _, b := range genFlagBits {
		if g.r.IntN(4) == 0 {
			ev.Args.Flags |= b
		}
	}
	ev.Args.Mode = uint32(g.r.IntN(0o1000))
	ev.Ret = []int64{-2, 0, 3, 4}[g.r.IntN(4)]
	ev.Args.Request = []int64{0, 4, 5, 13, 16, 0x4206, 99}[g.r.IntN(7)]
	ev.Args.Fd = int32(g.r.IntN(6))
	return ev
}

// checkNoLoss generates rules and events from seed and fails when the
// prefilter rejects an event some rule matches.
func checkNoLoss(t testing.TB, seed uint64, nrules, nevents int) {
	g := gen{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	rs := g.ruleset(t, nrules)
	tb := Derive(rs).Compile()
	ev8 := rules.NewEvaluator(rules.EvalOptions{})
	table := state.New(state.Options{})
	for i := range nevents {
		ev := g.event(uint64(i + 1))
		table.Apply(ev)
		if tb.Match(ev) {
			continue
		}
		ev8.Begin(rs, ev)
		for _, r := range rs.Rules() {
			if !r.MatchesType(ev.Type) {
				continue
			}
			if ok, err := ev8.Match(r); err != nil || ok {
				var ex strings.Builder
				Derive(rs).Explain(&ex)
				t.Fatalf("seed %d: prefilter rejects %s path=%q path2=%q flags=%#o ret=%d req=%d, but rule %q (%s) matches (err %v)\nfilter:\n%s",
					seed, ev.Type, ev.Args.Path, ev.Args.Path2, ev.Args.Flags, ev.Ret, ev.Args.Request, r.Name, r.Condition, err, ex.String())
			}
		}
	}
}

// TestNoLossGenerated is the property test: over generated rules and
// events, an event the prefilter rejects matches no rule.
func TestNoLossGenerated(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 30
	}
	for seed := range uint64(n) {
		checkNoLoss(t, seed, 4, 300)
	}
}

func FuzzNoLoss(f *testing.F) {
	for _, s := range []string{"a", "open", "ptrace", "flags"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := fnv.New64a()
		h.Write(data)
		checkNoLoss(t, h.Sum64(), 3, 100)
	})
}

// TestUnionGenerated checks over generated rules and events that the union
// of two filters accepts every event either accepts.
func TestUnionGenerated(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 20
	}
	for seed := range uint64(n) {
		g := gen{rand.New(rand.NewPCG(seed, ^seed))}
		fa, fb := Derive(g.ruleset(t, 3)), Derive(g.ruleset(t, 3))
		ta, tb, tu := fa.Compile(), fb.Compile(), Union(fa, fb).Compile()
		table := state.New(state.Options{})
		for i := range 200 {
			ev := g.event(uint64(i + 1))
			table.Apply(ev)
			// A type no rule of a filter can match is not recorded for
			// it at all; that filter's Match passes it vacuously.
			accepts := func(f *Filter, tb *Tables) bool { return f.Type(ev.Type).Rules > 0 && tb.Match(ev) }
			if (accepts(fa, ta) || accepts(fb, tb)) && !tu.Match(ev) {
				t.Fatalf("seed %d: union rejects %s path=%q flags=%#o ret=%d that a filter accepts", seed, ev.Type, ev.Args.Path, ev.Args.Flags, ev.Ret)
			}
		}
	}
}
