package probe

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/prefilter"
	"github.com/vigilsec/vigil/pkg/rules"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// prefilterWorkload opens, links and traces files that Falco's stable
// rules care about and many that they do not.
const prefilterWorkload = `
D="$1"
cat /etc/shadow /etc/passwd /etc/hostname >/dev/null
head -c1 /etc/sudoers >/dev/null 2>&1
(cd /etc && cat shadow ./passwd >/dev/null)
cat /tmp/../etc/shadow //etc//passwd /etc/./hosts >/dev/null
cat /nonexistent/x /etc/nonexistent >/dev/null 2>&1
ls -R /etc/ssh /usr/share/doc/bash >/dev/null 2>&1
cp /etc/services "$D/services"
mkdir -p "$D/log" && echo x > "$D/log/a.log" && : > "$D/log/a.log"
echo x > "$D/release_agent"
ln -s /etc/shadow "$D/l1"; ln -s "$D/services" "$D/l2"; ln "$D/services" "$D/h1"
strace -f -o /dev/null true 2>/dev/null
python3 -c 'import os; fd = os.open("/etc", os.O_RDONLY); os.close(os.open("shadow", os.O_RDONLY, dir_fd=fd)); os.close(os.open("/etc/hosts", os.O_RDONLY | os.O_DIRECTORY * 0))'
`

// recorded collects the decoded events of one probe.
type recorded struct {
	mu     sync.Mutex
	events []event.Event
}

func runProbe(t *testing.T, p *Probe) (*recorded, func()) {
	r := &recorded{}
	ctx, cancel := context.WithCancel(context.Background())
	dec := event.NewDecoder(p.SyscallTable(), event.BootOffset())
	done := make(chan error, 1)
	go func() {
		done <- p.Run(ctx, func(rec []byte) {
			var ev event.Event
			if dec.Decode(rec, &ev) != nil {
				t.Errorf("decode failed")
				return
			}
			r.mu.Lock()
			r.events = append(r.events, ev)
			r.mu.Unlock()
		})
	}()
	return r, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// key is what both probes must agree on for one event.
func key(ev *event.Event) string {
	return fmt.Sprintf("%s ret=%d path=%q path2=%q flags=%#o req=%d dir=%t", ev.Type, ev.Ret,
		ev.Args.Path, ev.Args.Path2, ev.Args.Flags, ev.Args.Request, ev.Args.OpenedDir)
}

// byTid keeps the events of the workload's process tree, in order per
// thread.
func byTid(evs []event.Event, root uint32, match func(*event.Event) bool) map[uint32][]string {
	tree := map[uint32]bool{root: true}
	out := map[uint32][]string{}
	for i := range evs {
		ev := &evs[i]
		if tree[ev.PPid] {
			tree[ev.Pid] = true
		}
		if !tree[ev.Pid] || (match != nil && !match(ev)) {
			continue
		}
		out[ev.Tid] = append(out[ev.Tid], key(ev))
	}
	return out
}

// TestPrefilterKernelMatchesUserSpace runs one workload under two probes at
// once, one without and one with the prefilter of Falco's stable rules: the
// second must ship exactly the events of the first that the user-space
// twin (Tracker.Ship) accepts.
func TestPrefilterKernelMatchesUserSpace(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, "strace")
	testutil.RequireBinary(t, "python3")
	rs, _, err := rules.Load("../../../shared/falco/falco_rules.yaml")
	if err != nil {
		testutil.Unavailable(t, "Falco rules: "+err.Error())
	}
	tb := prefilter.Derive(rs).Compile()
	types := slices.Clone(rs.EventTypes())
	for typ := range event.NumTypes {
		if prefilter.Kept(typ) {
			types = append(types, typ)
		}
	}
	for _, mode := range benchModes {
		t.Run(mode, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Attach = mode
			r := kernelMatchesUserSpace(t, cfg, tb, types, prefilterWorkload, t.TempDir())
			var dirs int
			for i := range r.events {
				if r.events[i].Args.OpenedDir {
					dirs++
				}
			}
			if dirs == 0 {
				t.Error("no open flagged as returning a directory")
			}
		})
	}
}

