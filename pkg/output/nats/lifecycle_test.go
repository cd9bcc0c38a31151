package nats

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	gonats "github.com/nats-io/nats.go"

	"github.com/vigilsec/vigil/pkg/alert"
)

// TestServerStartsLater: with JetStream and create_stream, the output is
// built while no server listens; New returns at once, alerts wait and are
// retried, and once the server starts the stream is created and every
// alert stored, once.
func TestServerStartsLater(t *testing.T) {
	ts := newServer(t, nil)
	p := newPipeline(t, Config{
		URL: ts.url(), ReconnectWait: 20 * time.Millisecond, ReconnectMaxWait: 100 * time.Millisecond,
		JetStream: JetStream{Enabled: true, Stream: "LATE", CreateStream: true, AckTimeout: 200 * time.Millisecond},
		Delivery:  alert.Delivery{MaxAttempts: 100, Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond},
	})
	const n = 30
	for i := range n {
		p.d.Enqueue(mkAlert([]string{"tenant-a", "", "tenant-b"}[i%3], alert.PriorityWarning, i))
	}
	for deadline := time.Now().Add(10 * time.Second); p.stats().Failed == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no attempt failed while the server was down")
		}
	}
	if st := p.stats(); st.Sent != 0 {
		t.Fatalf("sent %d alerts with no server", st.Sent)
	}
	ts.start()
	p.close(t, 30*time.Second)
	if st := p.stats(); st.Sent != n {
		t.Errorf("sent %d of %d: %+v", st.Sent, n, st)
	}
	stored := storedSeqs(t, ts.url(), "LATE")
	for i := range n {
		if stored[i] != 1 {
			t.Errorf("alert %d stored %d times", i, stored[i])
		}
	}
}

// TestLostInReconnectBuffer: core NATS alerts accepted into the reconnect
// buffer while the server is down, and still there at Close, are counted
// as dropped (shutdown), not sent.
func TestLostInReconnectBuffer(t *testing.T) {
	ts := startServer(t, nil)
	p := newPipeline(t, Config{URL: ts.url(), ReconnectWait: time.Hour, ReconnectMaxWait: time.Hour})
	p.d.Enqueue(mkAlert("tenant-a", alert.PriorityError, 0))
	for deadline := time.Now().Add(10 * time.Second); p.stats().Sent != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first alert was not sent")
		}
	}
	ts.stop()
	waitStatus(t, p.out.nc, gonats.RECONNECTING)
	const buffered = 4
	for i := range buffered {
		p.d.Enqueue(mkAlert("tenant-b", alert.PriorityError, 1+i))
	}
	for deadline := time.Now().Add(10 * time.Second); p.stats().Sent != 1+buffered; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("buffered alerts not accepted: %+v", p.stats())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := p.d.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "output nats: nats disconnected at shutdown: 4 buffered alerts") {
		t.Errorf("Close = %v", err)
	}
	if st := p.stats(); st.Sent != 1 || st.Dropped[alert.DropShutdown] != buffered {
		t.Errorf("sent %d, dropped at shutdown %d; want 1, %d", st.Sent, st.Dropped[alert.DropShutdown], buffered)
	}
}

// TestOneConnection: many alerts go over one connection, which the server
// sees under the configured name.
func TestOneConnection(t *testing.T) {
	ts := startServer(t, nil)
	sub := subscribe(t, connect(t, ts.url()), "vigil.alerts.>")
	p := newPipeline(t, Config{URL: ts.url(), Name: "vigil-test", Delivery: alert.Delivery{Workers: 4}})
	const n = 300
	for i := range n {
		p.d.Enqueue(mkAlert([]string{"tenant-a", "tenant-b", ""}[i%3], alert.PriorityNotice, i))
	}
	sub.wait(t, n)
	v, err := ts.srv.Varz(nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.TotalConnections != 2 { // the subscriber and the output
		t.Errorf("the server saw %d connections for %d alerts, want 2", v.TotalConnections, n)
	}
	c, err := ts.srv.Connz(&server.ConnzOptions{})
	if err != nil {
		t.Fatal(err)
	}
	named := 0
	for _, ci := range c.Conns {
		if ci.Name == "vigil-test" {
			named++
			if ci.InMsgs != n {
				t.Errorf("the output's connection carried %d messages, want %d", ci.InMsgs, n)
			}
		}
	}
	if named != 1 {
		t.Errorf("%d connections named vigil-test, want 1", named)
	}
}

// TestBuildWithoutServer: New never waits for a server, with or without
// JetStream, and reports a config error at once.
func TestBuildWithoutServer(t *testing.T) {
	url := newServer(t, nil).url() // nothing listens there
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"core", Config{URL: url}, ""},
		{"jetstream", Config{URL: url, JetStream: JetStream{Enabled: true, Stream: "S"}}, ""},
		{"create stream", Config{URL: url, JetStream: JetStream{Enabled: true, Stream: "S", CreateStream: true}}, ""},
		{"bad template", Config{URL: url, Subject: "a.{team}"}, "subject:"},
		{"missing nkey file", Config{URL: url, NKeyFile: "/nonexistent/seed"}, "nkey_file:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := New(tt.cfg, alert.Format{}, nil)
			if tt.want != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
					t.Errorf("New = %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := o.Close(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Close = %v", err)
			}
		})
	}
}
