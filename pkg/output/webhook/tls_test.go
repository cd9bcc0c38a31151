package webhook

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/output/tlsconf"
)

// pki is a test CA that issues server and client certificates.
type pki struct {
	t    *testing.T
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newPKI(t *testing.T, name string) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	p := &pki{t: t, dir: t.TempDir(), cert: cert, key: key, pool: x509.NewCertPool()}
	p.pool.AddCert(cert)
	p.write(name+".pem", "CERTIFICATE", der)
	return p
}

func (p *pki) write(name, typ string, der []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		p.t.Fatal(err)
	}
	return path
}

// issue returns a certificate for cn (and dnsName, when set) with the
// given usage, as a tls.Certificate and as cert and key files.
func (p *pki) issue(cn, dnsName string, usage x509.ExtKeyUsage) (tls.Certificate, string, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	if dnsName != "" {
		tmpl.DNSNames = []string{dnsName}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, &key.PublicKey, p.key)
	if err != nil {
		p.t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		p.t.Fatal(err)
	}
	certFile, keyFile := p.write(cn+".pem", "CERTIFICATE", der), p.write(cn+"-key.pem", "EC PRIVATE KEY", keyDER)
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		p.t.Fatal(err)
	}
	return c, certFile, keyFile
}

// TestTLSOptions posts to an HTTPS server that requires a client
// certificate from its CA and whose own certificate names only
// alerts.example.test (not 127.0.0.1, the address dialled): mutual TLS,
// server_name and insecure_skip_verify each decide whether the alert
// gets through.
func TestTLSOptions(t *testing.T) {
	ca := newPKI(t, "ca")
	other := newPKI(t, "other-ca")
	serverCert, _, _ := ca.issue("server", "alerts.example.test", x509.ExtKeyUsageServerAuth)
	_, clientCert, clientKey := ca.issue("vigil-agent", "", x509.ExtKeyUsageClientAuth)
	_, strangerCert, strangerKey := other.issue("stranger", "", x509.ExtKeyUsageClientAuth)

	var mu sync.Mutex
	var clients []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		clients = append(clients, r.TLS.PeerCertificates[0].Subject.CommonName)
		mu.Unlock()
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.pool}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(ca.dir, "ca.pem")

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
