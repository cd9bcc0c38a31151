package enrich

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigilsec/vigil/pkg/enrich/cgroup"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/testutil"
)

const testCID = "4f1d2b9c8a7e6d5c4b3a29180706f5e4d3c2b1a09f8e7d6c5b4a392817060504"

// testConfig runs without Kubernetes and without a runtime.
func testConfig(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.Kubernetes = KubeOff
	cfg.CRISockets = []string{filepath.Join(t.TempDir(), "none.sock")}
	cfg.ClusterName = "test-cluster"
	cfg.NodeName = "node-1"
	return cfg
}

func newTestEnricher(t *testing.T, cfg Config, start bool) *Enricher {
	t.Helper()
	e, err := New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if start {
		e.Start(ctx)
	}
	return e
}

// mkCgroup creates a real cgroup at rel (under a private top-level cgroup)
// and returns its id.
func mkCgroup(t *testing.T, e *Enricher, rel string) uint64 {
	t.Helper()
	top := filepath.Join(e.resolver.Root(), testutil.UniqueName(t, "vigil-enrich-"))
	abs := filepath.Join(top, rel)
	if err := os.MkdirAll(abs, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for p := abs; len(p) >= len(top); p = filepath.Dir(p) {
			os.Remove(p)
		}
	})
	id, err := cgroup.DirID(abs)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// sink collects what the stage hands on.
type sink struct{ evs []*event.Event }

func (s *sink) next(ev *event.Event) {
	cp := *ev
	s.evs = append(s.evs, &cp)
}

// flushUntil calls Flush until n events came out or the deadline passes.
func flushUntil(t *testing.T, e *Enricher, s *sink, n int, within time.Duration) {
	t.Helper()
	end := time.Now().Add(within)
	for len(s.evs) < n && time.Now().Before(end) {
		e.Flush(time.Now(), s.next)
		time.Sleep(time.Millisecond)
	}
	e.Flush(time.Now(), s.next)
	if len(s.evs) < n {
		t.Fatalf("%d events out after %v, want %d", len(s.evs), within, n)
	}
}

