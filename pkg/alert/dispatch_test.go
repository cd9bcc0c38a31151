package alert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is an in-memory destination: it keeps what it receives, fails
// the first failN attempts, and blocks while gate is non-nil and open.
type recorder struct {
	mu       sync.Mutex
	got      []*Alert
	begun    []*Alert // every Send's alert, in the order the calls began
	attempts atomic.Int64
	failN    int64
	failWith error
	gate     chan struct{} // when set, Send waits for it (or ctx)
	delay    time.Duration // when set, each Send takes this long
	closed   atomic.Bool
	arrived  chan struct{}
}

func newRecorder() *recorder { return &recorder{arrived: make(chan struct{}, 1<<16)} }

func (r *recorder) Send(ctx context.Context, a *Alert) error {
	n := r.attempts.Add(1)
	r.mu.Lock()
	r.begun = append(r.begun, a)
	r.mu.Unlock()
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if r.delay > 0 {
		if !sleep(ctx, r.delay) {
			return ctx.Err()
		}
	}
	if n <= r.failN {
		return r.failWith
	}
	r.mu.Lock()
	r.got = append(r.got, a)
	r.mu.Unlock()
	r.arrived <- struct{}{}
	return nil
}

func (r *recorder) Close(context.Context) error { r.closed.Store(true); return nil }

func (r *recorder) started() []*Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Alert(nil), r.begun...)
}

func (r *recorder) alerts() []*Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Alert(nil), r.got...)
}

// wait waits until n alerts arrived.
func (r *recorder) wait(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for range n {
		select {
		case <-r.arrived:
		case <-timeout:
			t.Fatalf("only %d of %d alerts arrived", len(r.alerts()), n)
		}
	}
}

// waitAttempts waits until Send was called n times.
func (r *recorder) waitAttempts(t *testing.T, n int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); r.attempts.Load() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d attempts", r.attempts.Load(), n)
		}
	}
}

func noLimit() Config { return Config{} }

func mustNew(t *testing.T, cfg Config, dests ...Destination) *Dispatcher {
	t.Helper()
	d, err := New(cfg, dests, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = d.Close(ctx)
	})
	return d
}

