package testutil

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
	"sync/atomic"
	"testing"
	"time"
)

// CA is a throw-away certificate authority for TLS tests. Its certificate
// is written to File; Pool trusts it.
type CA struct {
	t    testing.TB
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// File is the CA certificate, PEM encoded.
	File string
	// Pool holds the CA certificate.
	Pool *x509.CertPool
}

var serial atomic.Int64

// NewCA creates a CA named name in a test temporary directory.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	tmpl := &x509.Certificate{
		Subject: pkix.Name{CommonName: name}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}
	c := &CA{t: t, dir: t.TempDir(), Pool: x509.NewCertPool()}
	der, key := c.sign(tmpl, nil, nil)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	c.cert, c.key = cert, key
	c.Pool.AddCert(cert)
	c.File = c.write(name+".pem", "CERTIFICATE", der)
	return c
}

// Issue returns a certificate for cn with the given usage, valid for hosts
// (DNS names or IP addresses), as a tls.Certificate and as cert and key
// files.
func (c *CA) Issue(cn string, usage x509.ExtKeyUsage, hosts ...string) (tls.Certificate, string, string) {
	c.t.Helper()
	tmpl := &x509.Certificate{
		Subject:  pkix.Name{CommonName: cn},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, key := c.sign(tmpl, c.cert, c.key)
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		c.t.Fatal(err)
	}
	certFile, keyFile := c.write(cn+".pem", "CERTIFICATE", der), c.write(cn+"-key.pem", "EC PRIVATE KEY", keyDER)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		c.t.Fatal(err)
	}
	return pair, certFile, keyFile
}

// sign creates a key and a certificate from tmpl, valid for an hour either
// side of now, signed by parent (self-signed when parent is nil).
func (c *CA) sign(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) ([]byte, *ecdsa.PrivateKey) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		c.t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(serial.Add(1))
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		c.t.Fatal(err)
	}
	return der, key
}

func (c *CA) write(name, typ string, der []byte) string {
	path := filepath.Join(c.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return path
}
