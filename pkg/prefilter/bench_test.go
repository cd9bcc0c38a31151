package prefilter_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/pkg/agent"
	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/engine"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/prefilter"
	"github.com/vigilsec/vigil/pkg/probe"
	"github.com/vigilsec/vigil/pkg/rules"
	"github.com/vigilsec/vigil/pkg/state"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// actionsBinary builds test/actions once.
func actionsBinary(tb testing.TB) string { return testutil.ActionsBinary(tb) }

// mixedWorkload compiles, copies a tree and talks over loopback.
const mixedWorkload = `
D="$1"
printf 'int main(void){return 0;}\n' > "$D/m.c"
for i in 1 2 3; do cc -O0 -o "$D/m$i" "$D/m.c"; done
cp -r /usr/include/linux "$D/inc" && rm -rf "$D/inc"
python3 - <<'PY'
import socket, threading
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(64)
port = srv.getsockname()[1]
def serve():
    for _ in range(300):
        c, _ = srv.accept(); c.sendall(c.recv(64)); c.close()
t = threading.Thread(target=serve); t.start()
for _ in range(300):
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"x" * 64); s.recv(64); s.close()
t.join()
PY
`

// agentOn runs the probe and the agent's event path (decode, state,
// engine) with rs; with pf, the kernel prefilter derived from rs.
type agentOn struct {
	p       *probe.Probe
	stop    func()
	records atomic.Uint64
}

func startAgent(b *testing.B, rs *rules.Ruleset, pf bool) *agentOn {
	b.Helper()
	p, err := probe.Open(probe.DefaultConfig(), zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	types := slices.Clone(rs.EventTypes())
	for t := range event.NumTypes {
		if prefilter.Kept(t) {
			types = append(types, t)
		}
	}
	if err := p.SetEventTypes(types); err != nil {
		b.Fatal(err)
	}
	if pf {
		if err := p.SetPrefilter(prefilter.Derive(rs).Compile()); err != nil {
			b.Fatal(err)
		}
	}
	eng, err := engine.New(rs, engine.Options{Hostname: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	a := &agentOn{p: p}
	pl := agent.NewPipeline(agent.PipelineOptions{
		Decoder: event.NewDecoder(p.SyscallTable(), event.BootOffset()),
		State:   state.New(state.Options{}),
		Eval:    eng,
		Emit:    func(*alert.Alert) {},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx, func(rec []byte) {
			a.records.Add(1)
			pl.Handle(rec)
		})
	}()
	a.stop = func() {
		time.Sleep(50 * time.Millisecond)
		cancel()
		<-done
		p.Close()
	}
	return a
}

// runWorkload runs one workload and returns its wall time per iteration.
func runWorkload(b *testing.B, name string, n int) float64 {
	b.Helper()
	switch name {
	case "mixed":
		start := time.Now()
		if out, err := exec.Command("/bin/sh", "-c", mixedWorkload, "sh", b.TempDir()).CombinedOutput(); err != nil {
			b.Fatalf("mixed workload: %v\n%s", err, out)
		}
		return float64(time.Since(start).Nanoseconds())
	case "open-close":
		return runActions(b, "loop-open", b.TempDir(), strconv.Itoa(n))
	}
	return runActions(b, "loop-exec", strconv.Itoa(n))
}

func runActions(b *testing.B, args ...string) float64 {
	out, err := exec.Command(actionsBinary(b), args...).Output()
	if err != nil {
		b.Fatalf("actions %v: %v", args, err)
	}
	var res struct {
		NsPerIter float64 `json:"ns_per_iter"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		b.Fatal(err)
	}
	return res.NsPerIter
}

// cpuTime is the user and system CPU time of this process (the agent's
// event path runs in it), in ns.
func cpuTime() int64 {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkPrefilter runs an open/close loop, an exec loop and a mixed
// workload (compiles, a tree copy, loopback TCP) with the agent off, on
// without the prefilter and on with it, Falco's stable rules loaded,
// alternating modes in rounds; it reports the fastest time of each mode,
// the slowdowns between them, and the medians of the records shipped to
// user space per second and of the agent's CPU time per operation. Run with a fixed count, e.g.
// -benchtime 100000x (the exec loop runs b.N/20 execs); figures go to the
// report.
func BenchmarkPrefilter(b *testing.B) {
	testutil.RequireRoot(b)
	testutil.RequireBinary(b, "cc")
	testutil.RequireBinary(b, "python3")
	rs, _, err := rules.Load(filepath.Join(falcoDir, "falco_rules.yaml"))
	if err != nil {
		testutil.Unavailable(b, "Falco rules: "+err.Error())
	}
	const rounds = 5
	for _, w := range []string{"open-close", "exec", "mixed"} {
		b.Run(w, func(b *testing.B) {
			n := b.N
			switch w {
			case "exec":
				n = max(b.N/20, 1)
			case "mixed":
				n = 1 // one run of the script per operation
			}
			var off, on, pf, onRate, pfRate, onCPU, pfCPU []float64
			for range rounds {
				off = append(off, runWorkload(b, w, n))
				for _, withPF := range []bool{false, true} {
					a := startAgent(b, rs, withPF)
					before := a.records.Load()
					cpu0 := cpuTime()
					start := time.Now()
					t := runWorkload(b, w, n)
					rate := float64(a.records.Load()-before) / time.Since(start).Seconds()
					cpu := float64(cpuTime()-cpu0) / float64(n)
					a.stop()
					if withPF {
						pf, pfRate, pfCPU = append(pf, t), append(pfRate, rate), append(pfCPU, cpu)
					} else {
						on, onRate, onCPU = append(on, t), append(onRate, rate), append(onCPU, cpu)
					}
				}
			}
			// The machine is shared: the fastest run of each mode is the
			// least disturbed one.
			mo, mn, mp := slices.Min(off), slices.Min(on), slices.Min(pf)
			b.ReportMetric(mo, "off-ns/op")
			b.ReportMetric(mn, "on-ns/op")
			b.ReportMetric(mp, "pf-ns/op")
			b.ReportMetric((mn/mo-1)*100, "on-slowdown-%")
			b.ReportMetric((mp/mo-1)*100, "pf-slowdown-%")
			b.ReportMetric(testutil.Median(onRate), "on-records/s")
			b.ReportMetric(testutil.Median(pfRate), "pf-records/s")
			b.ReportMetric(testutil.Median(onCPU), "on-agent-cpu-ns/op")
			b.ReportMetric(testutil.Median(pfCPU), "pf-agent-cpu-ns/op")
		})
	}
}
