package alert

import (
	"context"
	"errors"
	"fmt"
	"sort"
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
// through one bounded queue (fair between tenants) and its own workers per
// destination. Enqueue never blocks; whatever cannot be delivered is
// counted by reason.
type Dispatcher struct {
	cfg   Config
	log   *zap.Logger
	now   func() time.Time
	dests []*dest

	mu      sync.Mutex // guards tenants (buckets and counters)
	tenants map[string]*tenantState

	closed    atomic.Bool
	abandoned atomic.Bool   // Close gave up on the workers still sending
	stop      chan struct{} // closed by Close: drain and exit
	workCtx   context.Context
	abort     context.CancelFunc // cancels in-flight sends at the deadline
	workers   sync.WaitGroup
	summarer  sync.WaitGroup
	closeMu   sync.Mutex

	// sleep waits d before a retry, false when ctx ended first.
	sleep func(ctx context.Context, d time.Duration) bool
	// summaryHook, when set (tests), runs as each summary alert is built.
	summaryHook func()
}

// dest is a Destination at run time.
type dest struct {
	Destination
	filter  filter
	q       *queue
	workers []*worker
	c       counters
	lastLog atomic.Int64 // unix ns of the last error logged
}

// worker is one of a destination's sending goroutines.
type worker struct {
	// cur is the alert being delivered, nil between alerts. Whoever
	// swaps it to nil (the worker when done, or Close when it gives up
	// on the worker) counts the alert's outcome, so it is counted once.
	cur atomic.Pointer[Alert]
}

// CloseGrace is how long Close waits, after its context ends, for the
// workers to notice the cancellation, and then again for the sinks to
// close.
const CloseGrace = 100 * time.Millisecond

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
		sleep:   sleep,
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
		dst := &dest{Destination: ds, filter: f, q: newQueue(ds.Delivery.QueueSize, ds.Delivery.Workers)}
		for range ds.Delivery.Workers {
			dst.workers = append(dst.workers, &worker{})
		}
		d.dests = append(d.dests, dst)
	}
	d.workCtx, d.abort = context.WithCancel(context.Background())
	for _, ds := range d.dests {
		for _, w := range ds.workers {
			d.workers.Add(1)
			go d.work(ds, w)
		}
	}
	if cfg.RateLimit.Enabled {
		d.summarer.Add(1)
		go d.summaryLoop()
	}
	return d, nil
}

// sleep waits d, or until ctx ends (then it reports false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Enqueue hands an alert to every destination whose route matches. It
// never blocks and never allocates (beyond the first alert of a tenant): a
// suppressed alert is counted for the summary, an alert a queue cannot
// take is dropped for that destination and counted. The alert must not be
// modified afterwards.
func (d *Dispatcher) Enqueue(a *Alert) {
	tenant := a.TenantKey()
	if d.closed.Load() {
		d.fanOut(a, tenant, -1)
		return
	}
	id, ok := d.admit(a, tenant)
	if !ok {
		return
	}
	d.fanOut(a, tenant, id)
}

// admit counts the alert for its tenant and charges the rate limit; it
// returns the tenant's id.
func (d *Dispatcher) admit(a *Alert, tenant string) (int32, bool) {
	var now int64
	if a.Time.IsZero() {
		now = d.now().UnixNano()
	} else {
		now = a.Time.UnixNano()
	}
	d.mu.Lock()
	ts := d.tenants[tenant]
	if ts == nil {
		ts = newTenantState(tenant, int32(len(d.tenants)), d.cfg.RateLimit.limitFor(tenant), now)
		d.tenants[tenant] = ts
	}
	ts.alerts++
	ok := !d.cfg.RateLimit.Enabled || ts.admit(a, now)
	d.mu.Unlock()
	return ts.id, ok
}

// fanOut queues a, of the tenant with the given id, for every matching
// destination; an id < 0 (the Dispatcher is closed) counts it as dropped
// with reason DropShutdown instead.
func (d *Dispatcher) fanOut(a *Alert, tenant string, id int32) {
	for _, ds := range d.dests {
		if !ds.filter.match(a, tenant) {
			continue
		}
		if id < 0 {
			ds.c.dropped[DropShutdown].Add(1)
			continue
		}
		switch ds.q.push(id, a) {
		case full:
			ds.c.dropped[DropQueueFull].Add(1)
		case overShare:
			ds.c.dropped[DropTenantShare].Add(1)
		}
	}
}

// work delivers the destination's alerts until Close; then it drains the
// queue and exits. It also exits when Close gave up on it.
func (d *Dispatcher) work(ds *dest, w *worker) {
	defer d.workers.Done()
	for {
		a, ok := ds.q.wait(d.stop)
		if !ok {
			return
		}
		w.cur.Store(a)
		if d.abandoned.Load() { // Close is counting what is left
			if w.cur.CompareAndSwap(a, nil) {
				ds.c.dropped[DropShutdown].Add(1)
			}
			return
		}
		sent, reason := d.deliver(ds, a)
		if !w.cur.CompareAndSwap(a, nil) {
			return // Close counted it as dropped and returned
		}
		if sent {
			ds.c.sent.Add(1)
		} else {
			ds.c.dropped[reason].Add(1)
		}
	}
}

