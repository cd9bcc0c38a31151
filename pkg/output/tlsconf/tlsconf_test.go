package tlsconf

import (
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfig(t *testing.T) {
	srv := httptest.NewTLSServer(nil)
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not a certificate"), 0o600)

	if c, err := (TLS{}).Config(); c != nil || err != nil {
		t.Errorf("empty TLS: %v %v", c, err)
	}
	c, err := TLS{CAFile: ca, ServerName: "example.com"}.Config()
	if err != nil || c.RootCAs == nil || c.ServerName != "example.com" {
		t.Errorf("CA file: %+v %v", c, err)
	}
	for _, tt := range []struct {
		in   TLS
		want string
	}{
		{TLS{CAFile: filepath.Join(dir, "missing.pem")}, "tls.ca_file:"},
		{TLS{CAFile: junk}, "tls.ca_file: no PEM"},
		{TLS{CertFile: junk, KeyFile: junk}, "tls.cert_file:"},
	} {
		if _, err := tt.in.Config(); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.in, err, tt.want)
		}
	}
	if err := (TLS{CertFile: "c"}).Validate(); err == nil {
		t.Error("cert without key accepted")
	}
}
