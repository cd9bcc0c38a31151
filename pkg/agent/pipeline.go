// Package agent wires Vigil's stages into the running node agent: the event
// path (decode → state → enrich → engine → alerts), hot reload, metrics and
// shutdown. cmd/vigil only parses flags and calls it.
package agent

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/state"
)

// Enricher attaches workload metadata to events; it may hold an event back
// while its container's metadata is fetched and release it later through
// next (see enrich.Enricher).
type Enricher interface {
	Process(ev *event.Event, next func(*event.Event))
	Flush(now time.Time, next func(*event.Event))
}

// Evaluator runs the rules on one event and emits the alerts it raises (see
// engine.Engine).
type Evaluator interface {
	Process(ev *event.Event, emit func(*alert.Alert))
}

// Pipeline is the event path for one stream of kernel records. Handle runs
// on one goroutine; nothing in it blocks on I/O.
type Pipeline struct {
	dec    *event.Decoder
	state  *state.Table
	enrich Enricher
	eval   Evaluator
	emit   func(*alert.Alert)
	// observe, when set, sees every event after enrichment (vigil run
	// --events, capture tests).
	observe func(*event.Event)
	// latency, when set, brackets each evaluation.
	latency Latency
	// filter, when set, drops the events it rejects before the state
	// stage (the user-space twin of the kernel's prefilter).
	filter func(*event.Event) bool

	ev        event.Event
	next      func(*event.Event) // p.evaluate, bound once
	lastFlush int64

	byType        [event.NumTypes]atomic.Uint64
	decodeErrors  atomic.Uint64
	filtered      atomic.Uint64
	alerts        atomic.Uint64
	tenantEvents  sync.Map // tenant → *atomic.Uint64
	lastTenant    string
	lastTenantCnt *atomic.Uint64
}

// Latency measures the engine's time per event; implementations sample.
type Latency interface {
	Start() time.Time
	Done(start time.Time)
}

// PipelineOptions are the stages of a pipeline. Enrich, Eval and Observe are
// optional.
type PipelineOptions struct {
	Decoder *event.Decoder
	State   *state.Table
	Enrich  Enricher
	Eval    Evaluator
	Emit    func(*alert.Alert)
	Observe func(*event.Event)
	Latency Latency
	Filter  func(*event.Event) bool
}

// NewPipeline builds a pipeline from its stages.
func NewPipeline(o PipelineOptions) *Pipeline {
	p := &Pipeline{dec: o.Decoder, state: o.State, enrich: o.Enrich, eval: o.Eval,
		emit: o.Emit, observe: o.Observe, latency: o.Latency, filter: o.Filter}
	if p.emit == nil {
		p.emit = func(*alert.Alert) {}
	}
	p.next = p.evaluate
	return p
}

// flushEvery is how often held-back events are checked for release.
const flushEvery = int64(2 * time.Millisecond)

// Handle runs one raw kernel record through the event path. A malformed
// record is counted and skipped.
func (p *Pipeline) Handle(rec []byte) {
	ev := &p.ev
	if err := p.dec.Decode(rec, ev); err != nil {
		p.decodeErrors.Add(1)
		return
	}
	p.byType[ev.Type].Add(1)
	if p.filter != nil && !p.filter(ev) {
		p.filtered.Add(1)
		return
	}
	if p.state != nil {
		p.state.Apply(ev)
	}
	if p.enrich == nil {
		p.evaluate(ev)
		return
	}
	p.enrich.Process(ev, p.next)
	if ev.Timestamp-p.lastFlush >= flushEvery || ev.Timestamp < p.lastFlush {
		p.Tick(time.Unix(0, ev.Timestamp))
	}
}

// Tick releases events the enricher held back whose wait is over. The
// caller runs it on the pipeline goroutine when no record arrives for a
// while, so held events never wait for traffic.
func (p *Pipeline) Tick(now time.Time) {
	p.lastFlush = now.UnixNano()
	if p.enrich != nil {
		p.enrich.Flush(now, p.next)
	}
}

func (p *Pipeline) evaluate(ev *event.Event) {
	p.countTenant(ev)
	if p.observe != nil {
		p.observe(ev)
	}
	if p.eval == nil {
		return
	}
	if p.latency != nil {
		start := p.latency.Start()
		p.eval.Process(ev, p.emitAlert)
		p.latency.Done(start)
		return
	}
	p.eval.Process(ev, p.emitAlert)
}

func (p *Pipeline) emitAlert(a *alert.Alert) {
	p.alerts.Add(1)
	p.emit(a)
}

func (p *Pipeline) countTenant(ev *event.Event) {
	tenant := ""
	if ev.Meta != nil {
		tenant = ev.Meta.Tenant
	}
	if p.lastTenantCnt == nil || tenant != p.lastTenant {
		c, ok := p.tenantEvents.Load(tenant)
		if !ok {
			c, _ = p.tenantEvents.LoadOrStore(tenant, new(atomic.Uint64))
		}
		p.lastTenant, p.lastTenantCnt = tenant, c.(*atomic.Uint64)
	}
	p.lastTenantCnt.Add(1)
}

// PipelineStats are the pipeline's counters, safe to read from any goroutine.
type PipelineStats struct {
	// ByType counts decoded events per event type.
	ByType map[event.Type]uint64
	// DecodeErrors counts malformed records.
	DecodeErrors uint64
	// Filtered counts events the filter dropped.
	Filtered uint64
	// Alerts counts alerts the engine raised.
	Alerts uint64
	// TenantEvents counts evaluated events per tenant ("" for none).
	TenantEvents map[string]uint64
}

// Stats returns a snapshot of the counters.
func (p *Pipeline) Stats() PipelineStats {
	s := PipelineStats{ByType: map[event.Type]uint64{}, TenantEvents: map[string]uint64{},
		DecodeErrors: p.decodeErrors.Load(), Filtered: p.filtered.Load(), Alerts: p.alerts.Load()}
	for t := range p.byType {
		if n := p.byType[t].Load(); n > 0 {
			s.ByType[event.Type(t)] = n
		}
	}
	p.tenantEvents.Range(func(k, v any) bool {
		s.TenantEvents[k.(string)] = v.(*atomic.Uint64).Load()
		return true
	})
	return s
}
