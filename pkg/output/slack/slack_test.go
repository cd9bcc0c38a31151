package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/alert"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func samples() map[string]*alert.Alert {
	t := time.Date(2026, 11, 24, 8, 30, 5, 7_000_123, time.UTC)
	return map[string]*alert.Alert{
		"container": {
			Time: t, Rule: "Terminal shell in container", Priority: alert.PriorityCritical, Source: "syscall",
			Output:   "A shell was spawned in a container (user=root process=bash parent=<NA> cmd=a && b)",
			Tags:     []string{"container", "shell"},
			Hostname: "node-1",
			OutputFields: map[string]any{
				"user.name": "root", "proc.name": "bash", "proc.pname": nil, "proc.pid": int64(4242), "proc.args": []string{"-c", "a && b"},
			},
			Tenant: "tenant-a", Namespace: "team-a", Pod: "web-0", ContainerID: "3ad7b26ded6d",
		},
		"host": {
			Time: t, Rule: "Read sensitive file untrusted", Priority: alert.PriorityWarning, Source: "syscall",
			Output: "Sensitive file opened (file=/etc/shadow)", Hostname: "node-1",
			OutputFields: map[string]any{"fd.name": "/etc/shadow"},
		},
	}
}

type receiver struct {
	mu     sync.Mutex
	bodies [][]byte
	script []int // statuses to answer in turn; the last one repeats
	calls  atomic.Int64
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	n := int(r.calls.Add(1)) - 1
	r.mu.Lock()
	r.bodies = append(r.bodies, body)
	r.mu.Unlock()
	status := http.StatusOK
	if len(r.script) > 0 {
		status = r.script[min(n, len(r.script)-1)]
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte("ok"))
}

func dispatch(t *testing.T, cfg Config, alerts ...*alert.Alert) alert.OutputStats {
	t.Helper()
	cfg.Enabled = true
	cfg.Backoff, cfg.MaxBackoff = time.Millisecond, 5*time.Millisecond
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	out, err := New(cfg, alert.Format{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.WithDefaults()
	d, err := alert.New(alert.Config{}, []alert.Destination{{Name: "slack", Sink: out, Route: cfg.Route, Delivery: cfg.Delivery}}, alert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		d.Enqueue(a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return d.Stats().Outputs["slack"]
}

func TestPayloadGolden(t *testing.T) {
	for name, a := range samples() {
		t.Run(name, func(t *testing.T) {
			rec := &receiver{}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			if st := dispatch(t, Config{WebhookURL: srv.URL, Channel: "#security"}, a); st.Sent != 1 {
				t.Fatalf("stats %+v", st)
			}
			var compact, pretty bytes.Buffer
			if err := json.Compact(&compact, rec.bodies[0]); err != nil || !bytes.Equal(compact.Bytes(), rec.bodies[0]) {
				t.Errorf("payload is not compact JSON (%v): %s", err, rec.bodies[0])
			}
			if err := json.Indent(&pretty, rec.bodies[0], "", "  "); err != nil {
				t.Fatalf("payload is not JSON: %v: %s", err, rec.bodies[0])
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", name+".json.golden")
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("payload:\n%s\nwant:\n%s", pretty.Bytes(), want)
			}
		})
	}
}

// TestColors: every priority has its own colour, from dark red to grey,
// in the attachment of its payload; an unknown priority gets Debug's.
func TestColors(t *testing.T) {
	o, err := New(Config{WebhookURL: "http://x"}, alert.Format{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		p    alert.Priority
		want string
	}{
		{alert.PriorityEmergency, "#8b0000"},
		{alert.PriorityAlert, "#d00000"},
		{alert.PriorityCritical, "#ff4500"},
		{alert.PriorityError, "#ff8c00"},
		{alert.PriorityWarning, "#ffd700"},
		{alert.PriorityNotice, "#2e8b57"},
		{alert.PriorityInformational, "#4682b4"},
		{alert.PriorityDebug, "#a9a9a9"},
		{alert.Priority(42), "#a9a9a9"},
	}
	seen := map[string]alert.Priority{}
	for _, tt := range tests {
		a := samples()["container"]
		a.Priority = tt.p
		b, err := o.Payload(a)
		if err != nil {
			t.Fatal(err)
		}
		var m message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if got := m.Attachments[0].Color; got != tt.want || Color(tt.p) != tt.want {
			t.Errorf("%v: colour %s (Color %s), want %s", tt.p, got, Color(tt.p), tt.want)
		}
		if prev, dup := seen[tt.want]; dup && tt.p <= alert.PriorityDebug {
			t.Errorf("%v and %v share the colour %s", prev, tt.p, tt.want)
		}
		seen[tt.want] = tt.p
	}
}

func TestPayloadShape(t *testing.T) {
	o, err := New(Config{WebhookURL: "http://x"}, alert.Format{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	b, err := o.Payload(samples()["container"])
	if err != nil {
		t.Fatal(err)
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	att := m.Attachments[0]
	if att.Color != Color(alert.PriorityCritical) || m.Username != "Vigil" {
		t.Errorf("color %s username %s", att.Color, m.Username)
	}
	titles := map[string]string{}
	for _, f := range att.Fields {
		titles[f.Title] = f.Value
	}
	want := map[string]string{"rule": "Terminal shell in container", "priority": "Critical", "tenant": "tenant-a",
		"namespace": "team-a", "pod": "web-0", "proc.pname": "&lt;NA&gt;", "proc.args": "-c,a &amp;&amp; b", "proc.pid": "4242"}
	for k, v := range want {
		if titles[k] != v {
			t.Errorf("field %s = %q, want %q", k, titles[k], v)
		}
	}
	if strings.Contains(m.Text, "<NA>") || !strings.Contains(m.Text, "&lt;NA&gt;") {
		t.Errorf("text not escaped: %s", m.Text)
	}
	off := false
	o, _ = New(Config{WebhookURL: "http://x", OutputFields: &off}, alert.Format{})
	b, _ = o.Payload(samples()["container"])
	if bytes.Contains(b, []byte(`"proc.pid"`)) {
		t.Error("output fields present with output_fields: false")
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		script   []int
		attempts int
		calls    int64
		sent     uint64
		reason   alert.DropReason
		dropped  uint64
	}{
		{"5xx retried", []int{500, 502, 200}, 4, 3, 1, alert.DropRetriesExhausted, 0},
		{"budget exhausted", []int{503}, 3, 3, 0, alert.DropRetriesExhausted, 1},
		{"404 rejected", []int{404}, 3, 1, 0, alert.DropRejected, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &receiver{script: tt.script}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			cfg := Config{WebhookURL: srv.URL}
			cfg.MaxAttempts = tt.attempts
			st := dispatch(t, cfg, samples()["host"])
			if rec.calls.Load() != tt.calls || st.Sent != tt.sent || st.Dropped[tt.reason] != tt.dropped {
				t.Errorf("calls %d sent %d dropped %d; want %d %d %d", rec.calls.Load(), st.Sent, st.Dropped[tt.reason], tt.calls, tt.sent, tt.dropped)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for cfg, want := range map[*Config]string{
		{}: "",
		{Enabled: true, WebhookURL: "https://hooks.slack.com/services/x"}: "",
		{Enabled: true}:                                      "webhook_url:",
		{Enabled: true, WebhookURL: "x"}:                     "webhook_url:",
		{Enabled: true, WebhookURL: "http://h", Timeout: -1}: "timeout:",
	} {
		err := cfg.Validate()
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("Validate(%+v) = %v, want %q", cfg, err, want)
		}
	}
}