func TestHostRootIsAHit(t *testing.T) {
	testutil.RequireRoot(t)
	e := newTestEnricher(t, testConfig(t), false)
	rootID, err := e.resolver.ID("/")
	if err != nil {
		t.Fatal(err)
	}
	var s sink
	e.Process(&event.Event{Num: 1, CgroupID: rootID}, s.next)
	if len(s.evs) != 1 {
		t.Fatalf("root cgroup event did not pass at once (%d out)", len(s.evs))
	}
	m := s.evs[0].Meta
	if m == nil || m.ContainerID != HostID || !m.Complete || m.PodName != "" || m.Cluster != "test-cluster" || m.Node != "node-1" {
		t.Fatalf("host meta = %+v", m)
	}
	e.Flush(time.Now(), s.next)
	if st := e.Stats(); st.Hits != 1 || st.Misses != 0 || st.Waits != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestLookupHostAndContainers(t *testing.T) {
	testutil.RequireRoot(t)
	e := newTestEnricher(t, testConfig(t), true)
	tests := []struct {
		name string
		rel  string
		want event.Metadata
	}{
		{"host service", "system.slice/sshd.service", event.Metadata{ContainerID: HostID, Complete: true}},
		{"docker container", "docker/" + testCID,
			event.Metadata{ContainerID: testCID[:12], ContainerFullID: testCID, Complete: true}},
		{"kubepods container without runtime", "kubepods/besteffort/pod8a5c1f0e-3b2d-4c6e-9f7a-1b2c3d4e5f60/" + testCID,
			event.Metadata{ContainerID: testCID[:12], ContainerFullID: testCID, PodUID: "8a5c1f0e-3b2d-4c6e-9f7a-1b2c3d4e5f60", Complete: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := mkCgroup(t, e, tt.rel)
			var s sink
			e.Process(&event.Event{Num: 1, CgroupID: id}, s.next)
			e.Process(&event.Event{Num: 2, CgroupID: id}, s.next)
			flushUntil(t, e, &s, 2, 2*time.Second)
			e.Process(&event.Event{Num: 3, CgroupID: id}, s.next)
			if len(s.evs) != 3 {
				t.Fatalf("%d events out, want 3", len(s.evs))
			}
			tt.want.Cluster, tt.want.Node = "test-cluster", "node-1"
			for i, ev := range s.evs {
				if ev.Num != uint64(i+1) {
					t.Fatalf("event %d out of order: num %d", i, ev.Num)
				}
				if ev.Meta == nil || !reflect.DeepEqual(*ev.Meta, tt.want) {
					t.Fatalf("event %d meta = %+v\nwant %+v", ev.Num, ev.Meta, tt.want)
				}
			}
		})
	}
	e.Flush(time.Now(), func(*event.Event) {})
	st := e.Stats()
	if st.Misses != 3 || st.Waits != 6 || st.Hits != 3 || st.Timeouts != 0 || st.Drops != 0 || st.Waiting != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestOtherCgroupsFlowWhileOneWaits(t *testing.T) {
	testutil.RequireRoot(t)
	cfg := testConfig(t)
	cfg.WaitTimeout = 30 * time.Millisecond
	e := newTestEnricher(t, cfg, false) // no workers: lookups never answer
	rootID, _ := e.resolver.ID("/")
	slowID := mkCgroup(t, e, "docker/"+testCID)
	t0 := time.Now()
	var s sink
	e.Flush(t0, s.next)
	e.Process(&event.Event{Num: 1, CgroupID: slowID}, s.next)
	e.Process(&event.Event{Num: 2, CgroupID: rootID}, s.next)
	e.Process(&event.Event{Num: 3, CgroupID: slowID}, s.next)
	e.Process(&event.Event{Num: 4, CgroupID: rootID}, s.next)
	if len(s.evs) != 2 || s.evs[0].Num != 2 || s.evs[1].Num != 4 {
		t.Fatalf("host events did not flow past the waiting ones: %d out", len(s.evs))
	}
	e.Flush(t0.Add(29*time.Millisecond), s.next)
	if len(s.evs) != 2 {
		t.Fatal("waiting events released before their timeout")
	}
	e.Flush(t0.Add(30*time.Millisecond), s.next)
	if len(s.evs) != 4 {
		t.Fatalf("%d events out after the timeout, want 4", len(s.evs))
	}
	for _, ev := range s.evs[2:] {
		if ev.Meta == nil || ev.Meta.Complete || ev.Meta.Node != "node-1" {
			t.Fatalf("timed-out event %d meta = %+v", ev.Num, ev.Meta)
		}
	}
	if s.evs[2].Num != 1 || s.evs[3].Num != 3 {
		t.Fatalf("timed-out events out of order: %d, %d", s.evs[2].Num, s.evs[3].Num)
	}
	// After the timeout, later events of that cgroup no longer wait.
	e.Process(&event.Event{Num: 5, CgroupID: slowID}, s.next)
	if len(s.evs) != 5 {
		t.Fatal("event after timeout waited again")
	}
	e.Flush(t0.Add(time.Second), s.next)
	if st := e.Stats(); st.Timeouts != 2 || st.Waits != 2 || st.Misses != 1 || st.Waiting != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

// TestWaitUsesEventClock checks that deadlines follow event timestamps (the
// pipeline's clock), as when a capture is replayed.
func TestWaitUsesEventClock(t *testing.T) {
	testutil.RequireRoot(t)
	cfg := testConfig(t)
	cfg.WaitTimeout = 100 * time.Millisecond
	e := newTestEnricher(t, cfg, false)
	id := mkCgroup(t, e, "docker/"+testCID)
	recorded := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	var s sink
	e.Process(&event.Event{Num: 1, CgroupID: id, Timestamp: recorded.UnixNano()}, s.next)
	e.Flush(recorded.Add(99*time.Millisecond), s.next)
	if len(s.evs) != 0 {
		t.Fatal("released before the deadline on the event clock")
	}
	e.Flush(recorded.Add(100*time.Millisecond), s.next)
	if len(s.evs) != 1 {
		t.Fatal("not released at the deadline on the event clock")
	}
}

func TestSideQueueFullDrops(t *testing.T) {
	testutil.RequireRoot(t)
	cfg := testConfig(t)
	cfg.SideQueue = 2
	e := newTestEnricher(t, cfg, false)
	id := mkCgroup(t, e, "docker/"+testCID)
	var s sink
	for n := uint64(1); n <= 3; n++ {
		e.Process(&event.Event{Num: n, CgroupID: id}, s.next)
	}
	if len(s.evs) != 1 || s.evs[0].Num != 3 || s.evs[0].Meta == nil || s.evs[0].Meta.Complete {
		t.Fatalf("overflowing event not passed on unenriched: %+v", s.evs)
	}
	e.Flush(time.Now(), s.next)
	if st := e.Stats(); st.Drops != 1 || st.Waiting != 2 || st.Waits != 2 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestRemovedCgroupIsAnError(t *testing.T) {
	testutil.RequireRoot(t)
	e := newTestEnricher(t, testConfig(t), true)
	id := mkCgroup(t, e, "gone")
	p, err := e.resolver.Path(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(e.resolver.Root(), p)); err != nil {
		t.Fatal(err)
	}
	var s sink
	e.Process(&event.Event{Num: 1, CgroupID: id}, s.next)
	flushUntil(t, e, &s, 1, time.Second)
	if m := s.evs[0].Meta; m == nil || m.Complete || m.ContainerID != "" {
		t.Fatalf("meta of removed cgroup = %+v", m)
	}
	if st := e.Stats(); st.Errors != 1 || st.Timeouts != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestExpiredEntryIsRefreshedInBackground(t *testing.T) {
	testutil.RequireRoot(t)
	cfg := testConfig(t)
	cfg.CacheTTL = time.Millisecond
	e := newTestEnricher(t, cfg, true)
	id := mkCgroup(t, e, "docker/"+testCID)
	var s sink
	e.Process(&event.Event{Num: 1, CgroupID: id}, s.next)
	flushUntil(t, e, &s, 1, time.Second)
	first := s.evs[0].Meta
	e.Flush(time.Now().Add(time.Second), s.next) // past the TTL
	e.Process(&event.Event{Num: 2, CgroupID: id}, s.next)
	if len(s.evs) != 2 || s.evs[1].Meta != first {
		t.Fatal("expired entry did not serve its old metadata at once")
	}
	if !e.cache.m[id].refreshing {
		t.Fatal("no refresh started")
	}
	end := time.Now().Add(time.Second)
	for e.cache.m[id].refreshing && time.Now().Before(end) {
		time.Sleep(time.Millisecond)
		e.Flush(time.Now(), s.next)
	}
	ent := e.cache.m[id]
	if ent.refreshing || ent.meta == first || !reflect.DeepEqual(*ent.meta, *first) {
		t.Fatalf("refresh did not replace the metadata with an equal one: %+v", ent.meta)
	}
	if st := e.Stats(); st.Misses != 1 {
		t.Fatalf("refresh counted as a miss: %+v", st)
	}
}

// TestNoRuntimeLogsOnce runs container lookups with no runtime and no
// Kubernetes: the fields stay empty and the missing runtime is logged once,
// not per event or per container.
func TestNoRuntimeLogsOnce(t *testing.T) {
	testutil.RequireRoot(t)
	core, logs := observer.New(zapcore.DebugLevel)
	e, err := New(testConfig(t), zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.Start(ctx)
	<-e.primed
	var s sink
	for i, id := range []string{testCID, strings.Repeat("ab", 32), strings.Repeat("cd", 32)} {
		cg := mkCgroup(t, e, "kubepods/besteffort/pod8a5c1f0e-3b2d-4c6e-9f7a-1b2c3d4e5f6"+strconv.Itoa(i)+"/"+id)
		for range 3 {
			e.Process(&event.Event{CgroupID: cg}, s.next)
		}
	}
	flushUntil(t, e, &s, 9, 2*time.Second)
	for _, ev := range s.evs {
		if m := ev.Meta; m.ContainerFullID == "" || m.ContainerName != "" || m.Image != "" || !m.Complete {
			t.Fatalf("meta without runtime = %+v", m)
		}
	}
	if n := logs.FilterMessageSnippet("no container runtime").Len(); n != 1 {
		t.Fatalf("missing runtime logged %d times, want once; all logs: %v", n, logs.All())
	}
	if n := logs.FilterLevelExact(zapcore.ErrorLevel).Len(); n != 0 {
		t.Fatalf("%d errors logged", n)
	}
}

// TestUnreachableAPIServer points the stage at an API server that does not
// answer: a pod's first event waits for Kubernetes until the timeout and goes
// on incomplete; later events of that cgroup do not wait.
func TestUnreachableAPIServer(t *testing.T) {
	testutil.RequireRoot(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there any more
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://`+addr+`"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Kubernetes, cfg.Kubeconfig = KubeAuto, kubeconfig
	cfg.WaitTimeout = 50 * time.Millisecond
	e := newTestEnricher(t, cfg, true)
	id := mkCgroup(t, e, "kubepods/besteffort/pod8a5c1f0e-3b2d-4c6e-9f7a-1b2c3d4e5f60/"+testCID)

	var s sink
	parked := time.Now()
	e.Process(&event.Event{Num: 1, Timestamp: parked.UnixNano(), CgroupID: id}, s.next)
	flushUntil(t, e, &s, 1, 2*time.Second)
	if waited := time.Since(parked); waited < cfg.WaitTimeout {
		t.Fatalf("released after %v, before the wait timeout", waited)
	}
	if m := s.evs[0].Meta; m.Complete || m.ContainerFullID != testCID || m.PodUID == "" {
		t.Fatalf("meta = %+v", m)
	}
	e.Process(&event.Event{Num: 2, CgroupID: id}, s.next)
	if len(s.evs) != 2 {
		t.Fatal("second event waited again")
	}
	e.Flush(time.Now(), s.next)
	if st := e.Stats(); st.Timeouts != 1 || st.Hits != 1 {
		t.Fatalf("stats = %+v", st)
	}
}
