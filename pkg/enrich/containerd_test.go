package enrich

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/enrich/tenant"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/test/containerd"
)

// TestContainerdPodContainer runs a real pod and containers in a private
// containerd and checks that the very first event of each carries the right
// container and pod fields.
func TestContainerdPodContainer(t *testing.T) {
	d := containerd.Start(t)
	cfg := testConfig(t)
	cfg.CRISockets = []string{d.Socket}
	cfg.StaticTenants = []tenant.Mapping{{Namespace: "sho?", Tenant: "acme"}}
	e := newTestEnricher(t, cfg, true)
	<-e.primed // nothing runs yet: every container below is new

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pod, err := d.RunPod(ctx, containerd.PodSpec{Name: "web-0", Namespace: "shop", UID: "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", QOS: "burstable", Privileged: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Log())
	}
	app, err := d.RunContainer(ctx, pod, containerd.ContainerSpec{Name: "app"})
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Log())
	}
	priv, err := d.RunContainer(ctx, pod, containerd.ContainerSpec{Name: "debugger", Privileged: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Log())
	}

	var s sink
	e.Process(&event.Event{Num: 1, Timestamp: time.Now().UnixNano(), Pid: uint32(app.Pid), CgroupID: app.CgroupID}, s.next)
	e.Process(&event.Event{Num: 2, Timestamp: time.Now().UnixNano(), Pid: uint32(priv.Pid), CgroupID: priv.CgroupID}, s.next)
	e.Process(&event.Event{Num: 3, Timestamp: time.Now().UnixNano(), Pid: uint32(pod.Pid), CgroupID: pod.CgroupID}, s.next)
	flushUntil(t, e, &s, 3, 5*time.Second)

	byNum := map[uint64]*event.Metadata{}
	for _, ev := range s.evs {
		byNum[ev.Num] = ev.Meta
	}
	for _, tc := range []struct {
		num        uint64
		c          *containerd.Container
		name       string
		privileged bool
	}{{1, app, "app", false}, {2, priv, "debugger", true}} {
		m := byNum[tc.num]
		if m == nil {
			t.Fatalf("event %d has no metadata", tc.num)
		}
		t.Logf("%s: %+v", tc.name, *m)
		if m.ContainerFullID != tc.c.ID || m.ContainerID != tc.c.ID[:12] || m.ContainerName != tc.name {
			t.Errorf("%s: container id/name = %q %q %q", tc.name, m.ContainerID, m.ContainerFullID, m.ContainerName)
		}
		if m.Image != containerd.SleeperImage || m.ImageRepository != "docker.io/vigil/sleeper" || m.ImageTag != "test" {
			t.Errorf("%s: image = %q repo %q tag %q", tc.name, m.Image, m.ImageRepository, m.ImageTag)
		}
		if m.ImageDigest != d.Image.ManifestDigest && m.ImageDigest != d.Image.ConfigDigest {
			t.Errorf("%s: image digest %q is neither the manifest %s nor the config %s", tc.name, m.ImageDigest, d.Image.ManifestDigest, d.Image.ConfigDigest)
		}
		if m.PodName != "web-0" || m.Namespace != "shop" || m.PodUID != pod.Spec.UID || m.Tenant != "acme" {
			t.Errorf("%s: pod = %q/%q uid %q tenant %q", tc.name, m.Namespace, m.PodName, m.PodUID, m.Tenant)
		}
		if m.Privileged != tc.privileged {
			t.Errorf("%s: privileged = %v", tc.name, m.Privileged)
		}
		if m.StartTS < tc.c.Created.Add(-time.Second).UnixNano() || m.StartTS > tc.c.Started.Add(time.Second).UnixNano() {
			t.Errorf("%s: start ts %v outside [%v, %v]", tc.name, time.Unix(0, m.StartTS), tc.c.Created, tc.c.Started)
		}
		if !m.Complete || m.Cluster != "test-cluster" || m.Node != "node-1" {
			t.Errorf("%s: complete %v cluster %q node %q", tc.name, m.Complete, m.Cluster, m.Node)
		}
	}
	if m := byNum[3]; m == nil || m.ContainerFullID != pod.ID || m.PodName != "web-0" || m.Namespace != "shop" || m.PodUID != pod.Spec.UID || !m.Complete {
		t.Errorf("sandbox metadata = %+v (sandbox %s)", m, pod.ID)
	}
	e.Flush(time.Now(), s.next)
	if st := e.Stats(); st.Timeouts != 0 || st.Errors != 0 || st.Drops != 0 || st.Misses != 3 {
		t.Errorf("stats = %+v", st)
	}
}

