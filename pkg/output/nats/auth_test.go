package nats

import (
	"crypto/tls"
	"crypto/x509"
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
	"github.com/vigilsec/vigil/pkg/testutil"
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

func TestTLS(t *testing.T) {
	ca := testutil.NewCA(t, "nats-test-ca")
	pair, _, _ := ca.Issue("nats-test", x509.ExtKeyUsageServerAuth, "127.0.0.1")
	ts := startServer(t, func(o *server.Options) {
		o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		o.TLS = true
	})
	url := strings.Replace(ts.url(), "nats://", "tls://", 1)
	sub := subscribe(t, connect(t, url, gonats.RootCAs(ca.File)), ">")
	p := newPipeline(t, Config{URL: url, TLS: tlsconf.TLS{CAFile: ca.File}})
	p.d.Enqueue(mkAlert("tenant-a", alert.PriorityError, 1))
	sub.wait(t, 1)
	if !p.out.nc.TLSRequired() {
		t.Error("connection is not TLS")
	}
}
