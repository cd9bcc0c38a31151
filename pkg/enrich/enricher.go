package enrich

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vigilsec/vigil/pkg/enrich/cgroup"
	"github.com/vigilsec/vigil/pkg/enrich/kube"
	"github.com/vigilsec/vigil/pkg/enrich/tenant"
	"github.com/vigilsec/vigil/pkg/event"
)

// Enricher is the enrich stage. Process and Flush must be called from one
// goroutine (the pipeline's); Start runs the lookups and watchers on others;
// Stats may be called from anywhere.
type Enricher struct {
	cfg      Config
	log      *zap.Logger
	node     string
	tenants  *tenant.Resolver
	resolver *cgroup.Resolver
	kube     *kube.Watcher
	rt       runtimeConn

	// Pipeline-owned state.
	cache   *lru
	now     int64 // pipeline clock (Unix ns): last Flush or waiting event
	parked  int
	waiters []*entry
	unknown *event.Metadata
	c       counters
	// podMissLogged reports that a pod missing from the watch was logged.
	podMissLogged bool

	work    chan uint64
	results chan result
	// primed closes once the running containers were loaded (or could not
	// be).
	primed chan struct{}
	pub    publishedStats

	startOnce sync.Once
}

// result is one lookup's answer, sent from a worker to the pipeline.
type result struct {
	id uint64
	wl *workload
}

// New returns an Enricher for cfg. It finds the cgroup2 mount and prepares
// the Kubernetes client; nothing is contacted before Start. Missing
// Kubernetes or runtime are not errors: the fields they fill stay empty.
func New(cfg Config, log *zap.Logger) (*Enricher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("enrich")
	tenants, err := tenant.New(cfg.TenantLabels, cfg.StaticTenants)
	if err != nil {
		return nil, err
	}
	root := cfg.CgroupRoot
	if root == "" {
		root, err = cgroup.Mount()
		if errors.Is(err, cgroup.ErrNoCgroup2) {
			// cgroup v1 only: every event carries the same cgroup id and
			// no container can be told apart.
			log.Warn("no cgroup2 mount: container fields stay empty")
		} else if err != nil {
			return nil, fmt.Errorf("enrich: %w", err)
		}
	}
	var resolver *cgroup.Resolver
	if root != "" {
		if resolver, err = cgroup.NewResolver(root); err != nil {
			return nil, fmt.Errorf("enrich: %w", err)
		}
	}
	e := &Enricher{
		cfg:      cfg,
		log:      log,
		node:     nodeName(cfg.NodeName),
		tenants:  tenants,
		resolver: resolver,
		cache:    newLRU(cfg.CacheSize),
		work:     make(chan uint64, max(1024, cfg.Workers*64)),
		results:  make(chan result, 4096),
		now:      time.Now().UnixNano(),
		primed:   make(chan struct{}),
	}
	e.rt.cfg, e.rt.log = cfg, log
	e.unknown = &event.Metadata{Cluster: cfg.ClusterName, Node: e.node}
	if cfg.Kubernetes != KubeOff {
		rc, err := kube.RESTConfig(cfg.Kubeconfig)
		switch {
		case errors.Is(err, kube.ErrNotConfigured):
			log.Info("running without Kubernetes: no kubeconfig and no in-cluster service account")
		case err != nil:
			e.closeResolver()
			return nil, fmt.Errorf("enrich: kubeconfig: %w", err)
		default:
			if e.kube, err = kube.NewWatcher(rc, e.node, tenants, log); err != nil {
				e.closeResolver()
				return nil, fmt.Errorf("enrich: %w", err)
			}
		}
	}
	// The root cgroup is the host's: known without a lookup.
	if resolver == nil {
		return e, nil
	}
	if id, err := resolver.ID("/"); err == nil {
		wl := &workload{host: true, final: true}
		ent := &entry{id: id, ready: true, fast: true, wl: wl, expires: 1<<63 - 1}
		ent.meta = e.build(wl, nil)
		e.cache.add(ent)
	}
	return e, nil
}

func nodeName(configured string) string {
	if configured != "" {
		return configured
	}
	if n := os.Getenv("NODE_NAME"); n != "" {
		return n
	}
	n, _ := os.Hostname()
	return n
}

func (e *Enricher) closeResolver() {
	if e.resolver != nil {
		e.resolver.Close()
	}
}

// Node returns the node name events are stamped with.
func (e *Enricher) Node() string { return e.node }

// Start runs the lookup workers and the Kubernetes watch until ctx ends.
// It returns at once.
func (e *Enricher) Start(ctx context.Context) {
	e.startOnce.Do(func() {
		for range e.cfg.Workers {
			go e.worker(ctx)
		}
		if e.kube != nil {
			go e.kube.Run(ctx)
		}
		go e.prime(ctx)
		go func() {
			<-ctx.Done()
			e.rt.close()
			e.closeResolver()
		}()
	})
}

// WaitKubeSynced blocks until the Kubernetes caches are filled or ctx ends;
// it returns false without Kubernetes.
func (e *Enricher) WaitKubeSynced(ctx context.Context) bool {
	return e.kube != nil && e.kube.WaitSynced(ctx)
}

