package enrich

import "sync/atomic"

// Stats are the enrich stage's counters, for metrics.
type Stats struct {
	// Hits counts events enriched straight from the cache.
	Hits uint64
	// Misses counts lookups started for unknown cgroups.
	Misses uint64
	// Waits counts events parked in the side queue.
	Waits uint64
	// Timeouts counts parked events released by the wait timeout, with
	// incomplete metadata.
	Timeouts uint64
	// Drops counts events passed on unenriched because the side queue or
	// the lookup queue was full.
	Drops uint64
	// Errors counts failed lookups (cgroup, runtime).
	Errors uint64
	// Waiting is the number of events in the side queue now.
	Waiting uint64
	// Cached is the number of cgroups in the cache now.
	Cached uint64
}

// counters are kept as plain integers by the pipeline goroutine and
// published to atomics on Flush, so the hot path does no atomic writes.
type counters struct {
	hits, misses, waits, timeouts, drops uint64
}

type publishedStats struct {
	hits, misses, waits, timeouts, drops, errors, waiting, cached atomic.Uint64
}

// Stats returns the counters as of the last Flush. Safe to call from any
// goroutine.
func (e *Enricher) Stats() Stats {
	p := &e.pub
	return Stats{
		Hits: p.hits.Load(), Misses: p.misses.Load(), Waits: p.waits.Load(), Timeouts: p.timeouts.Load(),
		Drops: p.drops.Load(), Errors: p.errors.Load(), Waiting: p.waiting.Load(), Cached: p.cached.Load(),
	}
}

func (e *Enricher) publishStats() {
	p := &e.pub
	p.hits.Store(e.c.hits)
	p.misses.Store(e.c.misses)
	p.waits.Store(e.c.waits)
	p.timeouts.Store(e.c.timeouts)
	p.drops.Store(e.c.drops)
	p.waiting.Store(uint64(e.parked))
	p.cached.Store(uint64(e.cache.len()))
}
