package probe

import (
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// Benchmarks run a workload in the test/actions helper (the probe skips its
// own process) and report what it costs with the probe attached. Run them
// with a fixed count, e.g. -benchtime 200000x; figures go to the report,
// nothing is asserted.

// runLoop runs a helper loop and returns its mean ns per iteration.
func runLoop(tb testing.TB, args ...string) float64 {
	tb.Helper()
	out, err := exec.Command(actionsBinary(tb), args...).Output()
	if err != nil {
		tb.Fatalf("actions %v: %v", args, err)
	}
	var res struct {
		NsPerIter float64 `json:"ns_per_iter"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		tb.Fatalf("actions %v: %q: %v", args, out, err)
	}
	return res.NsPerIter
}

// drain decodes every record on a goroutine until the returned stop is
// called; stop returns how many records were decoded.
func drain(tb testing.TB, p *Probe) (stop func() uint64, decoded *atomic.Uint64) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dec := event.NewDecoder(p.SyscallTable(), event.BootOffset())
	var n atomic.Uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ev event.Event
		p.Run(ctx, func(rec []byte) {
			if dec.Decode(rec, &ev) == nil {
				n.Add(1)
			}
		})
	}()
	return func() uint64 {
		cancel()
		<-done
		return n.Load()
	}, &n
}

// progRuntime returns the run time and run count of prog.
func progRuntime(tb testing.TB, prog *ebpf.Program) (time.Duration, uint64) {
	tb.Helper()
	st, err := prog.Stats()
	if err != nil {
		tb.Fatalf("program stats: %v", err)
	}
	return st.Runtime, st.RunCount
}

// progsRuntime sums progRuntime over progs.
func progsRuntime(tb testing.TB, progs ...*ebpf.Program) (time.Duration, uint64) {
	var rt time.Duration
	var n uint64
	for _, prog := range progs {
		r, c := progRuntime(tb, prog)
		rt += r
		n += c
	}
	return rt, n
}

func enableStats(tb testing.TB) {
	tb.Helper()
	c, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		tb.Fatalf("enable BPF stats: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
}

var benchModes = []string{AttachPerSyscall, AttachGeneric}

// exitProgs are the programs a syscall record costs: the exit program of
// either attach mode (there is no enter program but exec's).
func (p *Probe) exitProgs() []*ebpf.Program {
	return []*ebpf.Program{p.objs.SysExit, p.objs.SysExitRaw}
}

// perRun is rt spread over n runs, 0 without runs.
func perRun(rt time.Duration, n uint64) float64 {
	if n == 0 {
		return 0
	}
	return float64(rt.Nanoseconds()) / float64(n)
}

// BenchmarkSyscallBPF reports the BPF time per syscall while a helper loops
// over openat+close, with openat and close selected or not. A syscall runs
// one program, at exit; in per-syscall mode an unselected syscall runs none.
func BenchmarkSyscallBPF(b *testing.B) {
	testutil.RequireRoot(b)
	enableStats(b)
	for _, mode := range benchModes {
		for _, sel := range []string{"selected", "unselected"} {
			b.Run(mode+"/"+sel, func(b *testing.B) {
				cfg := DefaultConfig()
				cfg.Attach = mode
				var types []event.Type
				if sel == "selected" {
					types = []event.Type{event.TypeOpenat, event.TypeClose}
				}
				p := openProbe(b, cfg, types...)
				stop, _ := drain(b, p)
				defer stop()
				dir := b.TempDir()
				rt0, n0 := progsRuntime(b, p.exitProgs()...)
				b.ResetTimer()
				ns := runLoop(b, "loop-open", dir, strconv.Itoa(b.N))
				b.StopTimer()
				rt1, n1 := progsRuntime(b, p.exitProgs()...)
				loopSyscalls := float64(2 * b.N)
				runs := float64(n1-n0) / loopSyscalls
				b.ReportMetric(perRun(rt1-rt0, n1-n0), "ns/run")
				b.ReportMetric(runs, "runs/syscall")
				if mode == AttachGeneric || runs >= 0.5 {
					// The loop's syscalls run the program, once each.
					b.ReportMetric(perRun(rt1-rt0, n1-n0), "bpf-ns/syscall")
				} else {
					// They run none; charge them all BPF time spent
					// meanwhile (other processes included): an upper bound.
					b.ReportMetric(float64((rt1-rt0).Nanoseconds())/loopSyscalls, "bpf-ns/syscall")
				}
				b.ReportMetric(ns, "loop-ns/iter")
			})
		}
	}
}

// BenchmarkRecordKinds reports the BPF time of one recorded syscall by
// record shape, in per-syscall mode: close (header only, built in the ring
// buffer) and a failing openat (header and a path, built in scratch).
func BenchmarkRecordKinds(b *testing.B) {
	testutil.RequireRoot(b)
	enableStats(b)
	for _, tt := range []struct {
		name string
		typ  event.Type
		loop func(dir string, n int) []string
	}{
		{"close", event.TypeClose, func(_ string, n int) []string { return []string{"loop-close", strconv.Itoa(n)} }},
		{"openat", event.TypeOpenat, func(dir string, n int) []string { return []string{"loop-open-missing", dir, strconv.Itoa(n)} }},
	} {
		b.Run(tt.name, func(b *testing.B) {
			p := openProbe(b, DefaultConfig(), tt.typ)
			stop, _ := drain(b, p)
			defer stop()
			rt0, n0 := progRuntime(b, p.objs.SysExit)
			b.ResetTimer()
			ns := runLoop(b, tt.loop(b.TempDir(), b.N)...)
			b.StopTimer()
			rt1, n1 := progRuntime(b, p.objs.SysExit)
			b.ReportMetric(perRun(rt1-rt0, n1-n0), "bpf-ns/syscall")
			b.ReportMetric(ns, "loop-ns/iter")
		})
	}
}

// slowdownRounds is how many times slowdown alternates runs without and
// with the probe; the machine is shared, so it reports medians.
const slowdownRounds = 5

// slowdown runs loop without and with a probe (cfg, types) attached,
// alternating, in one run, and reports the median times and the slowdown in
// percent.
func slowdown(b *testing.B, cfg Config, types []event.Type, loop ...string) {
	b.Helper()
	var base, with []float64
	var drops uint64
	for range slowdownRounds {
		base = append(base, runLoop(b, loop...))
		p := openProbe(b, cfg, types...)
		stop, _ := drain(b, p)
		with = append(with, runLoop(b, loop...))
		stop()
		st := p.Stats()
		drops += st.KernelDrops + st.QueueDrops
		p.Close()
	}
	mb, mw := testutil.Median(base), testutil.Median(with)
	b.ReportMetric(mb, "base-ns/iter")
	b.ReportMetric(mw, "probe-ns/iter")
	b.ReportMetric((mw/mb-1)*100, "slowdown-%")
	b.ReportMetric(float64(drops), "drops")
}

// BenchmarkOpenCloseSlowdown measures an openat+close loop without and
// with the probe, with the two syscalls selected (every call recorded) and
// not selected.
func BenchmarkOpenCloseSlowdown(b *testing.B) {
	testutil.RequireRoot(b)
	for _, mode := range benchModes {
		for _, sel := range []string{"selected", "unselected"} {
			b.Run(mode+"/"+sel, func(b *testing.B) {
				cfg := DefaultConfig()
				cfg.Attach = mode
				var types []event.Type
				if sel == "selected" {
					types = []event.Type{event.TypeOpenat, event.TypeClose}
				}
				slowdown(b, cfg, types, "loop-open", b.TempDir(), strconv.Itoa(b.N))
			})
		}
	}
}

// BenchmarkExecLoopSlowdown measures a fork+exec+wait loop without and with
// the probe recording every event type.
func BenchmarkExecLoopSlowdown(b *testing.B) {
	testutil.RequireRoot(b)
	for _, mode := range benchModes {
		b.Run(mode, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Attach = mode
			slowdown(b, cfg, event.AllTypes(), "loop-exec", strconv.Itoa(b.N))
		})
	}
}

// BenchmarkEventRate drives events through the whole kernel-to-Event path
// (ring buffer, queue, decoder) as fast as one helper can make them and
// reports the rate, drops, and the agent's CPU time per event.
func BenchmarkEventRate(b *testing.B) {
	testutil.RequireRoot(b)
	for _, mode := range benchModes {
		b.Run(mode, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Attach = mode
			p := openProbe(b, cfg, event.TypeOpenat, event.TypeClose)
			stop, decoded := drain(b, p)
			var ru0, ru1 unix.Rusage
			unix.Getrusage(unix.RUSAGE_SELF, &ru0)
			before := decoded.Load()
			start := time.Now()
			b.ResetTimer()
			runLoop(b, "loop-open", b.TempDir(), strconv.Itoa(b.N))
			elapsed := time.Since(start)
			want := before + uint64(2*b.N)
			for deadline := time.Now().Add(5 * time.Second); decoded.Load() < want && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			unix.Getrusage(unix.RUSAGE_SELF, &ru1)
			stop()
			events := float64(2 * b.N)
			cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
			st := p.Stats()
			b.ReportMetric(events/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(st.KernelDrops), "kernel-drops")
			b.ReportMetric(float64(st.QueueDrops), "queue-drops")
			b.ReportMetric(float64(cpu.Nanoseconds())/events, "agent-cpu-ns/event")
		})
	}
}