// snapshot returns the current Kubernetes snapshot, nil without Kubernetes.
func (e *Enricher) snapshot() *kube.Snapshot {
	if e.kube == nil {
		return nil
	}
	return e.kube.Snapshot()
}

// Process enriches ev and hands it to next, now when the cgroup's metadata
// is cached, or later (from Process or Flush) when it is being fetched. An
// event that waits is copied with its process (and ancestors) and descriptor
// as they are now, so it goes on as it arrived whatever the state stage
// changes meanwhile; the caller may reuse ev once Process returns. Every
// event handed on has Meta set (at least cluster and node). The Metadata,
// Peer and LocalPeer set on events are shared and must not be modified.
func (e *Enricher) Process(ev *event.Event, next func(*event.Event)) {
	if len(e.results) != 0 {
		e.drain(next)
	}
	ent := e.cache.get(ev.CgroupID)
	if ent != nil && ent.fast {
		snap := e.snapshot()
		if (snap != nil && snap.Gen != ent.gen) || e.now > ent.expires {
			e.revalidate(ent, snap)
		}
		ev.Meta = ent.meta
		setPeers(ev, snap)
		e.c.hits++
		next(ev)
		return
	}
	e.slow(ev, ent, next)
}

// setPeers sets the pods owning the remote and local addresses of ev's
// socket, nil for either that is no pod IP of this node or without a
// snapshot. Host-network pods have no entry in the snapshot, so the local end
// of their sockets (the node's IP) stays unknown. Two map lookups, no
// allocation.
func setPeers(ev *event.Event, snap *kube.Snapshot) {
	ev.Peer, ev.LocalPeer = nil, nil
	fd := ev.FD
	if fd == nil || snap == nil {
		return
	}
	if fd.Remote.IsValid() {
		ev.Peer = snap.Peer(fd.Remote.Addr())
	}
	if fd.Local.IsValid() {
		ev.LocalPeer = snap.Peer(fd.Local.Addr())
	}
}

// slow handles an event whose cgroup is unknown or still being fetched.
func (e *Enricher) slow(ev *event.Event, ent *entry, next func(*event.Event)) {
	if ent == nil {
		if !e.submit(ev.CgroupID) {
			e.passUnenriched(ev, nil, next)
			return
		}
		e.c.misses++
		ent = &entry{id: ev.CgroupID, refreshing: true}
		e.cache.add(ent)
	}
	if ent.ready {
		// Ready, but earlier events still wait (for Kubernetes): keep order.
		if len(ent.waiting) == 0 {
			ent.fast = true
			e.Process(ev, next)
			return
		}
	}
	if e.parked >= e.cfg.SideQueue {
		e.passUnenriched(ev, ent, next)
		return
	}
	cp := park(ev)
	if ev.Timestamp > 0 {
		e.now = ev.Timestamp
	}
	if len(ent.waiting) == 0 {
		ent.deadline = e.now + int64(e.cfg.WaitTimeout)
		e.waiters = append(e.waiters, ent)
	}
	ent.waiting = append(ent.waiting, cp)
	e.parked++
	e.c.waits++
}

// passUnenriched hands ev on at once with whatever little is known of its
// cgroup (ent may be nil) and counts it as a drop.
func (e *Enricher) passUnenriched(ev *event.Event, ent *entry, next func(*event.Event)) {
	e.c.drops++
	ev.Meta = e.unknown
	if ent != nil && ent.meta != nil {
		ev.Meta = ent.meta
	}
	setPeers(ev, e.snapshot())
	next(ev)
}

// submit queues a lookup of the cgroup without blocking.
func (e *Enricher) submit(id uint64) bool {
	select {
	case e.work <- id:
		return true
	default:
		return false
	}
}

// revalidate rebuilds a ready entry's metadata after a Kubernetes change and
// starts a background refetch once it expired.
func (e *Enricher) revalidate(ent *entry, snap *kube.Snapshot) {
	if snap != nil && snap.Gen != ent.gen {
		ent.meta = e.build(ent.wl, snap)
		ent.gen = snap.Gen
	}
	if e.now > ent.expires && !ent.refreshing {
		if e.submit(ent.id) {
			ent.refreshing = true
		} else {
			ent.expires = e.now + int64(e.cfg.RetryTTL)
		}
	}
}

// Flush releases waiting events whose metadata arrived, or whose wait timed
// out (with what is known, Meta.Complete false), in arrival order per
// cgroup, and publishes the counters. The pipeline calls it often (every few
// milliseconds and when idle). now is the pipeline's clock: wait deadlines
// and cache TTLs are measured on it and on event timestamps, so a replayed
// capture behaves as it did live.
func (e *Enricher) Flush(now time.Time, next func(*event.Event)) {
	e.now = now.UnixNano()
	e.drain(next)
	if len(e.waiters) > 0 {
		snap := e.snapshot()
		keep := e.waiters[:0]
		for _, ent := range e.waiters {
			if len(ent.waiting) == 0 {
				continue
			}
			if snap != nil && snap.Gen != ent.gen && ent.wl != nil {
				ent.meta = e.build(ent.wl, snap)
				ent.gen = snap.Gen
			}
			switch {
			case ent.ready && ent.meta != nil && ent.meta.Complete:
				e.release(ent, snap, next)
			case e.now >= ent.deadline:
				e.c.timeouts += uint64(len(ent.waiting))
				e.release(ent, snap, next)
			default:
				if ent.retryAt != 0 && e.now >= ent.retryAt && !ent.refreshing && e.submit(ent.id) {
					ent.retryAt, ent.refreshing = 0, true
				}
				keep = append(keep, ent)
			}
		}
		clear(e.waiters[len(keep):])
		e.waiters = keep
	}
	e.publishStats()
}

