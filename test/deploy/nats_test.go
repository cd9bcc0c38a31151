package deploy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/vigilsec/vigil/pkg/testutil"
	"golang.org/x/crypto/bcrypt"
)

// TestNATSServerConfigIsolatesTenants renders the chart's nats-server
// configuration, runs a real NATS server with it, and checks what each user
// may do: the agent publishes alerts, each tenant reads only its own
// subject tree and publishes nothing, the admin reads everything.
func TestNATSServerConfigIsolatesTenants(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("acme-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	values := writeValues(t, `
nats:
  enabled: true
  serverConfig:
    enabled: true
    tenants:
      - {name: acme, password: "`+string(hash)+`"}
      - {name: globex, user: globex-reader, password: "$GLOBEX_PASSWORD"}
    admins:
      - {user: soc, password: "$SOC_PASSWORD"}
`)
	cm := find(t, objects(t, render(t, "--values", values)), "ConfigMap", "vigil-nats-server")
	conf := cm.path("data", "nats.conf").(string)
	file := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// Secrets the NATS pod would get from its environment.
	t.Setenv("VIGIL_AGENT_PASSWORD", "agent-secret")
	t.Setenv("GLOBEX_PASSWORD", "globex-secret")
	t.Setenv("SOC_PASSWORD", "soc-secret")
	opts, err := server.ProcessConfigFile(file)
	if err != nil {
		t.Fatalf("nats-server rejects the rendered config: %v\n%s", err, conf)
	}
	if opts.Port != 4222 {
		t.Errorf("port = %d, want 4222", opts.Port)
	}
	opts.Host, opts.Port = "127.0.0.1", -1
	srv := testutil.NATSServer(t, opts)

	agent := connect(t, srv.ClientURL(), "vigil", "agent-secret")
	acme := connect(t, srv.ClientURL(), "acme", "acme-secret")
	globex := connect(t, srv.ClientURL(), "globex-reader", "globex-secret")
	soc := connect(t, srv.ClientURL(), "soc", "soc-secret")
	if _, err := nats.Connect(srv.ClientURL(), nats.UserInfo("acme", "wrong")); err == nil {
		t.Error("acme connected with a wrong password")
	}

	acmeOwn := acme.subscribe(t, "vigil.alerts.acme.>")
	acmeOther := acme.subscribe(t, "vigil.alerts.globex.>")
	globexOwn := globex.subscribe(t, "vigil.alerts.globex.>")
	socAll := soc.subscribe(t, "vigil.alerts.>")
	for _, c := range []*client{acme, globex, soc} {
		if err := c.nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}

	for _, subj := range []string{"vigil.alerts.acme.critical", "vigil.alerts.globex.warning", "vigil.alerts._host.notice"} {
		if err := agent.nc.Publish(subj, []byte(subj)); err != nil {
			t.Fatal(err)
		}
	}
	// Tenants must not publish, not even into their own tree.
	_ = acme.nc.Publish("vigil.alerts.acme.critical", []byte("forged"))
	_ = acme.nc.Flush()
	if err := agent.nc.Flush(); err != nil {
		t.Fatal(err)
	}

	expect := func(name string, sub *nats.Subscription, want ...string) {
		t.Helper()
		var got []string
		for {
			m, err := sub.NextMsg(300 * time.Millisecond)
			if err != nil {
				break
			}
			got = append(got, string(m.Data))
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s received %v, want %v", name, got, want)
		}
	}
	expect("acme on its own subjects", acmeOwn, "vigil.alerts.acme.critical")
	expect("acme on globex's subjects", acmeOther)
	expect("globex", globexOwn, "vigil.alerts.globex.warning")
	expect("soc", socAll, "vigil.alerts.acme.critical", "vigil.alerts.globex.warning", "vigil.alerts._host.notice")

	if !acme.violated("Subscription to \"vigil.alerts.globex.>\"") {
		t.Errorf("no permission violation for acme subscribing to globex's alerts (errors %v)", acme.errors())
	}
	if !acme.violated("Publish to \"vigil.alerts.acme.critical\"") {
		t.Errorf("no permission violation for acme publishing (errors %v)", acme.errors())
	}
	if errs := agent.errors(); len(errs) != 0 {
		t.Errorf("agent hit errors publishing alerts: %v", errs)
	}
}

// client is a NATS connection that records asynchronous errors, where the
// server reports permission violations.
type client struct {
	nc   *nats.Conn
	mu   sync.Mutex
	errs []error
}

func connect(t *testing.T, url, user, password string) *client {
	t.Helper()
	c := &client{}
	nc, err := nats.Connect(url, nats.UserInfo(user, password),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			c.mu.Lock()
			c.errs = append(c.errs, err)
			c.mu.Unlock()
		}))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	c.nc = nc
	return c
}

func (c *client) subscribe(t *testing.T, subject string) *nats.Subscription {
	t.Helper()
	sub, err := c.nc.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func (c *client) errors() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]error(nil), c.errs...)
}

// violated reports whether the server sent a permissions violation whose
// text contains what.
func (c *client) violated(what string) bool {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		for _, err := range c.errors() {
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), what) {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
