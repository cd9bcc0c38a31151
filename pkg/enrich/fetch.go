package enrich

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vigilsec/vigil/pkg/enrich/cgroup"
	"github.com/vigilsec/vigil/pkg/enrich/cri"
)

// worker looks cgroups up until ctx ends.
func (e *Enricher) worker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-e.work:
			e.lookup(ctx, id)
		}
	}
}

func (e *Enricher) send(ctx context.Context, id uint64, wl *workload) {
	if wl.err != nil {
		e.pub.errors.Add(1)
	}
	select {
	case e.results <- result{id: id, wl: wl}:
	case <-ctx.Done():
	}
}

// lookup resolves one cgroup id: path, then (for containers) the runtime.
// It sends a partial answer as soon as the path is known.
func (e *Enricher) lookup(ctx context.Context, id uint64) {
	if e.resolver == nil {
		e.send(ctx, id, &workload{final: true, err: cgroup.ErrNoCgroup2})
		return
	}
	path, err := e.resolver.Path(id)
	if err != nil {
		e.send(ctx, id, &workload{final: true, err: err})
		return
	}
	info := cgroup.Parse(path)
	if !info.IsContainer() {
		e.send(ctx, id, &workload{host: true, info: info, final: true})
		return
	}
	e.send(ctx, id, &workload{info: info})
	client, err := e.rt.get(ctx)
	if err != nil {
		e.send(ctx, id, &workload{info: info, final: true, err: err})
		return
	}
	if client == nil {
		e.send(ctx, id, &workload{info: info, final: true})
		return
	}
	cctx, cancel := context.WithTimeout(ctx, e.cfg.CRITimeout)
	c, err := client.Container(cctx, info.ContainerID)
	cancel()
	switch {
	case err == nil:
		e.send(ctx, id, &workload{info: info, ctr: c, final: true})
	case errors.Is(err, cri.ErrNotFound):
		// Not a container of this runtime (another containerd namespace,
		// Docker, plain runc), or not registered yet (a pod sandbox runs
		// before its runtime records it): the path is all there is for now.
		e.send(ctx, id, &workload{info: info, final: true, unknown: true})
	default:
		e.rt.failed(err)
		e.send(ctx, id, &workload{info: info, final: true, err: err})
	}
}

// runtimeConn is the lazily dialled CRI connection shared by the workers.
type runtimeConn struct {
	cfg Config
	log *zap.Logger

	mu      sync.Mutex
	client  *cri.Client
	nextTry time.Time
	// lastErr is why an expected runtime does not answer (nil when the
	// node has none); connected reports that a runtime answered once, after
	// which it is always expected.
	lastErr        error
	connected      bool
	reportedAbsent bool
	reportedDown   bool
}

// How long to wait before probing the sockets again: when none exists, and
// when an expected runtime does not answer.
const (
	redialAbsent = 30 * time.Second
	redialDown   = time.Second
)

// get returns the connected client, dialling when needed. It returns nil and
// no error when the node has no runtime (logged once), and an error when a
// runtime is expected (its socket exists, or it answered before) but does
// not answer: then lookups fail and are retried instead of caching empty
// container fields.
func (r *runtimeConn) get(ctx context.Context) (*cri.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		return r.client, nil
	}
	now := time.Now()
	if now.Before(r.nextTry) {
		return nil, r.lastErr
	}
	c, err := cri.Dial(ctx, r.cfg.CRISockets, r.cfg.CRITimeout)
	switch {
	case err == nil:
		r.log.Info("container runtime connected", zap.String("socket", c.Endpoint()), zap.String("runtime", c.Runtime()))
		r.client, r.connected, r.lastErr, r.reportedDown = c, true, nil, false
		return c, nil
	case errors.Is(err, cri.ErrNoSocket) && !r.connected:
		r.nextTry, r.lastErr = now.Add(redialAbsent), nil
		if !r.reportedAbsent {
			r.reportedAbsent = true
			r.log.Info("no container runtime: container names, images and pods stay empty", zap.Error(err))
		}
		return nil, nil
	default:
		r.nextTry, r.lastErr = now.Add(redialDown), err
		if !r.reportedDown {
			r.reportedDown = true
			r.log.Warn("container runtime does not answer; retrying", zap.Error(err))
		}
		return nil, err
	}
}

// failed drops the connection after an unavailable runtime, so the next
// lookup dials again.
func (r *runtimeConn) failed(err error) {
	if !cri.Unavailable(err) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		r.log.Warn("container runtime unavailable", zap.String("socket", r.client.Endpoint()), zap.Error(err))
		r.client.Close()
		r.client = nil
	}
}

func (r *runtimeConn) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		r.client.Close()
		r.client = nil
	}
}