// release hands on every waiting event of ent and lets later events take the
// hit path. An entry no lookup answered yet serves the cluster and node
// until one does.
func (e *Enricher) release(ent *entry, snap *kube.Snapshot, next func(*event.Event)) {
	if ent.meta == nil {
		ent.meta = e.unknown
	}
	meta := ent.meta
	w := ent.waiting
	ent.waiting = nil
	ent.ready, ent.fast, ent.retryAt = true, true, 0
	e.parked -= len(w)
	for _, ev := range w {
		ev.Meta = meta
		setPeers(ev, snap)
		next(ev)
	}
}

// drain applies every lookup result that arrived.
func (e *Enricher) drain(next func(*event.Event)) {
	for {
		select {
		case r := <-e.results:
			e.apply(r, next)
		default:
			return
		}
	}
}

// apply records a lookup result and releases the cgroup's waiting events
// when nothing more is to be expected.
func (e *Enricher) apply(r result, next func(*event.Event)) {
	ent := e.cache.m[r.id]
	if ent == nil {
		if !r.wl.final {
			return
		}
		ent = &entry{id: r.id}
		e.cache.add(ent)
	}
	wl := r.wl
	if ent.ready && ent.wl != nil && (!wl.final || (wl.err != nil && ent.wl.err == nil) || (wl.unknown && ent.wl.ctr != nil)) {
		// A refresh that failed, is partial, or finds the runtime no
		// longer knows the container: keep serving what we had.
		if wl.final {
			ent.refreshing = false
			ent.expires = e.now + int64(e.cfg.RetryTTL)
			if wl.unknown {
				e.notKnown(ent)
			}
		}
		return
	}
	snap := e.snapshot()
	ent.wl = wl
	ent.meta = e.build(wl, snap)
	if snap != nil {
		ent.gen = snap.Gen
	}
	if !wl.final {
		return
	}
	ent.refreshing = false
	// A failed lookup is retried soon, and so is a container the runtime
	// does not know (yet: a sandbox runs before the runtime registers it),
	// backing off while it stays unknown. What Kubernetes lacks arrives
	// through the snapshot, whose every change rebuilds the metadata.
	switch {
	case wl.err != nil:
		ent.expires = e.now + int64(e.cfg.RetryTTL)
	case wl.unknown:
		e.notKnown(ent)
	default:
		ent.unknownStreak = 0
		ent.expires = e.now + int64(e.cfg.CacheTTL)
	}
	if !ent.meta.Complete && ent.meta.PodUID != "" && snap != nil && snap.Synced && snap.Pod(ent.meta.PodUID) == nil && !e.podMissLogged {
		e.podMissLogged = true
		e.log.Warn("a pod the runtime knows is not among the watched pods of this node: is the node name right?",
			zap.String("node", e.node), zap.String("pod_uid", ent.meta.PodUID), zap.String("pod", ent.meta.Namespace+"/"+ent.meta.PodName))
	}
	if len(ent.waiting) == 0 {
		ent.ready, ent.fast = true, true
		return
	}
	switch {
	case wl.unknown && wl.info.PodUID != "":
		// A pod's container the runtime does not know yet: its events wait
		// on while Flush asks again, until the deadline.
		ent.retryAt = e.now + int64(notFoundRetry)
	case !ent.meta.Complete && wl.err == nil && e.kube != nil && ent.meta.PodUID != "":
		// Wait on for Kubernetes to catch up with a pod the runtime
		// knows, until the deadline.
		ent.ready = true
	default:
		// As complete as it gets.
		ent.ready = true
		e.release(ent, snap, next)
	}
}

// notFoundRetry is how soon a pod's container the runtime does not know is
// looked up again while its events wait.
const notFoundRetry = 20 * time.Millisecond

// notKnown sets when to look up again a container the runtime just said it
// does not know: after RetryTTL, doubling with every such answer of a
// background refresh up to CacheTTL (a container of another runtime, or of
// no pod, stays unknown). Retries while events wait do not back off.
func (e *Enricher) notKnown(ent *entry) {
	d := e.cfg.RetryTTL
	for i := ent.unknownStreak; i > 0 && d < e.cfg.CacheTTL; i-- {
		d *= 2
	}
	ent.expires = e.now + int64(min(d, e.cfg.CacheTTL))
	if ent.ready && ent.unknownStreak < 31 {
		ent.unknownStreak++
	}
}
