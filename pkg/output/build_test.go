package output

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	gonats "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// TestBuildStartsWhatItCan: the NATS server is down at start (JetStream,
// create_stream), the file path cannot be opened and the webhook's CA file
// is missing. Build returns at once with stdout and NATS, logs the two
// failures by name, and once the server starts every alert is stored.
func TestBuildStartsWhatItCan(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	notDir := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := decode(t, fmt.Sprintf(`
stdout: {enabled: true, format: json}
file: {enabled: true, path: %s/alerts.json}
nats:
  enabled: true
  url: nats://127.0.0.1:%d
  reconnect_wait: 20ms
  reconnect_max_wait: 100ms
  max_attempts: 200
  backoff: 20ms
  max_backoff: 100ms
  jetstream: {enabled: true, stream: ALERTS, create_stream: true, ack_timeout: 200ms}
webhook: {enabled: true, url: "https://127.0.0.1:1/", tls: {ca_file: %s/missing.pem}}
`, notDir, port, dir))
	core, logs := observer.New(zap.InfoLevel)
	var out bytes.Buffer
	dests, err := Build(context.Background(), cfg, Options{Stdout: &out, Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	if got := destNames(dests); got != "stdout,nats" {
		t.Fatalf("destinations %s, want stdout,nats", got)
	}
	failed := map[string]string{}
	for _, e := range logs.FilterMessage("output not started").All() {
		failed[e.ContextMap()["output"].(string)] = e.ContextMap()["error"].(string)
	}
	if !strings.HasPrefix(failed["file"], "path:") || !strings.HasPrefix(failed["webhook"], "tls.ca_file:") || len(failed) != 2 {
		t.Errorf("logged failures %v", failed)
	}

	d, err := alert.New(alert.Config{}, dests, alert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	for i := range n {
		d.Enqueue(&alert.Alert{Time: time.Unix(1_800_000_000, int64(i)), Rule: "r", Priority: alert.PriorityError,
			Output: fmt.Sprintf("alert %d", i), Tenant: "tenant-a"})
	}
	ns := testutil.NATSServer(t, &server.Options{Port: port, JetStream: true, StoreDir: t.TempDir()})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := d.Stats().Outputs
	if st["stdout"].Sent != n || st["nats"].Sent != n {
		t.Errorf("stats %+v", st)
	}
	nc, err := gonats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(ctx, "ALERTS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil || info.State.Msgs != n {
		t.Errorf("stream holds %+v, %v; want %d messages", info.State, err, n)
	}
}

// TestBuildErrors: a config mistake starts nothing and names the key; when
// every enabled output fails, Build says none could be started.
func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"invalid subject", "stdout: {enabled: true}\nnats: {enabled: true, subject: 'a.{team}'}", "nats.subject:"},
		{"every output fails", fmt.Sprintf("stdout: {enabled: false}\nfile: {enabled: true, path: %s/a.json}", notDir),
			"no output could be started: file: path:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dests, err := Build(context.Background(), decode(t, tt.doc), Options{})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || dests != nil {
				t.Errorf("Build = %d destinations, %v; want %q", len(dests), err, tt.want)
			}
		})
	}
}
