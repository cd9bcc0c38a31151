package enrich

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/state"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// TestParkedEventKeepsItsViews parks events of a container (no lookup
// answers) while the state stage applies later events that change the same
// process, its parent and its socket in place: each released event must show
// the views as they were when it arrived.
func TestParkedEventKeepsItsViews(t *testing.T) {
	testutil.RequireRoot(t)
	cfg := testConfig(t)
	cfg.WaitTimeout = 50 * time.Millisecond
	e := newTestEnricher(t, cfg, false) // no workers: everything waits
	cg := mkCgroup(t, e, "docker/"+testCID)
	tab := state.New(state.Options{})

	const shell, app = 300, 301
	t0 := time.Now()
	ts := t0.UnixNano()
	mk := func(typ event.Type, pid, ppid uint32, comm string, ret int64, a event.Args) *event.Event {
		ts += int64(time.Microsecond)
		return &event.Event{Type: typ, Timestamp: ts, Pid: pid, Tid: pid, PPid: ppid, Comm: comm, Ret: ret, Args: a, CgroupID: cg}
	}
	dns1 := event.Sockaddr{Family: event.AFInet, Addr: netip.MustParseAddr("10.0.0.1"), Port: 53}
	dns2 := event.Sockaddr{Family: event.AFInet, Addr: netip.MustParseAddr("10.0.0.2"), Port: 53}
	steps := []*event.Event{
		mk(event.TypeExecve, shell, 1, "sh", 0, event.Args{Path: "/bin/sh", Argv: []string{"sh", "-c", "run"}, ExePath: "/bin/sh"}),
		mk(event.TypeExecve, app, shell, "first", 0, event.Args{Path: "/bin/first", Argv: []string{"/bin/first", "-a"}, ExePath: "/bin/first"}),
		mk(event.TypeSocket, app, shell, "first", 3, event.Args{Domain: unix.AF_INET, SockType: unix.SOCK_DGRAM}),
		mk(event.TypeConnect, app, shell, "first", 0, event.Args{Fd: 3, Addr: dns1}),
		mk(event.TypeExecve, shell, 1, "sh2", 0, event.Args{Path: "/bin/sh2", Argv: []string{"sh2"}, ExePath: "/bin/sh2"}),
		mk(event.TypeConnect, app, shell, "first", 0, event.Args{Fd: 3, Addr: dns2}),
		mk(event.TypeExecve, app, shell, "second", 0, event.Args{Path: "/bin/second", Argv: []string{"/bin/second"}, ExePath: "/bin/second"}),
	}
	var s sink
	e.Flush(t0, s.next)
	var ev event.Event // reused, as the pipeline reuses its event
	for i, st := range steps {
		ev = *st
		ev.Num = uint64(i + 1)
		tab.Apply(&ev)
		e.Process(&ev, s.next)
	}
	if len(s.evs) != 0 {
		t.Fatalf("%d events passed while the lookup was pending", len(s.evs))
	}
	e.Flush(t0.Add(time.Second), s.next)
	if len(s.evs) != len(steps) {
		t.Fatalf("%d events released, want %d", len(s.evs), len(steps))
	}

	type view struct {
		name, exe, exepath, pname string
		args                      []string
		remote                    string
	}
	tests := []struct {
		num  uint64
		want view
	}{
		{2, view{name: "first", exe: "/bin/first", exepath: "/bin/first", pname: "sh", args: []string{"-a"}}},
		{4, view{name: "first", exe: "/bin/first", exepath: "/bin/first", pname: "sh", args: []string{"-a"}, remote: "10.0.0.1:53"}},
		{5, view{name: "sh2", exe: "sh2", exepath: "/bin/sh2"}},
		{6, view{name: "first", exe: "/bin/first", exepath: "/bin/first", pname: "sh2", args: []string{"-a"}, remote: "10.0.0.2:53"}},
		{7, view{name: "second", exe: "/bin/second", exepath: "/bin/second", pname: "sh2"}},
	}
	for _, tt := range tests {
		out := s.evs[tt.num-1]
		if out.Num != tt.num {
			t.Fatalf("event %d released as %d: out of order", tt.num, out.Num)
		}
		p := out.Proc
		got := view{name: p.Name, exe: p.Exe, exepath: p.ExePath, args: p.Args}
		if p.Parent != nil && p.Parent.Pid == shell {
			got.pname = p.Parent.Name
		}
		if out.FD != nil && out.FD.Remote.IsValid() {
			got.remote = out.FD.Remote.String()
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("event %d released as %+v, want %+v as it was applied", tt.num, got, tt.want)
		}
	}
	// The table itself moved on.
	if p := tab.Process(app); p.Name != "second" || p.Parent.Name != "sh2" {
		t.Fatalf("table process = %+v", p)
	}
}

// TestTimedOutEntryKeepsMetadata releases a container's events at the wait
// timeout before any lookup answered: they and the later hit-path events
// carry the cluster and node, and once the lookup answers, the container id
// from the path.
func TestTimedOutEntryKeepsMetadata(t *testing.T) {
	testutil.RequireRoot(t)
	cfg := testConfig(t)
	cfg.WaitTimeout = 20 * time.Millisecond
	e := newTestEnricher(t, cfg, false) // workers started below
	cg := mkCgroup(t, e, "docker/"+testCID)
	t0 := time.Now()
	var s sink
	e.Flush(t0, s.next)
	e.Process(&event.Event{Num: 1, Timestamp: t0.UnixNano(), CgroupID: cg}, s.next)
	e.Flush(t0.Add(cfg.WaitTimeout), s.next)
	e.Process(&event.Event{Num: 2, Timestamp: t0.UnixNano() + 1, CgroupID: cg}, s.next)
	if len(s.evs) != 2 {
		t.Fatalf("%d events out after the timeout, want 2", len(s.evs))
	}
	for _, ev := range s.evs {
		if m := ev.Meta; m == nil || m.Cluster != "test-cluster" || m.Node != "node-1" || m.Complete {
			t.Fatalf("event %d after the timeout: meta %+v", ev.Num, m)
		}
	}

	ctx := t.Context()
	e.Start(ctx) // the lookup queued at the miss now answers
	want := event.Metadata{ContainerID: testCID[:12], ContainerFullID: testCID, Cluster: "test-cluster", Node: "node-1", Complete: true}
	end := time.Now().Add(2 * time.Second)
	for n := uint64(3); ; n++ {
		e.Flush(time.Now(), s.next)
		e.Process(&event.Event{Num: n, Timestamp: time.Now().UnixNano(), CgroupID: cg}, s.next)
		m := s.evs[len(s.evs)-1].Meta
		if m == nil {
			t.Fatalf("event %d has no metadata", n)
		}
		if reflect.DeepEqual(*m, want) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("meta after the lookup = %+v, want %+v", *m, want)
		}
		time.Sleep(time.Millisecond)
	}
}
