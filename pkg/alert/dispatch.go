package alert

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Options are the Dispatcher's collaborators.
type Options struct {
	// Logger receives delivery errors (rate-limited); nil discards them.
	Logger *zap.Logger
	// Now is the clock of summaries and of alerts with a zero Time; nil
	// means time.Now. Rate limiting otherwise runs on the alerts' own
	// event times, so replays and tests are deterministic.
	Now func() time.Time
}

// Dispatcher takes alerts from the event path, rate-limits them per tenant
// and rule, and fans them out to each destination whose route matches,
// through one bounded queue and its own workers per destination. Enqueue
// never blocks; whatever cannot be delivered is counted by reason.
type Dispatcher struct {
	cfg   Config
	log   *zap.Logger
	now   func() time.Time
	dests []*dest

	mu      sync.Mutex // guards tenants (buckets and counters)
	tenants map[string]*tenantState

	closed   atomic.Bool
	stop     chan struct{} // closed by Close: drain and exit
	workCtx  context.Context
	abort    context.CancelFunc // cancels in-flight sends at the deadline
	workers  sync.WaitGroup
	summarer sync.WaitGroup
	closeMu  sync.Mutex
}

// dest is a Destination at run time.
type dest struct {
	Destination
	filter  filter
	q       *queue
	c       counters
	lastLog atomic.Int64 // unix ns of the last error logged
}

// New validates cfg and the destinations and starts their workers and the
// summary timer. Call Close to stop them.
func New(cfg Config, dests []Destination, opts Options) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Dispatcher{
		cfg:     cfg,
		log:     opts.Logger,
		now:     opts.Now,
		tenants: map[string]*tenantState{},
		stop:    make(chan struct{}),
	}
	if d.log == nil {
		d.log = zap.NewNop()
	}
	if d.now == nil {
		d.now = time.Now
	}
	seen := map[string]bool{}
	for _, ds := range dests {
		switch {
		case ds.Name == "":
			return nil, errors.New("destination without a name")
		case seen[ds.Name]:
			return nil, fmt.Errorf("destination %q: name used twice", ds.Name)
		case ds.Sink == nil:
			return nil, fmt.Errorf("destination %q: no sink", ds.Name)
		}
		seen[ds.Name] = true
		f, err := compileRoute(ds.Route)
		if err != nil {
			return nil, fmt.Errorf("destination %q: %w", ds.Name, err)
		}
		if err := ds.Delivery.Validate(); err != nil {
			return nil, fmt.Errorf("destination %q: %w", ds.Name, err)
		}
		ds.Delivery = ds.Delivery.WithDefaults()
		d.dests = append(d.dests, &dest{Destination: ds, filter: f, q: newQueue(ds.Delivery.QueueSize, ds.Delivery.Workers)})
	}
	d.workCtx, d.abort = context.WithCancel(context.Background())
	for _, ds := range d.dests {
		for range ds.Delivery.Workers {
			d.workers.Add(1)
			go d.work(ds)
		}
	}
	if cfg.RateLimit.Enabled {
		d.summarer.Add(1)
		go d.summaryLoop()
	}
	return d, nil
}

// Enqueue hands an alert to every destination whose route matches. It
// never blocks and never allocates: a suppressed alert is counted for the
// summary, a full queue drops the alert for that destination and counts it.
// The alert must not be modified afterwards.
func (d *Dispatcher) Enqueue(a *Alert) {
	tenant := a.TenantKey()
	if d.closed.Load() {
		d.fanOut(a, tenant, DropShutdown)
		return
	}
	if !d.admit(a, tenant) {
		return
	}
	d.fanOut(a, tenant, DropQueueFull)
}

// admit counts the alert for its tenant and charges the rate limit.
func (d *Dispatcher) admit(a *Alert, tenant string) bool {
	var now int64
	if a.Time.IsZero() {
		now = d.now().UnixNano()
	} else {
		now = a.Time.UnixNano()
	}
	d.mu.Lock()
	ts := d.tenants[tenant]
	if ts == nil {
		ts = newTenantState(tenant, d.cfg.RateLimit.limitFor(tenant), now)
		d.tenants[tenant] = ts
	}
	ts.alerts++
	ok := !d.cfg.RateLimit.Enabled || ts.admit(a, now)
	d.mu.Unlock()
	return ok
}

// fanOut queues a for every matching destination; when a queue cannot take
// it (full, or the Dispatcher is closed) it is counted under reason.
func (d *Dispatcher) fanOut(a *Alert, tenant string, reason DropReason) {
	for _, ds := range d.dests {
		if !ds.filter.match(a, tenant) {
			continue
		}
		if reason == DropShutdown {
			ds.c.dropped[DropShutdown].Add(1)
			continue
		}
		if !ds.q.push(a) {
			ds.c.dropped[reason].Add(1)
		}
	}
}

