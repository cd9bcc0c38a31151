package nats

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	gonats "github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/output/tlsconf"
)

// operatorMode sets up decentralised JWT auth: an operator, one account,
// and returns a function that writes a .creds file for a user of that
// account allowed to publish pub and subscribe to sub.
func operatorMode(t *testing.T) (func(*server.Options), func(name string, pub, sub []string) string) {
	t.Helper()
	okp, _ := nkeys.CreateOperator()
	opub, _ := okp.PublicKey()
	oc := jwt.NewOperatorClaims(opub)
	ojwt, err := oc.Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	ocDecoded, err := jwt.DecodeOperatorClaims(ojwt)
	if err != nil {
		t.Fatal(err)
	}
	akp, _ := nkeys.CreateAccount()
	apub, _ := akp.PublicKey()
	ajwt, err := jwt.NewAccountClaims(apub).Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	resolver := &server.MemAccResolver{}
	if err := resolver.Store(apub, ajwt); err != nil {
		t.Fatal(err)
	}
	tweak := func(o *server.Options) {
		o.JetStream = false
		o.TrustedOperators = []*jwt.OperatorClaims{ocDecoded}
		o.AccountResolver = resolver
	}
	creds := func(name string, pub, sub []string) string {
		ukp, _ := nkeys.CreateUser()
		upub, _ := ukp.PublicKey()
		uc := jwt.NewUserClaims(upub)
		uc.Name = name
		uc.Pub.Allow.Add(pub...)
		uc.Sub.Allow.Add(sub...)
		ujwt, err := uc.Encode(akp)
		if err != nil {
			t.Fatal(err)
		}
		seed, _ := ukp.Seed()
		b, err := jwt.FormatUserConfig(ujwt, seed)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), name+".creds")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	return tweak, creds
}

// TestCredsFile publishes with a .creds file whose JWT allows vigil.alerts.>
// only, while a tenant's user, restricted by its JWT to its own subjects,
// receives its own alerts only.
func TestCredsFile(t *testing.T) {
	tweak, creds := operatorMode(t)
	ts := startServer(t, tweak)
	agent := creds("vigil", []string{"vigil.alerts.>"}, nil)
	tenantA := creds("tenant-a", nil, []string{"vigil.alerts.tenant-a.>"})
	sub := subscribe(t, connect(t, ts.url(), gonats.UserCredentials(tenantA)), "vigil.alerts.tenant-a.>")
	p := newPipeline(t, Config{URL: ts.url(), CredsFile: agent})
	for i := range 6 {
		p.d.Enqueue(mkAlert([]string{"tenant-a", "tenant-b"}[i%2], alert.PriorityError, i))
	}
	p.close(t, 5*time.Second)
	for _, m := range sub.wait(t, 3) {
		if !strings.HasPrefix(m.Subject, "vigil.alerts.tenant-a.") {
			t.Errorf("tenant-a got %s", m.Subject)
		}
	}
	if st := p.stats(); st.Sent != 6 {
		t.Errorf("stats %+v", st)
	}
}

// selfSigned writes a CA-less self-signed server certificate for 127.0.0.1
// and returns the cert and key files.
func selfSigned(t *testing.T) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nats-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	cert, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, keyFile
}

func TestTLS(t *testing.T) {
	cert, key := selfSigned(t)
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, func(o *server.Options) {
		o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		o.TLS = true
	})
	url := strings.Replace(ts.url(), "nats://", "tls://", 1)
	sub := subscribe(t, connect(t, url, gonats.RootCAs(cert)), ">")
	p := newPipeline(t, Config{URL: url, TLS: tlsconf.TLS{CAFile: cert}})
	p.d.Enqueue(mkAlert("tenant-a", alert.PriorityError, 1))
	sub.wait(t, 1)
	if !p.out.nc.TLSRequired() {
		t.Error("connection is not TLS")
	}
}
