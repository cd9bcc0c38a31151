package webhook

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/output/tlsconf"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// TestTLSOptions posts to an HTTPS server that requires a client
// certificate from its CA and whose own certificate names only
// alerts.example.test (not 127.0.0.1, the address dialled): mutual TLS,
// server_name and insecure_skip_verify each decide whether the alert
// gets through.
func TestTLSOptions(t *testing.T) {
	ca := testutil.NewCA(t, "ca")
	other := testutil.NewCA(t, "other-ca")
	serverCert, _, _ := ca.Issue("server", x509.ExtKeyUsageServerAuth, "alerts.example.test")
	_, clientCert, clientKey := ca.Issue("vigil-agent", x509.ExtKeyUsageClientAuth)
	_, strangerCert, strangerKey := other.Issue("stranger", x509.ExtKeyUsageClientAuth)

	var mu sync.Mutex
	var clients []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		clients = append(clients, r.TLS.PeerCertificates[0].Subject.CommonName)
		mu.Unlock()
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	defer srv.Close()
	caFile := ca.File

	tests := []struct {
		name string
		tls  tlsconf.TLS
		sent bool
	}{
		{"mutual TLS with server_name", tlsconf.TLS{CAFile: caFile, CertFile: clientCert, KeyFile: clientKey, ServerName: "alerts.example.test"}, true},
		{"no client certificate", tlsconf.TLS{CAFile: caFile, ServerName: "alerts.example.test"}, false},
		{"client certificate of another CA", tlsconf.TLS{CAFile: caFile, CertFile: strangerCert, KeyFile: strangerKey, ServerName: "alerts.example.test"}, false},
		{"without server_name the address does not match", tlsconf.TLS{CAFile: caFile, CertFile: clientCert, KeyFile: clientKey}, false},
		{"wrong server_name", tlsconf.TLS{CAFile: caFile, CertFile: clientCert, KeyFile: clientKey, ServerName: "other.example.test"}, false},
		{"system CAs do not know the server", tlsconf.TLS{CertFile: clientCert, KeyFile: clientKey, ServerName: "alerts.example.test"}, false},
		{"insecure_skip_verify", tlsconf.TLS{CertFile: clientCert, KeyFile: clientKey, InsecureSkipVerify: true}, true},
		{"insecure_skip_verify still needs the client certificate", tlsconf.TLS{InsecureSkipVerify: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			clients = nil
			mu.Unlock()
			cfg := Config{URL: srv.URL, TLS: tt.tls}
			cfg.MaxAttempts = 1
			st := dispatch(t, cfg, sample())
			if tt.sent != (st.Sent == 1) || !tt.sent && st.Dropped[alert.DropRetriesExhausted] != 1 {
				t.Errorf("stats %+v, want sent %v", st, tt.sent)
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.sent && (len(clients) != 1 || clients[0] != "vigil-agent") {
				t.Errorf("server saw clients %v, want vigil-agent", clients)
			}
			if !tt.sent && len(clients) != 0 {
				t.Errorf("server served clients %v", clients)
			}
		})
	}
}