// deliver sends a with the destination's retry budget and reports whether
// it was sent, or else why it was dropped. It counts failed attempts.
func (d *Dispatcher) deliver(ds *dest, a *Alert) (bool, DropReason) {
	ctx := d.workCtx
	if ctx.Err() != nil {
		return false, DropShutdown
	}
	backoff := min(ds.Delivery.Backoff, ds.Delivery.MaxBackoff)
	for attempt := 1; ; attempt++ {
		err := ds.Sink.Send(ctx, a)
		if err == nil {
			return true, 0
		}
		ds.c.failed.Add(1)
		switch {
		case ctx.Err() != nil:
			d.logFailure(ds, a, err, "shutdown")
			return false, DropShutdown
		case IsPermanent(err):
			d.logFailure(ds, a, err, "rejected")
			return false, DropRejected
		case attempt >= ds.Delivery.MaxAttempts:
			d.logFailure(ds, a, err, "retries exhausted")
			return false, DropRetriesExhausted
		}
		if !d.sleep(ctx, backoff) {
			return false, DropShutdown
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
// The limiter lock, which the event path takes too, is held only to copy
// and reset the counts: the alerts are built after it is released.
func (d *Dispatcher) Summarize() int {
	var taken []suppression
	d.mu.Lock()
	for _, ts := range d.tenants {
		taken = ts.takeSuppressed(taken)
	}
	d.mu.Unlock()
	if len(taken) == 0 {
		return 0
	}
	sort.Slice(taken, func(i, j int) bool {
		if taken[i].tenant != taken[j].tenant {
			return taken[i].tenant < taken[j].tenant
		}
		return taken[i].rule < taken[j].rule
	})
	now := d.now()
	for _, s := range taken {
		if d.summaryHook != nil {
			d.summaryHook()
		}
		a := s.summary(now, d.cfg.SummaryInterval)
		d.fanOut(a, a.TenantKey(), s.id)
	}
	return len(taken)
}

// Close stops taking alerts, reports what was suppressed, and lets every
// destination deliver its queue until ctx ends. It then cancels the sends
// in flight, waits CloseGrace at most for the workers, and counts whatever
// is still queued or in flight as dropped with reason DropShutdown (a
// worker stuck in a Send that ignores its context is left behind, and its
// alert's outcome is no longer counted). Last it closes the sinks
// concurrently, each within ctx extended by CloseGrace. Close thus returns
// at most 2*CloseGrace after ctx ends. It returns ctx's error when the
// deadline cut delivery short, joined with the sinks' Close errors.
// Enqueue after Close counts the alert as dropped; stop the event path
// before calling Close, as an Enqueue racing with it may leave its alert
// uncounted.
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
		grace, cancel := withGrace(ctx)
		select {
		case <-done:
		case <-grace.Done():
		}
		cancel()
	}
	d.abort()
	errs = append(errs, d.abandon()...)
	grace, cancel := withGrace(ctx)
	defer cancel()
	errs = append(errs, d.closeSinks(grace)...)
	return errors.Join(errs...)
}

// withGrace returns ctx extended by CloseGrace: it ends CloseGrace after
// ctx does, or after now when ctx has ended already, and its deadline, if
// ctx has one, is as much later.
func withGrace(ctx context.Context) (context.Context, context.CancelFunc) {
	base := context.WithoutCancel(ctx)
	var g context.Context
	var cancel context.CancelFunc
	if dl, ok := ctx.Deadline(); ok {
		g, cancel = context.WithDeadline(base, later(dl, time.Now()).Add(CloseGrace))
	} else {
		g, cancel = context.WithCancel(base)
	}
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(CloseGrace, cancel) })
	return g, func() { stop(); cancel() }
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// abandon counts the alerts of workers still sending, and those still
// queued, as dropped with reason DropShutdown; it returns an error per
// destination that had alerts in flight.
func (d *Dispatcher) abandon() []error {
	d.abandoned.Store(true)
	var errs []error
	for _, ds := range d.dests {
		stuck := 0
		for _, w := range ds.workers {
			if a := w.cur.Load(); a != nil && w.cur.CompareAndSwap(a, nil) {
				ds.c.dropped[DropShutdown].Add(1)
				stuck++
			}
		}
		if stuck > 0 {
			errs = append(errs, fmt.Errorf("output %s: %d alerts still being sent at the deadline, dropped", ds.Name, stuck))
		}
		for _, ok := ds.q.pop(); ok; _, ok = ds.q.pop() {
			ds.c.dropped[DropShutdown].Add(1)
		}
	}
	return errs
}

// closeSinks closes every sink concurrently within ctx and counts what a
// sink reports lost (see Lost) as dropped.
func (d *Dispatcher) closeSinks(ctx context.Context) []error {
	type result struct {
		i   int
		err error
	}
	results := make(chan result, len(d.dests))
	for i, ds := range d.dests {
		go func() {
			err := ds.Sink.Close(ctx)
			if n := min(LostCount(err), ds.c.sent.Load()); n > 0 {
				ds.c.sent.Add(^(n - 1)) // subtract n
				ds.c.dropped[DropShutdown].Add(n)
			}
			results <- result{i, err}
		}()
	}
	var errs []error
	closed := make([]bool, len(d.dests))
	for range d.dests {
		select {
		case r := <-results:
			closed[r.i] = true
			if r.err != nil {
				errs = append(errs, fmt.Errorf("output %s: %w", d.dests[r.i].Name, r.err))
			}
		case <-ctx.Done():
			for i, ds := range d.dests {
				if !closed[i] {
					errs = append(errs, fmt.Errorf("output %s: not closed: %w", ds.Name, ctx.Err()))
				}
			}
			return errs
		}
	}
	return errs
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