// TestPrefilterPathWords checks the kernel's word-at-a-time path pass
// against the user-space twin on paths of every length around the 8-byte
// word boundaries, with exact, prefix and suffix entries of such lengths.
func TestPrefilterPathWords(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, "python3")
	dir := t.TempDir()
	if err := os.Mkdir(dir+"/x", 0o755); err != nil {
		t.Fatal(err)
	}
	var exact []string
	for k := 3; k <= 20; k += 3 {
		exact = append(exact, dir+"/"+strings.Repeat("a", k))
	}
	cond := fmt.Sprintf("evt.type in (open, openat) and (fd.name in (%s) or fd.name startswith %s/%s or fd.name endswith /%s or fd.name endswith %s)",
		strings.Join(exact, ", "), dir, strings.Repeat("p", 9), strings.Repeat("s", 7), strings.Repeat("t", 16))
	rs, _, err := rules.LoadBytes("words.yaml", []byte("- rule: words\n  desc: d\n  condition: "+cond+"\n  output: o\n  priority: INFO\n"))
	if err != nil {
		t.Fatal(err)
	}
	tb := prefilter.Derive(rs).Compile()
	if !tb.Types[event.TypeOpenat].Filtered {
		t.Fatal("openat not filtered")
	}
	workload := `
import os, sys
d = sys.argv[1]
for c in "apst":
    for k in range(1, 26):
        for p in (d + "/" + c * k, d + "/x/" + c * k, d + "/" + c * k + "/y"):
            try:
                os.close(os.open(p, os.O_RDONLY | os.O_CREAT, 0o644))
            except OSError:
                pass
`
	for _, mode := range benchModes {
		t.Run(mode, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Attach = mode
			r := kernelMatchesUserSpace(t, cfg, tb, []event.Type{event.TypeOpenat, event.TypeClose},
				"python3 -c '"+workload+"' \"$1\"", dir)
			// Every kind of entry let some open through.
			for _, c := range []string{"aaa", "ppppppppp", "sssssss", strings.Repeat("t", 16)} {
				if !slices.ContainsFunc(r.events, func(ev event.Event) bool {
					return ev.Type == event.TypeOpenat && strings.HasPrefix(ev.Args.Path, dir) && strings.Contains(ev.Args.Path, c)
				}) {
					t.Errorf("no open of a path with %q shipped", c)
				}
			}
		})
	}
}

// kernelMatchesUserSpace runs workload (a shell script given dir as $1)
// under two probes, one with tb installed, and checks that
// the filtered one ships exactly what the user-space twin keeps; it returns
// what the filtered probe recorded.
func kernelMatchesUserSpace(t *testing.T, cfg Config, tb *prefilter.Tables, types []event.Type, workload, dir string) *recorded {
	plain := openProbe(t, cfg, types...)
	filtered := openProbe(t, cfg, types...)
	if err := filtered.SetPrefilter(tb); err != nil {
		t.Fatal(err)
	}
	// Install twice: the second swaps generations.
	if err := filtered.SetPrefilter(tb); err != nil {
		t.Fatal(err)
	}
	ra, stopA := runProbe(t, plain)
	rb, stopB := runProbe(t, filtered)
	time.Sleep(50 * time.Millisecond)
	cmd := exec.Command("/bin/sh", "-c", workload, "sh", dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("workload: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	stopA()
	stopB()
	for _, p := range []*Probe{plain, filtered} {
		if st := p.Stats(); st.KernelDrops+st.QueueDrops > 0 {
			t.Fatalf("records dropped: %+v", st)
		}
	}
	root := uint32(cmd.Process.Pid)
	var tr prefilter.Tracker
	want := byTid(ra.events, root, func(ev *event.Event) bool { return tr.Ship(tb, ev) })
	got := byTid(rb.events, root, nil)
	all := byTid(ra.events, root, nil)
	var nWant, nAll int
	for tid, w := range want {
		nWant += len(w)
		if !slices.Equal(w, got[tid]) {
			t.Errorf("thread %d: user space keeps %d events, the kernel %d\nuser space:\n  %v\nkernel:\n  %v", tid, len(w), len(got[tid]), w, got[tid])
		}
	}
	for tid, g := range got {
		if _, ok := want[tid]; !ok {
			t.Errorf("thread %d: kernel ships %d events user space drops: %v", tid, len(g), g)
		}
	}
	for _, a := range all {
		nAll += len(a)
	}
	if nWant >= nAll {
		t.Errorf("the prefilter dropped nothing (%d of %d events)", nWant, nAll)
	}
	if filtered.PrefilterDropped() == 0 {
		t.Error("the kernel counted no prefiltered record")
	}
	closes := func(evs []event.Event) (n int) {
		for i := range evs {
			if evs[i].Type == event.TypeClose {
				n++
			}
		}
		return n
	}
	if tb.Types[event.TypeClose].TrackedOnly && closes(rb.events) >= closes(ra.events) {
		t.Errorf("no close of an untracked descriptor kept in the kernel (%d of %d shipped)", closes(rb.events), closes(ra.events))
	}
	t.Logf("workload: %d events, %d pass the prefilter", nAll, nWant)
	return rb
}

// TestSetPrefilterNil removes the prefilter: every record passes again.
func TestSetPrefilterNil(t *testing.T) {
	testutil.RequireRoot(t)
	p := openProbe(t, DefaultConfig(), event.TypeOpenat)
	rs, _, err := rules.LoadBytes("r.yaml", []byte("- rule: r\n  desc: d\n  condition: evt.type = openat and fd.name = /nonexistent/x\n  output: o\n  priority: INFO\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range []*prefilter.Tables{prefilter.Derive(rs).Compile(), nil} {
		if err := p.SetPrefilter(tb); err != nil {
			t.Fatal(err)
		}
		r, stop := runProbe(t, p)
		cmd := exec.Command("cat", "/etc/hostname")
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		stop()
		var seen bool
		for _, ev := range r.events {
			if ev.Pid == uint32(cmd.Process.Pid) && ev.Type == event.TypeOpenat && ev.Args.Path == "/etc/hostname" {
				seen = true
			}
		}
		if seen != (tb == nil) {
			t.Errorf("prefilter installed %t: open of /etc/hostname shipped %t", tb != nil, seen)
		}
	}
}