// BenchmarkContainerStartToEnriched measures, for a fresh container, the time
// from StartContainer's return to the release of its first event with
// complete metadata (start→enriched), and how long that first event waited
// in the side queue (first-event-wait).
func BenchmarkContainerStartToEnriched(b *testing.B) {
	d := containerd.Start(b)
	cfg := DefaultConfig()
	cfg.Kubernetes = KubeOff
	cfg.CRISockets = []string{d.Socket}
	e, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.Start(ctx)
	<-e.primed
	pod, err := d.RunPod(ctx, containerd.PodSpec{Name: "bench", Namespace: "bench", UID: "00000000-0000-4000-8000-00000000beef", QOS: "besteffort"})
	if err != nil {
		b.Fatal(err)
	}
	var startToEnriched, firstWait time.Duration
	n := 0
	for b.Loop() {
		n++
		c, err := d.RunContainer(ctx, pod, containerd.ContainerSpec{Name: "c" + time.Now().Format("150405.000000")})
		if err != nil {
			b.Fatal(err)
		}
		var got *event.Metadata
		next := func(ev *event.Event) { got = ev.Meta }
		queued := time.Now()
		e.Process(&event.Event{Timestamp: time.Now().UnixNano(), CgroupID: c.CgroupID}, next)
		for got == nil {
			time.Sleep(50 * time.Microsecond)
			e.Flush(time.Now(), next)
		}
		done := time.Now()
		if !got.Complete || got.ContainerFullID != c.ID {
			b.Fatalf("first event metadata = %+v", got)
		}
		startToEnriched += done.Sub(c.Started)
		firstWait += done.Sub(queued)
	}
	b.ReportMetric(float64(startToEnriched.Nanoseconds())/float64(n), "ns-start→enriched")
	b.ReportMetric(float64(firstWait.Nanoseconds())/float64(n), "ns-first-event-wait")
}

// TestRunningContainersArePrimed starts the enricher after the container:
// Start loads the running containers, so even the first event is a hit.
func TestRunningContainersArePrimed(t *testing.T) {
	d := containerd.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pod, err := d.RunPod(ctx, containerd.PodSpec{Name: "db-0", Namespace: "data", UID: "0b7c9d2e-1f3a-4c5b-8d6e-7f8091a2b3c4", QOS: "burstable"})
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Log())
	}
	c, err := d.RunContainer(ctx, pod, containerd.ContainerSpec{Name: "postgres"})
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Log())
	}
	cfg := testConfig(t)
	cfg.CRISockets = []string{d.Socket}
	e := newTestEnricher(t, cfg, true)
	<-e.primed
	e.Flush(time.Now(), func(*event.Event) {})
	for _, tc := range []struct {
		id   uint64
		want string
	}{{c.CgroupID, c.ID}, {pod.CgroupID, pod.ID}} {
		var s sink
		e.Process(&event.Event{Timestamp: time.Now().UnixNano(), CgroupID: tc.id}, s.next)
		if len(s.evs) != 1 {
			t.Fatalf("event of a primed cgroup waited (stats %+v)", e.Stats())
		}
		if m := s.evs[0].Meta; m.ContainerFullID != tc.want || m.PodName != "db-0" || m.Namespace != "data" || !m.Complete {
			t.Fatalf("primed meta = %+v", m)
		}
	}
	e.Flush(time.Now(), func(*event.Event) {})
	if st := e.Stats(); st.Misses != 0 || st.Hits != 2 {
		t.Fatalf("stats = %+v", st)
	}
}

