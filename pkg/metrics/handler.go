package metrics

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HandlerOptions tune Handler.
type HandlerOptions struct {
	// ErrorLog receives scrape errors (a stage reporting duplicate label
	// values, say); nil discards them. zap.NewStdLog(logger) fits.
	ErrorLog promhttp.Logger
	// ScrapeTimeout bounds one /metrics request; 10 s when zero.
	ScrapeTimeout time.Duration
}

// Handler returns the HTTP handler of the agent's endpoints:
//
//	GET /metrics  Prometheus text or protobuf exposition of the registry
//	GET /healthz  200 "ok" while the process serves HTTP (liveness)
//	GET /readyz   200 when every required component is ready, 503 otherwise;
//	              the JSON body lists each component's state
//
// A scrape that meets a bad sample still returns every good one.
func (m *Metrics) Handler(opts HandlerOptions) http.Handler {
	if opts.ScrapeTimeout == 0 {
		opts.ScrapeTimeout = 10 * time.Second
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:            opts.ErrorLog,
		ErrorHandling:       promhttp.ContinueOnError,
		Registry:            m.reg,
		MaxRequestsInFlight: 4,
		Timeout:             opts.ScrapeTimeout,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", m.serveReady)
	return mux
}

// readyBody is the JSON answer of /readyz.
type readyBody struct {
	Ready      bool            `json:"ready"`
	NotReady   []string        `json:"not_ready,omitempty"`
	Components map[string]bool `json:"components"`
}

func (m *Metrics) serveReady(w http.ResponseWriter, _ *http.Request) {
	ok, missing := m.ready.check()
	body := readyBody{Ready: ok, NotReady: missing, Components: m.ready.snapshot()}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(body)
}
