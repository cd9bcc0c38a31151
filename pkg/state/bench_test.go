package state

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
)

// benchTable returns a table seeded with n long-lived processes, each with
// a cwd and a terminal on fds 0-2, under init.
func benchTable(n int) *Table {
	s := &Snapshot{Version: SnapshotVersion, TakenAt: t0}
	s.Processes = append(s.Processes, ProcessSnapshot{Pid: 1, Name: "init", Cwd: "/", SID: 1, VPid: 1})
	for i := 0; i < n; i++ {
		pid := uint32(1000 + i)
		s.Processes = append(s.Processes, ProcessSnapshot{
			Pid: pid, PPid: 1, Name: "worker", Exe: "worker", ExePath: "/usr/bin/worker",
			Args: []string{"--id", strconv.Itoa(i)}, Cwd: "/var/lib/worker", SID: pid, VPid: pid,
			FDs: []FDSnapshot{{Num: 0, Type: "f", Name: "/dev/null"}, {Num: 1, Type: "f", Name: "/dev/null"}, {Num: 2, Type: "f", Name: "/dev/null"}},
		})
	}
	t := New(Options{})
	if err := t.Seed(s); err != nil {
		panic(err)
	}
	return t
}

// benchCycle is one round of a worker's activity: file opens (absolute,
// relative, failed), a TCP connection, and a child that is forked, execs,
// opens a file and exits.
func benchCycle(pid, child uint32) []event.Event {
	e := func(typ event.Type, p, pp uint32, ret int64, a event.Args) event.Event {
		return event.Event{Type: typ, Pid: p, Tid: p, PPid: pp, Ret: ret, Args: a, Comm: "worker", LoginUID: 0xffffffff}
	}
	var out []event.Event
	for i := 0; i < 10; i++ {
		out = append(out,
			e(event.TypeOpenat, pid, 1, 3, event.Args{DirFd: atFDCWD, Path: "/etc/ld.so.cache", Flags: oCloexec}),
			e(event.TypeClose, pid, 1, 0, event.Args{Fd: 3}))
	}
	for i := 0; i < 3; i++ {
		out = append(out,
			e(event.TypeOpenat, pid, 1, 4, event.Args{DirFd: atFDCWD, Path: "data/state.db", Flags: oRdwr}),
			e(event.TypeClose, pid, 1, 0, event.Args{Fd: 4}))
	}
	out = append(out,
		e(event.TypeOpenat, pid, 1, -2, event.Args{DirFd: atFDCWD, Path: "/usr/lib/x86_64-linux-gnu/libmissing.so"}),
		e(event.TypeOpen, pid, 1, -2, event.Args{Path: "/lib/libmissing.so"}),
		e(event.TypeSocket, pid, 1, 5, event.Args{Domain: event.AFInet, SockType: sockStream | sockCloexec}),
		e(event.TypeConnect, pid, 1, 0, event.Args{Fd: 5, Addr: sa4("10.96.0.1", 443), LocalAddr: sa4("10.0.0.7", 40000)}),
		e(event.TypeSendto, pid, 1, 100, event.Args{Fd: 5}),
		e(event.TypeClose, pid, 1, 0, event.Args{Fd: 5}),
		e(event.TypeClone, pid, 1, int64(child), event.Args{Flags: 0x1200011}),
		e(event.TypeExecve, child, pid, 0, event.Args{Path: "/bin/sh", Argv: []string{"sh", "-c", "true"}, ExePath: "/usr/bin/dash"}),
		e(event.TypeOpenat, child, pid, 3, event.Args{DirFd: atFDCWD, Path: "/etc/passwd"}),
		e(event.TypeClose, child, pid, 0, event.Args{Fd: 3}),
		e(event.TypeProcExit, child, pid, 0, event.Args{}),
	)
	return out
}

func BenchmarkApply(b *testing.B) {
	const workers = 500
	var mix []event.Event
	for c := 0; c < 200; c++ {
		mix = append(mix, benchCycle(uint32(1000+c%workers), uint32(100000+c))...)
	}
	only := func(types ...event.Type) []event.Event {
		var out []event.Event
		for _, e := range mix {
			for _, t := range types {
				if e.Type == t && e.Pid < 100000 {
					out = append(out, e)
				}
			}
		}
		return out
	}
	cases := []struct {
		name   string
		events []event.Event
	}{
		{"mix", mix},
		{"open-close", only(event.TypeOpenat, event.TypeOpen, event.TypeClose)},
		{"socket-connect-send-close", only(event.TypeSocket, event.TypeConnect, event.TypeSendto)},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			tab := benchTable(workers)
			var ev event.Event
			ts := t0
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ev = tc.events[i%len(tc.events)]
				ts += 10_000 // 100K events/s of event time
				ev.Timestamp = ts
				tab.Apply(&ev)
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "mallocs/event")
			if s := tab.Stats(); s.Evicted != 0 {
				b.Fatalf("evictions in steady state: %+v", s)
			}
		})
	}
}

// BenchmarkScanProc scans this machine's /proc.
func BenchmarkScanProc(b *testing.B) {
	procs := 0
	for i := 0; i < b.N; i++ {
		s, err := ScanProc("/proc")
		if err != nil {
			b.Fatal(err)
		}
		procs = len(s.Processes)
	}
	b.ReportMetric(float64(procs), "procs")
}
