package webhook

import (
	"bytes"
	"context"
	"encoding/pem"
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
	"github.com/vigilsec/vigil/pkg/output/tlsconf"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func sample() *alert.Alert {
	return &alert.Alert{
		Time:     time.Date(2026, 11, 24, 8, 30, 5, 7_000_123, time.UTC),
		Rule:     "Terminal shell in container",
		Priority: alert.PriorityNotice,
		Source:   "syscall",
		Output:   "A shell was spawned in a container with an attached terminal (user=root process=bash parent=<NA>)",
		Tags:     []string{"container", "shell", "mitre_execution"},
		Hostname: "node-1",
		OutputFields: map[string]any{
			"user.name": "root", "proc.name": "bash", "proc.pname": nil, "proc.pid": int64(4242),
		},
		Tenant: "tenant-a", Namespace: "team-a", Pod: "web-0", ContainerID: "3ad7b26ded6d",
	}
}

// receiver is an httptest handler that records requests and answers with
// the next status of its script (200 once the script is used up).
type receiver struct {
	mu      sync.Mutex
	bodies  [][]byte
	headers []http.Header
	script  []int
	calls   atomic.Int64
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	n := int(r.calls.Add(1)) - 1
	r.mu.Lock()
	r.bodies = append(r.bodies, body)
	r.headers = append(r.headers, req.Header.Clone())
	status := http.StatusOK
	if n < len(r.script) {
		status = r.script[n]
	} else if len(r.script) > 0 && r.script[len(r.script)-1] < 0 { // negative: repeat forever
		status = -r.script[len(r.script)-1]
	}
	r.mu.Unlock()
	if status < 0 {
		status = -status
	}
	w.WriteHeader(status)
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
	d, err := alert.New(alert.Config{}, []alert.Destination{{Name: "webhook", Sink: out, Route: cfg.Route, Delivery: cfg.Delivery}}, alert.Options{})
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
	return d.Stats().Outputs["webhook"]
}

func TestPayloadGolden(t *testing.T) {
	rec := &receiver{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	st := dispatch(t, Config{URL: srv.URL, Headers: map[string]string{"Authorization": "Bearer s3cret", "X-Tenant": "a"}}, sample())
	if st.Sent != 1 {
		t.Fatalf("stats %+v", st)
	}
	got := append(rec.bodies[0], '\n')
	path := filepath.Join("testdata", "alert.json.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("payload:\n got %s\nwant %s", got, want)
	}
	h := rec.headers[0]
	if h.Get("Content-Type") != "application/json" || h.Get("Authorization") != "Bearer s3cret" || h.Get("X-Tenant") != "a" {
		t.Errorf("headers %v", h)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name        string
		script      []int
		maxAttempts int
		calls       int64
		sent        uint64
		reason      alert.DropReason
		dropped     uint64
	}{
		{"retry 5xx then deliver", []int{503, 500}, 4, 3, 1, alert.DropRetriesExhausted, 0},
		{"429 is retried", []int{429}, 4, 2, 1, alert.DropRetriesExhausted, 0},
		{"give up after the budget", []int{-502}, 3, 3, 0, alert.DropRetriesExhausted, 1},
		{"4xx is not retried", []int{400}, 4, 1, 0, alert.DropRejected, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &receiver{script: tt.script}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			cfg := Config{URL: srv.URL}
			cfg.MaxAttempts = tt.maxAttempts
			st := dispatch(t, cfg, sample())
			if rec.calls.Load() != tt.calls || st.Sent != tt.sent || st.Dropped[tt.reason] != tt.dropped {
				t.Errorf("calls %d sent %d dropped[%v] %d; want %d %d %d",
					rec.calls.Load(), st.Sent, tt.reason, st.Dropped[tt.reason], tt.calls, tt.sent, tt.dropped)
			}
			if st.Failed != uint64(tt.calls)-tt.sent {
				t.Errorf("failed %d, want %d", st.Failed, uint64(tt.calls)-tt.sent)
			}
		})
	}
}

func TestTransportErrorRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more
	cfg := Config{URL: url}
	cfg.MaxAttempts = 2
	st := dispatch(t, cfg, sample())
	if st.Failed != 2 || st.Dropped[alert.DropRetriesExhausted] != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	cfg := Config{URL: srv.URL, Timeout: 50 * time.Millisecond}
	cfg.MaxAttempts = 1
	st := dispatch(t, cfg, sample())
	if st.Dropped[alert.DropRetriesExhausted] != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestTLSWithCAFile(t *testing.T) {
	rec := &receiver{}
	srv := httptest.NewTLSServer(rec)
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{URL: srv.URL}
	cfg.TLS.CAFile = ca
	if st := dispatch(t, cfg, sample()); st.Sent != 1 {
		t.Errorf("with CA: %+v", st)
	}
	// without the CA the certificate is unknown: a permanent-looking
	// transport error, retried and then given up
	cfg = Config{URL: srv.URL}
	cfg.MaxAttempts = 1
	if st := dispatch(t, cfg, sample()); st.Dropped[alert.DropRetriesExhausted] != 1 {
		t.Errorf("without CA: %+v", st)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{}, ""},
		{Config{Enabled: true, URL: "http://x"}, ""},
		{Config{Enabled: true, URL: "ftp://x"}, "url:"},
		{Config{Enabled: true}, "url:"},
		{Config{Enabled: true, URL: "http://x", Headers: map[string]string{"a b": "c"}}, "headers:"},
		{Config{Enabled: true, URL: "http://x", TLS: tlsconf.TLS{CertFile: "c"}}, "tls.cert_file"},
		{Config{Enabled: true, URL: "http://x", Route: alert.Route{MinPriority: "x"}}, "min_priority:"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}