func TestRouting(t *testing.T) {
	mk := func(rule, tenant string, p Priority, tags ...string) *Alert {
		return &Alert{Rule: rule, Tenant: tenant, Priority: p, Tags: tags, Time: time.Unix(1, 0)}
	}
	tests := []struct {
		name  string
		route Route
		in    *Alert
		want  bool
	}{
		{"empty route passes all", Route{}, mk("r", "", PriorityDebug), true},
		{"min priority passes more severe", Route{MinPriority: "warning"}, mk("r", "", PriorityCritical), true},
		{"min priority passes equal", Route{MinPriority: "WARNING"}, mk("r", "", PriorityWarning), true},
		{"min priority stops less severe", Route{MinPriority: "warning"}, mk("r", "", PriorityNotice), false},
		{"tenant allowed", Route{Tenants: []string{"a", "b"}}, mk("r", "b", PriorityDebug), true},
		{"tenant refused", Route{Tenants: []string{"a"}}, mk("r", "b", PriorityDebug), false},
		{"host tenant", Route{Tenants: []string{HostTenant}}, mk("r", "", PriorityDebug), true},
		{"host refused", Route{Tenants: []string{"a"}}, mk("r", "", PriorityDebug), false},
		{"rule allowed", Route{Rules: []string{"r"}}, mk("r", "", PriorityDebug), true},
		{"rule refused", Route{Rules: []string{"x"}}, mk("r", "", PriorityDebug), false},
		{"rule excluded", Route{ExcludeRules: []string{"r"}}, mk("r", "", PriorityDebug), false},
		{"tag any", Route{Tags: []string{"shell", "net"}}, mk("r", "", PriorityDebug, "container", "net"), true},
		{"tag missing", Route{Tags: []string{"shell"}}, mk("r", "", PriorityDebug, "container"), false},
		{"tag none on alert", Route{Tags: []string{"shell"}}, mk("r", "", PriorityDebug), false},
		{"tag excluded", Route{Tags: []string{"net"}, ExcludeTags: []string{"noisy"}}, mk("r", "", PriorityDebug, "net", "noisy"), false},
		{"all conditions", Route{MinPriority: "error", Tenants: []string{"a"}, Rules: []string{"r"}, Tags: []string{"t"}}, mk("r", "a", PriorityError, "t"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := compileRoute(tt.route)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.match(tt.in, tt.in.TenantKey()); got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	r := newRecorder()
	tests := []struct {
		name  string
		dests []Destination
		want  string
	}{
		{"no name", []Destination{{Sink: r}}, "without a name"},
		{"twice", []Destination{{Name: "a", Sink: r}, {Name: "a", Sink: r}}, `"a": name used twice`},
		{"no sink", []Destination{{Name: "a"}}, "no sink"},
		{"bad priority", []Destination{{Name: "a", Sink: r, Route: Route{MinPriority: "loud"}}}, "min_priority:"},
		{"bad queue", []Destination{{Name: "a", Sink: r, Delivery: Delivery{QueueSize: -1}}}, "queue_size:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(noLimit(), tt.dests, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestFanOutAndStats(t *testing.T) {
	all, crit, a := newRecorder(), newRecorder(), newRecorder()
	d := mustNew(t, noLimit(),
		Destination{Name: "all", Sink: all},
		Destination{Name: "crit", Sink: crit, Route: Route{MinPriority: "critical"}},
		Destination{Name: "tenant-a", Sink: a, Route: Route{Tenants: []string{"tenant-a"}}},
	)
	d.Enqueue(&Alert{Rule: "r1", Priority: PriorityCritical, Tenant: "tenant-a", Time: time.Unix(1, 0)})
	d.Enqueue(&Alert{Rule: "r2", Priority: PriorityNotice, Tenant: "tenant-b", Time: time.Unix(1, 0)})
	d.Enqueue(&Alert{Rule: "r3", Priority: PriorityWarning, Time: time.Unix(1, 0)})
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(all.alerts()); n != 3 {
		t.Errorf("all got %d alerts, want 3", n)
	}
	if got := crit.alerts(); len(got) != 1 || got[0].Rule != "r1" {
		t.Errorf("crit got %v", got)
	}
	if got := a.alerts(); len(got) != 1 || got[0].Rule != "r1" {
		t.Errorf("tenant-a got %v", got)
	}
	if !all.closed.Load() || !crit.closed.Load() {
		t.Error("sinks not closed")
	}
	s := d.Stats()
	if s.Outputs["all"].Sent != 3 || s.Outputs["crit"].Sent != 1 {
		t.Errorf("stats %+v", s.Outputs)
	}
	want := map[string]TenantStats{"tenant-a": {Alerts: 1}, "tenant-b": {Alerts: 1}, HostTenant: {Alerts: 1}}
	for k, v := range want {
		if s.Tenants[k] != v {
			t.Errorf("tenant %s: %+v, want %+v", k, s.Tenants[k], v)
		}
	}
	d.Enqueue(&Alert{Rule: "late"})
	if got := d.Stats().Outputs["all"].Dropped[DropShutdown]; got != 1 {
		t.Errorf("alert after Close: dropped[shutdown] = %d, want 1", got)
	}
}

// TestStuckOutputDoesNotStopOthers blocks one destination completely: its
// queue fills and drops are counted, Enqueue never blocks, and the other
// destination gets every alert.
func TestStuckOutputDoesNotStopOthers(t *testing.T) {
	stuck, ok := newRecorder(), newRecorder()
	stuck.gate = make(chan struct{}) // never opened
	d := mustNew(t, noLimit(),
		Destination{Name: "stuck", Sink: stuck, Delivery: Delivery{QueueSize: 8}},
		Destination{Name: "ok", Sink: ok, Delivery: Delivery{QueueSize: 1000}},
	)
	const n = 500
	for i := range n {
		d.Enqueue(&Alert{Rule: "r", Time: time.Unix(int64(i), 0)})
		if i == 0 {
			stuck.waitAttempts(t, 1) // the stuck worker holds the first alert
		}
	}
	ok.wait(t, n)
	s := d.Stats().Outputs
	// one alert is in flight in the stuck worker, 4 wait in its queue:
	// the only tenant holds half of it at most
	if got := s["stuck"].Dropped[DropTenantShare]; got != n-5 {
		t.Errorf("stuck dropped %d, want %d", got, n-5)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := d.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want deadline exceeded", err)
	}
	s = d.Stats().Outputs
	if got := s["stuck"].Dropped[DropShutdown]; got != 5 {
		t.Errorf("stuck shutdown drops %d, want 5", got)
	}
	if s["ok"].Sent != n {
		t.Errorf("ok sent %d, want %d", s["ok"].Sent, n)
	}
	st := s["stuck"]
	if total := st.Sent + st.Dropped[DropTenantShare] + st.Dropped[DropShutdown]; total != n {
		t.Errorf("stuck accounts for %d alerts, want %d", total, n)
	}
}

func TestRetries(t *testing.T) {
	transient := errors.New("503")
	tests := []struct {
		name        string
		failN       int64
		err         error
		maxAttempts int
		sent        uint64
		failed      uint64
		reason      DropReason
		dropped     uint64
	}{
		{"first try", 0, transient, 3, 1, 0, DropRetriesExhausted, 0},
		{"succeeds on retry", 2, transient, 3, 1, 2, DropRetriesExhausted, 0},
		{"budget exhausted", 3, transient, 3, 0, 3, DropRetriesExhausted, 1},
		{"no retry by default", 1, transient, 0, 0, 1, DropRetriesExhausted, 1},
		{"permanent not retried", 1, Permanent(errors.New("400")), 5, 0, 1, DropRejected, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder()
			r.failN, r.failWith = tt.failN, tt.err
			d := mustNew(t, noLimit(), Destination{Name: "x", Sink: r,
				Delivery: Delivery{MaxAttempts: tt.maxAttempts, Backoff: time.Millisecond}})
			d.Enqueue(&Alert{Rule: "r"})
			if err := d.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			s := d.Stats().Outputs["x"]
			if s.Sent != tt.sent || s.Failed != tt.failed || s.Dropped[tt.reason] != tt.dropped {
				t.Errorf("sent %d failed %d dropped[%v] %d, want %d %d %d",
					s.Sent, s.Failed, tt.reason, s.Dropped[tt.reason], tt.sent, tt.failed, tt.dropped)
			}
		})
	}
}

func TestCloseFlushes(t *testing.T) {
	r := newRecorder()
	r.gate = make(chan struct{})
	d := mustNew(t, noLimit(), Destination{Name: "x", Sink: r, Delivery: Delivery{QueueSize: 200, Workers: 2}})
	for range 100 {
		d.Enqueue(&Alert{Rule: "r"})
	}
	time.AfterFunc(20*time.Millisecond, func() { close(r.gate) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(r.alerts()); n != 100 {
		t.Errorf("flushed %d alerts, want 100", n)
	}
}

// TestFloodIsolation: tenant-b floods with one rule; tenant-a's alerts,
// interleaved, are neither suppressed nor queued behind more than
// tenant-b's ceiling burst of alerts.
func TestFloodIsolation(t *testing.T) {
	cfg := Config{
		RateLimit: RateLimit{Enabled: true, Rate: 5, Burst: 10, TenantRate: 20, TenantBurst: 40},
		// long interval: the test calls Summarize itself
		SummaryInterval: time.Hour,
	}
	r := newRecorder()
	d := mustNew(t, cfg, Destination{Name: "x", Sink: r, Delivery: Delivery{QueueSize: 100000}})
	base := time.Unix(1_700_000_000, 0)
	const floods, steps = 5000, 10
	sentA := 0
	deliveredBefore := map[*Alert]int{} // tenant-a alert: alerts delivered when it came
	for step := range steps {
		now := base.Add(time.Duration(step) * 100 * time.Millisecond)
		for i := range floods / steps {
			d.Enqueue(&Alert{Rule: fmt.Sprintf("flood-%d", i%20), Tenant: "tenant-b", Priority: PriorityWarning, Time: now})
			if i == 250 { // tenant-a: one alert per step, within its limits
				a := &Alert{Rule: "a-rule", Tenant: "tenant-a", Priority: PriorityCritical, Time: now.Add(time.Duration(i))}
				deliveredBefore[a] = len(r.alerts())
				d.Enqueue(a)
				sentA++
			}
		}
	}
	if n := d.Summarize(); n != 20 {
		t.Errorf("Summarize sent %d summaries, want 20 (one per flooding rule)", n)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := r.alerts()
	var a, b, summaries int
	var suppressed uint64
	for i, al := range got {
		switch {
		case al.Rule == SummaryRule:
			summaries++
			if al.Tenant != "tenant-b" || al.OutputFields["vigil.tenant"] != "tenant-b" {
				t.Errorf("summary for the wrong tenant: %+v", al)
			}
			suppressed += al.OutputFields["vigil.suppressed"].(uint64)
		case al.Tenant == "tenant-a":
			a++
			// tenant-b alerts delivered between its Enqueue and its delivery
			if behind := i - deliveredBefore[al]; behind > cfg.RateLimit.TenantBurst {
				t.Errorf("tenant-a alert delivered behind %d tenant-b alerts, more than its burst %d", behind, cfg.RateLimit.TenantBurst)
			}
		default:
			b++
		}
	}
	if a != sentA {
		t.Errorf("tenant-a: %d of %d alerts delivered", a, sentA)
	}
	// 40 burst + 20/s over 0.9 s = 58 at most for tenant-b
	if b > 58 || b < 40 {
		t.Errorf("tenant-b delivered %d alerts, want 40..58", b)
	}
	s := d.Stats().Tenants
	if s["tenant-a"].Suppressed != 0 || s["tenant-a"].Alerts != uint64(sentA) {
		t.Errorf("tenant-a stats %+v", s["tenant-a"])
	}
	if s["tenant-b"].Alerts != floods || s["tenant-b"].Suppressed != uint64(floods-b) || suppressed != uint64(floods-b) {
		t.Errorf("tenant-b stats %+v, summaries report %d suppressed, delivered %d", s["tenant-b"], suppressed, b)
	}
	if summaries != 20 {
		t.Errorf("%d summaries delivered, want 20", summaries)
	}
}

func TestSummaryAlert(t *testing.T) {
	cfg := Config{RateLimit: RateLimit{Enabled: true, Rate: 1, Burst: 1}, SummaryInterval: 10 * time.Second}
	r := newRecorder()
	now := time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC)
	d, err := New(cfg, []Destination{{Name: "x", Sink: r}}, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []Priority{PriorityNotice, PriorityNotice, PriorityCritical, PriorityWarning} {
		d.Enqueue(&Alert{Rule: "Shell", Priority: p, Hostname: "n1", Time: now})
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := r.alerts()
	if len(got) != 2 {
		t.Fatalf("got %d alerts, want the first and a summary", len(got))
	}
	s := got[1]
	want := `3 alerts of rule "Shell" for tenant _host were suppressed by the rate limit in the last 10s`
	if s.Rule != SummaryRule || s.Output != want || s.Priority != PriorityCritical || s.Tenant != "" ||
		s.Hostname != "n1" || !s.Time.Equal(now) || s.OutputFields["vigil.suppressed"] != uint64(3) {
		t.Errorf("summary = %+v", s)
	}
}

// TestSummaryTimer: the summary comes by itself after SummaryInterval.
func TestSummaryTimer(t *testing.T) {
	cfg := Config{RateLimit: RateLimit{Enabled: true, Rate: 1, Burst: 1}, SummaryInterval: 20 * time.Millisecond}
	r := newRecorder()
	d := mustNew(t, cfg, Destination{Name: "x", Sink: r})
	now := time.Now()
	for range 5 {
		d.Enqueue(&Alert{Rule: "noisy", Tenant: "tenant-b", Priority: PriorityWarning, Time: now})
	}
	r.wait(t, 2) // the first alert, then the summary of the other four
	s := r.alerts()[1]
	if s.Rule != SummaryRule || s.Tenant != "tenant-b" || s.OutputFields["vigil.suppressed"] != uint64(4) || s.OutputFields["vigil.rule"] != "noisy" {
		t.Errorf("summary = %+v", s)
	}
	if n := d.Summarize(); n != 0 {
		t.Errorf("counts not reset: %d more summaries", n)
	}
}

// TestRetryBackoff: the wait before each retry starts at Backoff, doubles,
// and stays at MaxBackoff once there.
func TestRetryBackoff(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name        string
		backoff     time.Duration
		maxBackoff  time.Duration
		maxAttempts int
		want        []time.Duration
	}{
		{"doubling", 1 * ms, time.Second, 5, []time.Duration{1 * ms, 2 * ms, 4 * ms, 8 * ms}},
		{"capped", 10 * ms, 35 * ms, 6, []time.Duration{10 * ms, 20 * ms, 35 * ms, 35 * ms, 35 * ms}},
		{"cap below backoff", 10 * ms, 5 * ms, 3, []time.Duration{5 * ms, 5 * ms}},
		{"defaults", 0, 0, 7, []time.Duration{200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 5000 * ms}},
		{"no retry", 10 * ms, 0, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder()
			r.failN, r.failWith = 1<<30, errors.New("503")
			d := mustNew(t, noLimit(), Destination{Name: "x", Sink: r,
				Delivery: Delivery{MaxAttempts: tt.maxAttempts, Backoff: tt.backoff, MaxBackoff: tt.maxBackoff}})
			var waits []time.Duration // only the worker appends, before it counts the drop
			d.sleep = func(_ context.Context, w time.Duration) bool {
				waits = append(waits, w)
				return true
			}
			d.Enqueue(&Alert{Rule: "r"})
			if err := d.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if st := d.Stats().Outputs["x"]; st.Dropped[DropRetriesExhausted] != 1 || st.Failed != uint64(tt.maxAttempts) {
				t.Fatalf("stats %+v", st)
			}
			if fmt.Sprint(waits) != fmt.Sprint(tt.want) {
				t.Errorf("waits %v, want %v", waits, tt.want)
			}
		})
	}
}

// TestRetrySleepHonoursShutdown: a retry wait is cut short when Close runs
// out of time, and the alert counted as dropped (shutdown).
func TestRetrySleepHonoursShutdown(t *testing.T) {
	r := newRecorder()
	r.failN, r.failWith = 1, errors.New("503")
	d := mustNew(t, noLimit(), Destination{Name: "x", Sink: r,
		Delivery: Delivery{MaxAttempts: 2, Backoff: time.Hour, MaxBackoff: time.Hour}})
	d.Enqueue(&Alert{Rule: "r"})
	r.waitAttempts(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := d.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v", err)
	}
	if st := d.Stats().Outputs["x"]; st.Dropped[DropShutdown] != 1 || st.Sent != 0 || r.attempts.Load() != 1 {
		t.Errorf("stats %+v after %d attempts", st, r.attempts.Load())
	}
}

// TestSummarizeDoesNotBlockEnqueue: while Summarize builds its alerts,
// Enqueue (the event path) still gets the limiter lock at once.
func TestSummarizeDoesNotBlockEnqueue(t *testing.T) {
	cfg := Config{RateLimit: RateLimit{Enabled: true, Rate: 1, Burst: 1}, SummaryInterval: time.Hour}
	r := newRecorder()
	d := mustNew(t, cfg, Destination{Name: "x", Sink: r})
	now := time.Now()
	for range 3 {
		d.Enqueue(&Alert{Rule: "noisy", Tenant: "tenant-b", Time: now})
	}
	building, release := make(chan struct{}), make(chan struct{})
	d.summaryHook = func() {
		close(building)
		<-release
	}
	summarized := make(chan int)
	go func() { summarized <- d.Summarize() }()
	<-building
	enqueued := make(chan struct{})
	go func() {
		d.Enqueue(&Alert{Rule: "other", Tenant: "tenant-a", Time: now})
		close(enqueued)
	}()
	select {
	case <-enqueued:
	case <-time.After(5 * time.Second):
		t.Error("Enqueue waited for Summarize to build its alerts")
	}
	close(release)
	if n := <-summarized; n != 1 {
		t.Errorf("Summarize = %d, want 1", n)
	}
	r.wait(t, 3) // noisy, other, the summary
	if s := d.Stats().Tenants; s["tenant-a"].Alerts != 1 || s["tenant-b"].Suppressed != 2 {
		t.Errorf("tenants %+v", s)
	}
}

// TestEnqueueAllocs: the event path allocates nothing per alert, whether
// the alert is queued, dropped for a full queue or beyond the tenant's
// share, or suppressed by the rate limit.
func TestEnqueueAllocs(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		queueSize int
	}{
		{"queued, no limit", benchConfig(false), 1 << 20},
		{"queued, rate limit, 3 routes", benchConfig(true), 1 << 20},
		{"dropped", benchConfig(true), 2},
		{"suppressed", Config{RateLimit: RateLimit{Enabled: true, Rate: 1e-9, Burst: 1}, SummaryInterval: time.Hour}, 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := parked{release: make(chan struct{})}
			var dests []Destination
			for i, r := range benchRoutes {
				dests = append(dests, Destination{Name: fmt.Sprint(i), Sink: sink, Route: r, Delivery: Delivery{QueueSize: tt.queueSize}})
			}
			d, err := New(tt.cfg, dests, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				close(sink.release)
				_ = d.Close(context.Background())
			}()
			a := benchAlert()
			if allocs := testing.AllocsPerRun(1000, func() { d.Enqueue(a) }); allocs != 0 {
				t.Errorf("%v allocations per Enqueue", allocs)
			}
		})
	}
}
