package enrich

import (
	"context"

	"go.uber.org/zap"

	"github.com/vigilsec/vigil/pkg/enrich/cgroup"
)

// prime looks up the containers and pod sandboxes the runtime runs already,
// so that their events hit the cache from the agent's first event on.
func (e *Enricher) prime(ctx context.Context) {
	defer close(e.primed)
	if e.resolver == nil {
		return
	}
	client, _ := e.rt.get(ctx)
	if client == nil {
		return
	}
	cs, err := client.Running(ctx)
	if err != nil {
		e.log.Warn("listing running containers", zap.Error(err))
	}
	n := 0
	for _, c := range cs {
		if c.Pid == 0 {
			continue
		}
		path, err := cgroup.ProcPath(c.Pid)
		if err != nil {
			continue // exited meanwhile
		}
		id, err := e.resolver.ID(path)
		if err != nil {
			continue
		}
		info := cgroup.Parse(path)
		if info.ContainerID != c.ID {
			// A layout the parser does not know: trust the runtime.
			info = cgroup.Info{ContainerID: c.ID, PodUID: c.PodUID}
		}
		e.send(ctx, id, &workload{info: info, ctr: c, final: true})
		n++
	}
	e.log.Info("running containers loaded", zap.Int("containers", n))
}
