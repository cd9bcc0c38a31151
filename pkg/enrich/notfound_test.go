package enrich

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/enrich/cgroup"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/test/containerd"
)

// waitChildCgroup waits for the first cgroup below parent (relative to the
// mount) and returns its name and id.
func waitChildCgroup(t *testing.T, e *Enricher, parent string, within time.Duration) (string, uint64) {
	t.Helper()
	dir := filepath.Join(e.resolver.Root(), parent)
	end := time.Now().Add(within)
	for time.Now().Before(end) {
		if ents, err := os.ReadDir(dir); err == nil {
			for _, de := range ents {
				if de.IsDir() && len(de.Name()) == 64 {
					id, err := cgroup.DirID(filepath.Join(dir, de.Name()))
					if err != nil {
						t.Fatal(err)
					}
					return de.Name(), id
				}
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no container cgroup below %s after %v", dir, within)
	return "", 0
}

// TestSandboxBeforeRuntimeKnowsIt holds a pod sandbox in the window where its
// cgroup and process exist but containerd has not recorded it yet, so the
// first lookup finds the runtime does not know it. The answer must not be
// kept as final: events still waiting get the metadata once the runtime
// records the sandbox, and events that went on at the wait timeout are
// followed by a lookup after RetryTTL, not CacheTTL.
func TestSandboxBeforeRuntimeKnowsIt(t *testing.T) {
	d := containerd.Start(t)
	tests := []struct {
		name string
		wait time.Duration
	}{
		{"events wait until the runtime knows it", time.Minute},
		{"events went on; looked up again after RetryTTL", 50 * time.Millisecond},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.CRISockets = []string{d.Socket}
			cfg.WaitTimeout = tt.wait
			cfg.RetryTTL = 100 * time.Millisecond
			e := newTestEnricher(t, cfg, true)
			<-e.primed
			spec := containerd.PodSpec{Name: fmt.Sprintf("early-%d", i), Namespace: "early",
				UID: fmt.Sprintf("3c2b1a09-8f7e-4d6c-9b5a-%012x", time.Now().UnixNano()&(1<<48-1)), QOS: "besteffort"}

			release := d.HoldCreates()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			type ran struct {
				pod *containerd.Pod
				err error
			}
			done := make(chan ran, 1)
			go func() {
				pod, err := d.RunPod(ctx, spec)
				done <- ran{pod, err}
			}()
			var pod *containerd.Pod
			t.Cleanup(func() {
				// Even after a failure: the sandbox is removed with the
				// daemon only once RunPodSandbox returned.
				release()
				if pod == nil {
					select {
					case <-done:
					case <-time.After(time.Minute):
					}
				}
			})
			started := func() {
				t.Helper()
				if pod != nil {
					return
				}
				select {
				case r := <-done:
					if r.err != nil {
						t.Fatalf("%v\n%s", r.err, d.Log())
					}
					pod = r.pod
				case <-time.After(time.Minute):
					t.Fatal("RunPodSandbox did not return after the hold was released")
				}
			}
			sandboxID, cg := waitChildCgroup(t, e, spec.CgroupParent(), 30*time.Second)

			var s sink
			e.Process(&event.Event{Num: 1, Timestamp: time.Now().UnixNano(), CgroupID: cg}, s.next)
			// Wait for the runtime's first answer: it does not know the
			// sandbox.
			end := time.Now().Add(10 * time.Second)
			for ent := e.cache.m[cg]; ent.wl == nil || !ent.wl.final; ent = e.cache.m[cg] {
				if time.Now().After(end) {
					t.Fatal("no answer from the runtime")
				}
				time.Sleep(time.Millisecond)
				e.Flush(time.Now(), s.next)
			}
			if ent := e.cache.m[cg]; !ent.wl.unknown || ent.wl.ctr != nil {
				t.Fatalf("first answer = %+v: the runtime knew the sandbox already", *ent.wl)
			}

			if tt.wait == time.Minute {
				if len(s.evs) != 0 {
					t.Fatalf("event went on before the runtime knew its sandbox: %+v", s.evs[0].Meta)
				}
				release()
			} else {
				flushUntil(t, e, &s, 1, 5*time.Second)
				m := s.evs[0].Meta
				if m.ContainerFullID != sandboxID || m.PodUID != spec.UID || m.PodName != "" || m.Complete {
					t.Fatalf("meta at the timeout = %+v", m)
				}
				release()
				started()
				// The next events hit the cache; one past RetryTTL starts
				// the lookup again.
				for n := uint64(2); s.evs[len(s.evs)-1].Meta.PodName == ""; n++ {
					if time.Now().After(end) {
						t.Fatalf("metadata not looked up again: %+v", s.evs[len(s.evs)-1].Meta)
					}
					time.Sleep(5 * time.Millisecond)
					e.Flush(time.Now(), s.next)
					e.Process(&event.Event{Num: n, Timestamp: time.Now().UnixNano(), CgroupID: cg}, s.next)
				}
			}
			flushUntil(t, e, &s, 1, 30*time.Second)
			started()
			m := s.evs[len(s.evs)-1].Meta
			if m.ContainerFullID != pod.ID || m.PodName != spec.Name || m.Namespace != spec.Namespace || m.PodUID != spec.UID || !m.Complete {
				t.Fatalf("meta once the runtime knows the sandbox = %+v", m)
			}
			if st := e.Stats(); st.Timeouts != 0 && tt.wait == time.Minute {
				t.Fatalf("stats = %+v", st)
			}
		})
	}
}
