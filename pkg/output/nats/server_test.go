package nats

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	gonats "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// testServer is an embedded nats-server with JetStream, restartable on the
// same port and store directory.
type testServer struct {
	t     *testing.T
	port  int
	store string
	tweak func(*server.Options)
	srv   *server.Server
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startServer(t *testing.T, tweak func(*server.Options)) *testServer {
	t.Helper()
	ts := newServer(t, tweak)
	ts.start()
	return ts
}

// newServer returns a server on a free port, not started yet.
func newServer(t *testing.T, tweak func(*server.Options)) *testServer {
	t.Helper()
	ts := &testServer{t: t, port: freePort(t), store: t.TempDir(), tweak: tweak}
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) start() {
	ts.t.Helper()
	opts := &server.Options{Port: ts.port, JetStream: true, StoreDir: ts.store, MaxPayload: 1 << 20}
	if ts.tweak != nil {
		ts.tweak(opts)
	}
	ts.srv = testutil.NATSServer(ts.t, opts)
}

func (ts *testServer) stop() {
	if ts.srv != nil {
		ts.srv.Shutdown()
		ts.srv.WaitForShutdown()
		ts.srv = nil
	}
}

func (ts *testServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", ts.port) }

func connect(t *testing.T, url string, opts ...gonats.Option) *gonats.Conn {
	t.Helper()
	nc, err := gonats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// pipeline is the NATS output behind a real Dispatcher.
type pipeline struct {
	out *Output
	d   *alert.Dispatcher
}

func newPipeline(t *testing.T, cfg Config) *pipeline {
	t.Helper()
	cfg.Enabled = true
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg = cfg.WithDefaults()
	out, err := New(cfg, alert.Format{Location: time.UTC}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := alert.New(alert.Config{}, []alert.Destination{{Name: "nats", Sink: out, Route: cfg.Route, Delivery: cfg.Delivery}}, alert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline{out: out, d: d}
	t.Cleanup(func() { p.close(t, 5*time.Second) })
	return p
}

func (p *pipeline) close(t *testing.T, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := p.d.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}

func (p *pipeline) stats() alert.OutputStats { return p.d.Stats().Outputs["nats"] }

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func mkAlert(tenant string, p alert.Priority, seq int) *alert.Alert {
	return &alert.Alert{
		Time: t0.Add(time.Duration(seq)), Rule: "Shell in container", Priority: p, Source: "syscall",
		Output: fmt.Sprintf("shell seq=%d", seq), Hostname: "node-1",
		OutputFields: map[string]any{"seq": int64(seq)}, Tenant: tenant,
	}
}

type received struct {
	mu   sync.Mutex
	msgs []*gonats.Msg
	ch   chan struct{}
}

func subscribe(t *testing.T, nc *gonats.Conn, subject string) *received {
	t.Helper()
	r := &received{ch: make(chan struct{}, 1<<16)}
	if _, err := nc.Subscribe(subject, func(m *gonats.Msg) {
		r.mu.Lock()
		r.msgs = append(r.msgs, m)
		r.mu.Unlock()
		r.ch <- struct{}{}
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *received) wait(t *testing.T, n int) []*gonats.Msg {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for range n {
		select {
		case <-r.ch:
		case <-deadline:
			t.Fatalf("received %d of %d messages", len(r.snapshot()), n)
		}
	}
	return r.snapshot()
}

func (r *received) snapshot() []*gonats.Msg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*gonats.Msg(nil), r.msgs...)
}

func seqOf(t *testing.T, data []byte) int {
	t.Helper()
	var v struct {
		Fields struct {
			Seq int `json:"seq"`
		} `json:"output_fields"`
		Tenant string `json:"tenant"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("bad payload %q: %v", data, err)
	}
	return v.Fields.Seq
}

func TestSubjectsPerTenantAndPriority(t *testing.T) {
	ts := startServer(t, nil)
	sub := subscribe(t, connect(t, ts.url()), ">")
	p := newPipeline(t, Config{URL: ts.url(), TenantSubjects: map[string]string{"tenant-c": "team-c.sec.{priority}"}})
	in := []*alert.Alert{
		mkAlert("tenant-a", alert.PriorityCritical, 1),
		mkAlert("tenant-b", alert.PriorityWarning, 2),
		mkAlert("", alert.PriorityNotice, 3),
		mkAlert("tenant-a", alert.PriorityInformational, 4),
		mkAlert("tenant-c", alert.PriorityError, 5),
	}
	want := map[int]string{
		1: "vigil.alerts.tenant-a.critical",
		2: "vigil.alerts.tenant-b.warning",
		3: "vigil.alerts._host.notice",
		4: "vigil.alerts.tenant-a.informational",
		5: "team-c.sec.error",
	}
	for _, a := range in {
		p.d.Enqueue(a)
	}
	for _, m := range sub.wait(t, len(in)) {
		seq := seqOf(t, m.Data)
		if m.Subject != want[seq] {
			t.Errorf("alert %d on %s, want %s", seq, m.Subject, want[seq])
		}
		if string(m.Data) != string(alert.Format{Location: time.UTC}.JSON(in[seq-1])) {
			t.Errorf("payload of %d is not the Falco JSON: %s", seq, m.Data)
		}
	}
	if st := p.stats(); st.Sent != uint64(len(in)) {
		t.Errorf("stats %+v", st)
	}
}

// TestTenantPermissions: with NATS permissions restricting the user
// "tenant-a" to vigil.alerts.tenant-a.>, tenant-a sees its own alerts only,
// and cannot subscribe to another tenant's subjects.
func TestTenantPermissions(t *testing.T) {
	ts := startServer(t, func(o *server.Options) {
		o.Users = []*server.User{
			{Username: "vigil", Password: "agent", Permissions: &server.Permissions{
				Publish: &server.SubjectPermission{Allow: []string{"vigil.alerts.>"}}}},
			{Username: "tenant-a", Password: "a", Permissions: &server.Permissions{
				Publish:   &server.SubjectPermission{Deny: []string{">"}},
				Subscribe: &server.SubjectPermission{Allow: []string{"vigil.alerts.tenant-a.>"}}}},
		}
	})
	url := ts.url()
	own := subscribe(t, connect(t, url, gonats.UserInfo("tenant-a", "a")), "vigil.alerts.tenant-a.>")
	permErrs := make(chan error, 4)
	spy := connect(t, url, gonats.UserInfo("tenant-a", "a"), gonats.ErrorHandler(func(_ *gonats.Conn, _ *gonats.Subscription, err error) {
		permErrs <- err
	}))
	stolen := subscribe(t, spy, "vigil.alerts.tenant-b.>")
	wide := subscribe(t, spy, "vigil.alerts.>")

	p := newPipeline(t, Config{URL: url, User: "vigil", Password: "agent"})
	n := 0
	for i := range 30 {
		tenant := []string{"tenant-a", "tenant-b", ""}[i%3]
		p.d.Enqueue(mkAlert(tenant, alert.PriorityWarning, i))
		if tenant == "tenant-a" {
			n++
		}
	}
	p.close(t, 5*time.Second)
	got := own.wait(t, n)
	for _, m := range got {
		if !strings.HasPrefix(m.Subject, "vigil.alerts.tenant-a.") || seqOf(t, m.Data)%3 != 0 {
			t.Errorf("tenant-a got %s seq %d", m.Subject, seqOf(t, m.Data))
		}
	}
	select {
	case err := <-permErrs:
		if !isPermissionError(err) {
			t.Errorf("expected a permissions violation, got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("subscribing to another tenant's subject raised no permissions error")
	}
	time.Sleep(100 * time.Millisecond) // anything wrongly delivered would have arrived
	if len(stolen.snapshot())+len(wide.snapshot()) != 0 {
		t.Errorf("tenant-a received other subjects: %d + %d messages", len(stolen.snapshot()), len(wide.snapshot()))
	}
	if len(own.snapshot()) != n {
		t.Errorf("tenant-a received %d alerts, want %d", len(own.snapshot()), n)
	}
}

func isPermissionError(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "permissions violation")
}

// storedSeqs reads every message of the stream (over a new connection)
// and returns how often each seq was stored.
func storedSeqs(t *testing.T, url, stream string) map[int]int {
	t.Helper()
	js, err := jetstream.New(connect(t, url))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]int{}
	for i := info.State.FirstSeq; i <= info.State.LastSeq && info.State.Msgs > 0; i++ {
		m, err := s.GetMsg(ctx, i)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		seen[seqOf(t, m.Data)]++
	}
	return seen
}

func waitStatus(t *testing.T, nc *gonats.Conn, want gonats.Status) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); nc.Status() != want; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("connection status %v, want %v", nc.Status(), want)
		}
	}
}

// TestCoreReconnectBuffer stops the server while alerts keep coming: the
// alerts published during the outage wait in the reconnect buffer and all
// arrive after the restart on the same port; what does not fit in the
// buffer is counted as dropped, never lost silently. The subscriber
// reconnects faster than the output, so it is listening again when the
// output flushes its buffer.
func TestCoreReconnectBuffer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		buffer int
		outage int // alerts published during the outage
	}{
		{"within the buffer", 1 << 20, 200},
		{"beyond the buffer", 8 << 10, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, nil)
			subConn := connect(t, ts.url(), gonats.ReconnectWait(5*time.Millisecond), gonats.MaxReconnects(-1))
			sub := subscribe(t, subConn, "vigil.alerts.>")
			p := newPipeline(t, Config{URL: ts.url(), ReconnectBuffer: tc.buffer, ReconnectWait: 1500 * time.Millisecond, ReconnectMaxWait: 1500 * time.Millisecond})
			const before = 50
			seq := 0
			for range before {
				p.d.Enqueue(mkAlert("tenant-a", alert.PriorityWarning, seq))
				seq++
			}
			sub.wait(t, before)
			ts.stop()
			waitStatus(t, p.out.nc, gonats.RECONNECTING)
			for range tc.outage {
				p.d.Enqueue(mkAlert("tenant-b", alert.PriorityCritical, seq))
				seq++
			}
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
				st := p.stats()
				if st.Sent+st.Dropped[alert.DropRetriesExhausted] == uint64(seq) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("during the outage: %+v", st)
				}
			}
			ts.start()
			waitStatus(t, subConn, gonats.CONNECTED)
			if err := subConn.Flush(); err != nil {
				t.Fatal(err)
			}
			if p.out.nc.Status() != gonats.RECONNECTING {
				t.Fatal("the output reconnected before the subscriber: the test cannot count what arrives")
			}
			waitStatus(t, p.out.nc, gonats.CONNECTED)
			p.close(t, 5*time.Second)
			st := p.stats()
			dropped := st.Dropped[alert.DropRetriesExhausted]
			if st.Sent+dropped != uint64(seq) {
				t.Errorf("sent %d + dropped %d != %d alerts", st.Sent, dropped, seq)
			}
			got := sub.wait(t, int(st.Sent)-before)
			time.Sleep(50 * time.Millisecond) // nothing more may come
			if n := len(sub.snapshot()); n != int(st.Sent) {
				t.Errorf("received %d alerts, the output sent %d", n, st.Sent)
			}
			seen := map[int]bool{}
			for _, m := range got {
				seen[seqOf(t, m.Data)] = true
			}
			if len(seen) != int(st.Sent) {
				t.Errorf("%d distinct alerts received, %d sent", len(seen), st.Sent)
			}
			if tc.buffer >= 1<<20 && dropped != 0 {
				t.Errorf("%d alerts dropped within the buffer bound", dropped)
			}
			if tc.buffer < 1<<20 && dropped == 0 {
				t.Errorf("no alert dropped beyond the buffer bound")
			}
			t.Logf("outage of %d alerts with a %d-byte buffer: %d received, %d dropped and counted", tc.outage, tc.buffer, len(seen), dropped)
		})
	}
}

// TestJetStreamAcrossRestart publishes a continuous stream with JetStream
// acks while the server is stopped and restarted mid-stream: every alert is
// stored, once.
func TestJetStreamAcrossRestart(t *testing.T) {
	ts := startServer(t, nil)
	p := newPipeline(t, Config{
		URL: ts.url(), ReconnectWait: 20 * time.Millisecond, ReconnectMaxWait: 100 * time.Millisecond,
		JetStream: JetStream{Enabled: true, Stream: "ALERTS", CreateStream: true, AckTimeout: 200 * time.Millisecond},
		Delivery:  alert.Delivery{MaxAttempts: 50, Backoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, QueueSize: 10000},
	})
	const n = 600
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			p.d.Enqueue(mkAlert([]string{"tenant-a", "tenant-b"}[i%2], alert.PriorityWarning, i))
			time.Sleep(time.Millisecond)
		}
	}()
	time.Sleep(150 * time.Millisecond)
	ts.stop()
	time.Sleep(time.Second) // longer than the ack timeout: publishes fail and are retried
	ts.start()
	<-done
	p.close(t, 60*time.Second)
	st := p.stats()
	if st.Sent != n {
		t.Errorf("sent %d of %d: %+v", st.Sent, n, st)
	}
	stored := storedSeqs(t, ts.url(), "ALERTS")
	dups := 0
	for i := range n {
		switch c := stored[i]; {
		case c == 0:
			t.Errorf("alert %d not stored", i)
		case c > 1:
			dups += c - 1
		}
	}
	if dups > 0 {
		t.Errorf("%d duplicates stored", dups)
	}
	if rc := p.out.nc.Stats().Reconnects; rc == 0 || st.Failed == 0 {
		t.Errorf("the outage went unnoticed: %d reconnects, %d failed attempts", rc, st.Failed)
	}
	t.Logf("%d alerts stored once each across a restart; %d failed attempts retried", len(stored), st.Failed)
}

func TestTokenAndNKeyAuth(t *testing.T) {
	t.Run("token", func(t *testing.T) {
		ts := startServer(t, func(o *server.Options) { o.Authorization = "s3cret" })
		sub := subscribe(t, connect(t, ts.url(), gonats.Token("s3cret")), ">")
		p := newPipeline(t, Config{URL: ts.url(), Token: "s3cret"})
		p.d.Enqueue(mkAlert("tenant-a", alert.PriorityError, 1))
		sub.wait(t, 1)
	})
	t.Run("nkey", func(t *testing.T) {
		seedFile, pub := writeNKey(t)
		ts := startServer(t, func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: pub}} })
		opt, err := gonats.NkeyOptionFromSeed(seedFile)
		if err != nil {
			t.Fatal(err)
		}
		sub := subscribe(t, connect(t, ts.url(), opt), ">")
		p := newPipeline(t, Config{URL: ts.url(), NKeyFile: seedFile})
		p.d.Enqueue(mkAlert("tenant-a", alert.PriorityError, 1))
		sub.wait(t, 1)
	})
}

// TestCloseWhileDisconnected: alerts buffered while the server is down are
// reported, not lost silently, when the output closes before reconnecting.
func TestCloseWhileDisconnected(t *testing.T) {
	ts := startServer(t, nil)
	o, err := New(Config{URL: ts.url(), ReconnectWait: time.Hour, ReconnectMaxWait: time.Hour}, alert.Format{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts.stop()
	waitStatus(t, o.nc, gonats.RECONNECTING)
	for i := range 3 {
		if err := o.Send(context.Background(), mkAlert("tenant-a", alert.PriorityError, i)); err != nil {
			t.Fatalf("buffered publish failed: %v", err)
		}
	}
	if err := o.Close(context.Background()); err == nil || alert.LostCount(err) != 3 || !strings.Contains(err.Error(), "3 buffered alerts") {
		t.Errorf("Close = %v (%d lost), want a report of 3 lost alerts", err, alert.LostCount(err))
	}
}

// TestTenantFlood: tenant-b floods one rule while tenant-a raises a few
// alerts; with rate limiting on, tenant-a's subscriber gets every one of
// its alerts and tenant-b's flood is cut to its buckets and summarised.
func TestTenantFlood(t *testing.T) {
	ts := startServer(t, nil)
	nc := connect(t, ts.url())
	subA := subscribe(t, nc, "vigil.alerts.tenant-a.>")
	subB := subscribe(t, nc, "vigil.alerts.tenant-b.>")
	cfg := Config{URL: ts.url(), Enabled: true}.WithDefaults()
	out, err := New(cfg, alert.Format{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	limits := alert.Config{
		RateLimit:       alert.RateLimit{Enabled: true, Rate: 10, Burst: 20, TenantRate: 50, TenantBurst: 100},
		SummaryInterval: time.Hour,
	}
	d, err := alert.New(limits, []alert.Destination{{Name: "nats", Sink: out, Delivery: cfg.Delivery}}, alert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const flood, own = 50000, 20
	for i := range flood {
		now := t0.Add(time.Duration(i) * time.Microsecond) // 50 ms of flood
		d.Enqueue(&alert.Alert{Time: now, Rule: fmt.Sprintf("flood-%d", i%10), Priority: alert.PriorityWarning, Tenant: "tenant-b", Output: "flood"})
		if i%(flood/own) == 0 {
			d.Enqueue(mkAlert("tenant-a", alert.PriorityCritical, i))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	subA.wait(t, own)
	st := d.Stats()
	if a := st.Tenants["tenant-a"]; a.Alerts != own || a.Suppressed != 0 {
		t.Errorf("tenant-a %+v", a)
	}
	b := st.Tenants["tenant-b"]
	passed := int(b.Alerts - b.Suppressed)
	if passed > 103 { // tenant burst 100 + 50/s over 50 ms
		t.Errorf("tenant-b passed %d alerts", passed)
	}
	got := subB.wait(t, passed+10) // plus one summary per flooding rule
	summaries := 0
	for _, m := range got {
		if strings.Contains(string(m.Data), alert.SummaryRule) {
			summaries++
		}
	}
	if summaries != 10 || st.Outputs["nats"].Dropped[alert.DropQueueFull] != 0 {
		t.Errorf("%d summaries, %+v", summaries, st.Outputs["nats"])
	}
	t.Logf("tenant-b: %d of %d alerts passed, %d suppressed; tenant-a: all %d delivered", passed, flood, b.Suppressed, own)
}