// work delivers the destination's alerts until Close; then it drains the
// queue and exits.
func (d *Dispatcher) work(ds *dest) {
	defer d.workers.Done()
	for {
		a, ok := ds.q.wait(d.stop)
		if !ok {
			break
		}
		d.deliver(ds, a)
	}
	for { // stopping: deliver what is queued (until the deadline aborts)
		a, ok := ds.q.pop()
		if !ok {
			return
		}
		d.deliver(ds, a)
	}
}

// deliver sends a with the destination's retry budget.
func (d *Dispatcher) deliver(ds *dest, a *Alert) {
	ctx := d.workCtx
	if ctx.Err() != nil {
		ds.c.dropped[DropShutdown].Add(1)
		return
	}
	backoff := ds.Delivery.Backoff
	for attempt := 1; ; attempt++ {
		err := ds.Sink.Send(ctx, a)
		if err == nil {
			ds.c.sent.Add(1)
			return
		}
		ds.c.failed.Add(1)
		switch {
		case ctx.Err() != nil:
			d.logFailure(ds, a, err, "shutdown")
			ds.c.dropped[DropShutdown].Add(1)
			return
		case IsPermanent(err):
			d.logFailure(ds, a, err, "rejected")
			ds.c.dropped[DropRejected].Add(1)
			return
		case attempt >= ds.Delivery.MaxAttempts:
			d.logFailure(ds, a, err, "retries exhausted")
			ds.c.dropped[DropRetriesExhausted].Add(1)
			return
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			ds.c.dropped[DropShutdown].Add(1)
			return
		}
		backoff = min(2*backoff, ds.Delivery.MaxBackoff)
	}
}

// logFailure logs a dropped alert, at most once per second per destination.
func (d *Dispatcher) logFailure(ds *dest, a *Alert, err error, why string) {
	now := time.Now().UnixNano()
	last := ds.lastLog.Load()
	if now-last < int64(time.Second) || !ds.lastLog.CompareAndSwap(last, now) {
		return
	}
	d.log.Warn("alert not delivered", zap.String("output", ds.Name), zap.String("reason", why),
		zap.String("rule", a.Rule), zap.String("tenant", a.TenantKey()), zap.Error(err))
}

func (d *Dispatcher) summaryLoop() {
	defer d.summarer.Done()
	t := time.NewTicker(d.cfg.SummaryInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			d.Summarize()
		case <-d.stop:
			return
		}
	}
}

// Summarize emits now, for every tenant and rule that suppressed alerts
// since the last summary, one alert (rule SummaryRule) that says how many,
// routed like the tenant's alerts and never rate-limited. It runs every
// SummaryInterval and at Close; it returns the number of summaries sent.
func (d *Dispatcher) Summarize() int {
	now := d.now()
	var out []*Alert
	d.mu.Lock()
	for _, ts := range d.tenants {
		out = ts.summaries(now, d.cfg.SummaryInterval, out)
	}
	d.mu.Unlock()
	for _, a := range out {
		d.fanOut(a, a.TenantKey(), DropQueueFull)
	}
	return len(out)
}

// Close stops taking alerts, reports what was suppressed, and lets every
// destination deliver its queue until ctx ends; whatever is still queued or
// in flight then is dropped with reason DropShutdown. It closes the sinks
// and returns ctx's error when the deadline cut delivery short, joined with
// the sinks' Close errors. Enqueue after Close counts the alert as dropped;
// stop the event path before calling Close, as an Enqueue racing with it
// may leave its alert uncounted.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.closeMu.Lock()
	defer d.closeMu.Unlock()
	if d.closed.Swap(true) {
		return nil
	}
	if d.cfg.RateLimit.Enabled {
		d.Summarize()
	}
	close(d.stop)
	d.summarer.Wait()
	done := make(chan struct{})
	go func() { d.workers.Wait(); close(done) }()
	var errs []error
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("alert queues not flushed: %w", ctx.Err()))
		d.abort()
		<-done
	}
	d.abort()
	for _, ds := range d.dests {
		for _, ok := ds.q.pop(); ok; _, ok = ds.q.pop() {
			ds.c.dropped[DropShutdown].Add(1)
		}
		if err := ds.Sink.Close(); err != nil {
			errs = append(errs, fmt.Errorf("output %s: %w", ds.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Stats returns a snapshot of the counters.
func (d *Dispatcher) Stats() Stats {
	s := Stats{Outputs: make(map[string]OutputStats, len(d.dests)), Tenants: map[string]TenantStats{}}
	for _, ds := range d.dests {
		o := OutputStats{
			Queued:    ds.q.len(),
			QueueSize: ds.q.cap(),
			Sent:      ds.c.sent.Load(),
			Failed:    ds.c.failed.Load(),
			Dropped:   make(map[DropReason]uint64, numDropReasons),
		}
		for r := range numDropReasons {
			o.Dropped[r] = ds.c.dropped[r].Load()
		}
		s.Outputs[ds.Name] = o
	}
	d.mu.Lock()
	for name, ts := range d.tenants {
		s.Tenants[name] = TenantStats{Alerts: ts.alerts, Suppressed: ts.suppressed}
	}
	d.mu.Unlock()
	return s
}
