package output

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	gonats "github.com/nats-io/nats.go"
	"gopkg.in/yaml.v3"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// collector is an HTTP endpoint that keeps the bodies it receives and
// answers with status.
type collector struct {
	mu     sync.Mutex
	bodies []string
	status int
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.bodies = append(c.bodies, string(b))
	c.mu.Unlock()
	w.WriteHeader(c.status)
}

func (c *collector) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.bodies...)
}

func serve(t *testing.T, status int) (*collector, string) {
	c := &collector{status: status}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return c, srv.URL
}

func decode(t *testing.T, doc string) Config {
	t.Helper()
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestBuildAndDeliver decodes a YAML config with every output, builds it,
// and delivers through a real Dispatcher: each destination gets what its
// route says, a tenant's own Slack gets only that tenant's alerts, and a
// failing webhook does not hold back any other output.
func TestBuildAndDeliver(t *testing.T) {
	ns := testutil.NATSServer(t, &server.Options{})
	sub, err := gonats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	natsMsgs, _ := sub.SubscribeSync("vigil.alerts.>")
	sub.Flush()

	slackAll, slackAllURL := serve(t, 200)
	slackA, slackAURL := serve(t, 200)
	hook, hookURL := serve(t, 200)
	broken, brokenURL := serve(t, 500)
	dir := t.TempDir()
	doc := fmt.Sprintf(`
time_format: utc
stdout: {enabled: true, format: json, min_priority: notice}
file: {enabled: true, path: %s/alerts.json, fsync: always}
nats: {enabled: true, url: %q}
webhook: {enabled: true, url: %q, headers: {X-Vigil: "1"}, max_attempts: 2, backoff: 1ms}
slack: {enabled: true, webhook_url: %q, min_priority: critical}
tenants:
  tenant-a:
    slack: {enabled: true, webhook_url: %q, tenants: [tenant-b]}
  tenant-b:
    webhook: {enabled: true, url: %q, max_attempts: 3, backoff: 1ms}
`, dir, ns.ClientURL(), hookURL, slackAllURL, slackAURL, brokenURL)
	cfg := decode(t, doc)
	var out bytes.Buffer
	dests, err := Build(context.Background(), cfg, Options{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if got := destNames(dests); got != "stdout,file,nats,webhook,slack,slack/tenant-a,webhook/tenant-b" {
		t.Fatalf("destinations %s", got)
	}
	d, err := alert.New(alert.Config{}, dests, alert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(tenant string, p alert.Priority, i int) *alert.Alert {
		return &alert.Alert{Time: time.Unix(1_800_000_000, int64(i)), Rule: "r", Priority: p, Source: "syscall",
			Output: fmt.Sprintf("alert %d", i), Hostname: "n1", Tenant: tenant}
	}
	in := []*alert.Alert{
		mk("tenant-a", alert.PriorityCritical, 0),
		mk("tenant-a", alert.PriorityInformational, 1),
		mk("tenant-b", alert.PriorityCritical, 2),
		mk("", alert.PriorityWarning, 3),
	}
	for _, a := range in {
		d.Enqueue(a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := d.Stats().Outputs
	want := map[string]uint64{"stdout": 3, "file": 4, "nats": 4, "webhook": 4, "slack": 2, "slack/tenant-a": 2, "webhook/tenant-b": 0}
	for name, n := range want {
		if st[name].Sent != n {
			t.Errorf("%s sent %d, want %d (%+v)", name, st[name].Sent, n, st[name])
		}
	}
	if st["webhook/tenant-b"].Dropped[alert.DropRetriesExhausted] != 1 || len(broken.got()) != 3 {
		t.Errorf("broken webhook: %+v after %d calls", st["webhook/tenant-b"], len(broken.got()))
	}
	for _, body := range slackA.got() {
		if !strings.Contains(body, `"value":"tenant-a"`) {
			t.Errorf("tenant-a's Slack got another tenant's alert: %s", body)
		}
	}
	if n := len(slackAll.got()); n != 2 {
		t.Errorf("global Slack got %d, want 2", n)
	}
	for _, body := range hook.got() {
		if !json.Valid([]byte(body)) {
			t.Errorf("webhook body %s", body)
		}
	}
	if lines := strings.Count(out.String(), "\n"); lines != 3 || !strings.Contains(out.String(), `"output":"08:00:00.000000000: Critical alert 0"`) {
		t.Errorf("stdout:\n%s", out.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, "alerts.json"))
	if err != nil || strings.Count(string(data), "\n") != 4 {
		t.Errorf("file: %v\n%s", err, data)
	}
	for range 4 {
		if _, err := natsMsgs.NextMsg(5 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
}

func TestValidateNamesKeys(t *testing.T) {
	tests := []struct {
		doc  string
		want string
	}{
		{"stdout: {format: xml}", "stdout.format:"},
		{"file: {enabled: true, path: ''}", "file.path:"},
		{"nats: {enabled: true, subject: 'a.{team}'}", "nats.subject:"},
		{"nats: {enabled: true, jetstream: {enabled: true}}", "nats.jetstream.stream:"},
		{"webhook: {enabled: true, url: 'nope'}", "webhook.url:"},
		{"slack: {enabled: true, webhook_url: 'http://x', min_priority: loud}", "slack.min_priority:"},
		{"tenants: {t1: {slack: {enabled: true}}}", "tenants.t1.slack.webhook_url:"},
		{"tenants: {t1: {webhook: {enabled: true, url: 'http://x', queue_size: -1}}}", "tenants.t1.webhook.queue_size:"},
		{"time_format: martian", "time_format:"},
	}
	for _, tt := range tests {
		err := decode(t, tt.doc).Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want prefix %q", tt.doc, err, tt.want)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// destNames lists the destinations' names, comma separated, in order.
func destNames(dests []alert.Destination) string {
	names := make([]string, len(dests))
	for i, d := range dests {
		names[i] = d.Name
	}
	return strings.Join(names, ",")
}