// TestRuntimeRestart stops containerd while a container runs: its first
// event goes on incomplete (the lookup fails, nothing empty is cached), and
// once containerd is back the container's events get the full metadata.
func TestRuntimeRestart(t *testing.T) {
	d := containerd.Start(t)
	cfg := testConfig(t)
	cfg.CRISockets = []string{d.Socket}
	cfg.RetryTTL = 20 * time.Millisecond
	e := newTestEnricher(t, cfg, true)
	<-e.primed
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pod, err := d.RunPod(ctx, containerd.PodSpec{Name: "job-0", Namespace: "batch", UID: "5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716", QOS: "besteffort"})
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Log())
	}
	c, err := d.RunContainer(ctx, pod, containerd.ContainerSpec{Name: "worker"})
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Log())
	}
	d.Stop()
	var s sink
	e.Process(&event.Event{Timestamp: time.Now().UnixNano(), CgroupID: c.CgroupID}, s.next)
	flushUntil(t, e, &s, 1, 5*time.Second)
	if m := s.evs[0].Meta; m.Complete || m.ContainerFullID != c.ID || m.ContainerName != "" {
		t.Fatalf("meta while the runtime is down = %+v", m)
	}
	if st := e.Stats(); st.Errors == 0 || st.Timeouts != 0 {
		t.Fatalf("stats while the runtime is down = %+v", st)
	}

	d.Restart()
	end := time.Now().Add(15 * time.Second)
	for {
		var s sink
		e.Process(&event.Event{Timestamp: time.Now().UnixNano(), CgroupID: c.CgroupID}, s.next)
		e.Flush(time.Now(), s.next)
		if len(s.evs) == 1 && s.evs[0].Meta.Complete {
			if m := s.evs[0].Meta; m.ContainerName != "worker" || m.PodName != "job-0" || m.Namespace != "batch" {
				t.Fatalf("meta after restart = %+v", m)
			}
			break
		}
		if time.Now().After(end) {
			t.Fatalf("no complete metadata after the runtime came back; stats %+v", e.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPlainContainerdContainer runs a container with ctr (no CRI, no pod) in
// containerd's "default" namespace: the cgroup path /default/<id> gives the
// container id, the runtime does not know it through CRI, and the event is
// complete with only the id.
func TestPlainContainerdContainer(t *testing.T) {
	d := containerd.Start(t)
	cfg := testConfig(t)
	cfg.CRISockets = []string{d.Socket}
	e := newTestEnricher(t, cfg, true)
	<-e.primed

	const id = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	d.CtrIn("default", "images", "import", d.Image.Archive)
	d.CtrIn("default", "run", "-d", containerd.SleeperImage, id)
	t.Cleanup(func() {
		d.CtrIn("default", "task", "kill", "-s", "SIGKILL", id)
		time.Sleep(100 * time.Millisecond)
		d.CtrIn("default", "task", "delete", "-f", id)
		d.CtrIn("default", "containers", "delete", id)
		containerd.RemoveCgroups("/default")
	})
	var pid int
	if _, err := fmt.Sscan(strings.Fields(d.CtrIn("default", "task", "ps", id))[2], &pid); err != nil {
		t.Fatal(err)
	}
	path, cgID, err := containerd.ProcessCgroup(pid)
	if err != nil {
		t.Fatal(err)
	}
	if path != "/default/"+id {
		t.Fatalf("ctr container cgroup = %s, want /default/%s", path, id)
	}
	var s sink
	e.Process(&event.Event{Timestamp: time.Now().UnixNano(), CgroupID: cgID}, s.next)
	flushUntil(t, e, &s, 1, 5*time.Second)
	if m := s.evs[0].Meta; m.ContainerFullID != id || m.ContainerID != id[:12] || m.PodName != "" || m.ContainerName != "" || !m.Complete {
		t.Fatalf("meta = %+v", m)
	}
}
