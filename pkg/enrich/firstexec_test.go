package enrich_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/vigilsec/vigil/pkg/agent"
	"github.com/vigilsec/vigil/pkg/enrich"
	"github.com/vigilsec/vigil/pkg/enrich/tenant"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/probe"
	"github.com/vigilsec/vigil/pkg/state"
	"github.com/vigilsec/vigil/test/containerd"
)

// execSeen is an exec event as the rules stage would have received it.
type execSeen struct {
	cgroup   uint64
	ts       int64
	argv     []string
	procName string
	procExe  string
	procArgs []string
	pid      uint32
	meta     *event.Metadata
	// at is when the pipeline handed the event on.
	at time.Time
}

// TestFirstExecInContainer runs the kernel probe, the state stage and the
// enricher wired as the agent wires them, then starts a pod sandbox and a
// container in a private containerd: the sandbox's first exec (which runs
// before containerd records the sandbox) and its second, the container's
// init exec, that process's second exec and its child's must carry the
// container and pod fields, and each its own process view (the first exec
// of each waits for its metadata while the second is applied). It logs the time from just before
// StartContainer to the release of the container's first, fully enriched,
// event.
func TestFirstExecInContainer(t *testing.T) {
	d := containerd.Start(t) // skips without root, containerd or runc
	log := zaptest.NewLogger(t)
	cfg := enrich.DefaultConfig()
	cfg.Kubernetes = enrich.KubeOff
	cfg.CRISockets = []string{d.Socket}
	cfg.ClusterName, cfg.NodeName = "test-cluster", "node-1"
	cfg.StaticTenants = []tenant.Mapping{{Namespace: "shop", Tenant: "acme"}}
	en, err := enrich.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	en.Start(ctx)

	pr, err := probe.Open(probe.DefaultConfig(), log)
	if err != nil {
		t.Fatalf("open probe: %v", err)
	}
	defer pr.Close()
	if err := pr.SetEventTypes([]event.Type{event.TypeExecve, event.TypeExecveat,
		event.TypeClone, event.TypeClone3, event.TypeFork, event.TypeVfork}); err != nil {
		t.Fatal(err)
	}
	st := state.New(state.Options{})
	snap, err := state.ScanProc("/proc")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Seed(snap); err != nil {
		t.Fatal(err)
	}

	var (
		mu   sync.Mutex
		seen []execSeen
	)
	pipe := agent.NewPipeline(agent.PipelineOptions{
		Decoder: event.NewDecoder(pr.SyscallTable(), event.BootOffset()),
		State:   st,
		Enrich:  en,
		Observe: func(ev *event.Event) {
			if ev.Type != event.TypeExecve && ev.Type != event.TypeExecveat {
				return
			}
			if ev.Meta != nil && ev.Meta.ContainerID == enrich.HostID {
				return
			}
			seen = append(seen, execSeen{cgroup: ev.CgroupID, ts: ev.Timestamp, argv: ev.Args.Argv, pid: ev.Pid,
				procName: ev.Proc.Name, procExe: ev.Proc.Exe, procArgs: ev.Proc.Args, meta: ev.Meta, at: time.Now()})
		},
	})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := pr.Run(ctx, func(rec []byte) {
			mu.Lock()
			pipe.Handle(rec)
			mu.Unlock()
		}); err != nil && ctx.Err() == nil {
			t.Errorf("probe: %v", err)
		}
	}()
	go func() { // as the agent's maintenance loop: release held events without traffic
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				mu.Lock()
				pipe.Tick(now)
				mu.Unlock()
			}
		}
	}()
	defer wg.Wait()
	defer cancel()

	rctx, rcancel := context.WithTimeout(ctx, time.Minute)
	defer rcancel()
	pod, err := d.RunPod(rctx, containerd.PodSpec{Name: "web-0", Namespace: "shop", UID: "1d2c3b4a-5f6e-4a7b-8c9d-0e1f2a3b4c5d", QOS: "burstable"})
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Log())
	}
	c, err := d.RunContainer(rctx, pod, containerd.ContainerSpec{Name: "app", Args: []string{"replace", "/sleeper", "exec", "/sleeper", "-pause"}})
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Log())
	}

	// Wait for the sandbox's exec and the container's two.
	of := func(cg uint64) []execSeen {
		var out []execSeen
		for _, s := range seen {
			if s.cgroup == cg {
				out = append(out, s)
			}
		}
		return out
	}
	var sandbox, ctr []execSeen
	for end := time.Now().Add(10 * time.Second); ; {
		mu.Lock()
		sandbox, ctr = of(pod.CgroupID), of(c.CgroupID)
		mu.Unlock()
		if len(sandbox) >= 2 && len(ctr) >= 3 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("after 10s: %d sandbox and %d container exec events", len(sandbox), len(ctr))
		}
		time.Sleep(5 * time.Millisecond)
	}

	if sandbox[0].pid != sandbox[1].pid || ctr[0].pid != ctr[1].pid || ctr[2].pid == ctr[0].pid {
		t.Errorf("exec pids: sandbox %d %d, container %d %d %d: want each init process twice, then a child",
			sandbox[0].pid, sandbox[1].pid, ctr[0].pid, ctr[1].pid, ctr[2].pid)
	}
	tests := []struct {
		name    string
		got     execSeen
		argv    []string
		id      string
		ctrName string
		image   string
	}{
		{"sandbox init exec", sandbox[0], []string{"/sleeper", "replace", "/sleeper"}, pod.ID, "", ""},
		{"sandbox's second exec", sandbox[1], []string{"/sleeper"}, pod.ID, "", ""},
		{"container init exec", ctr[0], []string{"/sleeper", "replace", "/sleeper", "exec", "/sleeper", "-pause"}, c.ID, "app", containerd.SleeperImage},
		{"init process's second exec", ctr[1], []string{"/sleeper", "exec", "/sleeper", "-pause"}, c.ID, "app", containerd.SleeperImage},
		{"child's exec", ctr[2], []string{"/sleeper", "-pause"}, c.ID, "app", containerd.SleeperImage},
	}
	for _, tt := range tests {
		m := tt.got.meta
		// The process view is the one the exec made, even when a later
		// exec of the same process was applied before the release.
		if !slices.Equal(tt.got.argv, tt.argv) || tt.got.procName != "sleeper" || tt.got.procExe != tt.argv[0] || !slices.Equal(tt.got.procArgs, tt.argv[1:]) {
			t.Errorf("%s: argv %q, proc.name %q exe %q args %q", tt.name, tt.got.argv, tt.got.procName, tt.got.procExe, tt.got.procArgs)
		}
		if m == nil {
			t.Errorf("%s: no metadata", tt.name)
			continue
		}
		if m.ContainerFullID != tt.id || m.ContainerID != tt.id[:12] || m.ContainerName != tt.ctrName || m.Image != tt.image ||
			m.PodName != "web-0" || m.Namespace != "shop" || m.PodUID != pod.Spec.UID || m.Tenant != "acme" ||
			m.Cluster != "test-cluster" || m.Node != "node-1" || !m.Complete {
			t.Errorf("%s: meta %+v", tt.name, *m)
		}
	}
	t.Logf("sandbox's first exec released %v after it ran",
		sandbox[0].at.Sub(time.Unix(0, sandbox[0].ts)))
	first := ctr[0]
	t.Logf("container start (before StartContainer) → first fully enriched event: %v (the exec itself waited %v in the side queue)",
		first.at.Sub(c.Created), first.at.Sub(time.Unix(0, first.ts)))
	if s := en.Stats(); s.Timeouts != 0 {
		t.Errorf("enrich stats %+v: events went on at the timeout", s)
	}
}
