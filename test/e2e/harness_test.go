// Package e2e runs the real vigil binary against the real kernel: it starts
// the agent with NATS and HTTP outputs, performs behaviours for real, and
// checks the alerts that arrive.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/vigilsec/vigil/pkg/testutil"
)

// repoRoot is the module root.
var repoRoot = testutil.RepoRoot()

// binaries are built once per test binary run.
var (
	buildOnce            sync.Once
	vigilBin, actionsBin string
	buildErr             error
)

func buildBinaries(t *testing.T) (vigil, actions string) {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		vigilBin = filepath.Join(dir, "vigil")
		actionsBin = filepath.Join(dir, "actions")
		for bin, pkg := range map[string]string{vigilBin: "./cmd/vigil", actionsBin: "./test/actions"} {
			cmd := exec.Command("go", "build", "-o", bin, pkg)
			cmd.Dir = repoRoot
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return vigilBin, actionsBin
}

// falcoAlert is the Falco JSON alert as receivers see it.
type falcoAlert struct {
	Hostname     string         `json:"hostname"`
	Output       string         `json:"output"`
	Priority     string         `json:"priority"`
	Rule         string         `json:"rule"`
	Source       string         `json:"source"`
	Tags         []string       `json:"tags"`
	Time         time.Time      `json:"time"`
	OutputFields map[string]any `json:"output_fields"`
	Tenant       string         `json:"tenant"`
	subject      string
}

// collector gathers alerts from one receiver.
type collector struct {
	mu     sync.Mutex
	alerts []falcoAlert
	notify chan struct{}
}

func newCollector() *collector { return &collector{notify: make(chan struct{}, 1)} }

func (c *collector) add(a falcoAlert) {
	c.mu.Lock()
	c.alerts = append(c.alerts, a)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *collector) snapshot() []falcoAlert {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]falcoAlert(nil), c.alerts...)
}

// wait returns the first alert matching match, or fails after timeout.
func (c *collector) wait(t *testing.T, what string, timeout time.Duration, match func(falcoAlert) bool) falcoAlert {
	t.Helper()
	deadline := time.After(timeout)
	for {
		for _, a := range c.snapshot() {
			if match(a) {
				return a
			}
		}
		select {
		case <-c.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			var rules []string
			for _, a := range c.snapshot() {
				rules = append(rules, a.Rule)
			}
			t.Fatalf("%s: no matching alert within %v; got %d alerts: %v", what, timeout, len(rules), rules)
		}
	}
}

// agent is a running vigil process with its receivers.
type agent struct {
	cmd        *exec.Cmd
	configFile string
	http       *collector
	nats       *collector
	natsURL    string
	metrics    string
	stdout     *lockedBuffer
	stderr     *lockedBuffer
	done       chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startNATS runs an embedded NATS server on a free loopback port.
func startNATS(t *testing.T) *server.Server {
	t.Helper()
	return testutil.NATSServer(t, &server.Options{})
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// agentConfig is the config file the tests run the agent with: no
// Kubernetes on this machine, JSON logs, fast drop checks.
const agentConfig = `
enrich:
  kubernetes: "off"
log:
  format: json
self_alerts:
  interval: 1s
`

// startAgent starts vigil with the given extra arguments (rules), a NATS
// output, an HTTP output and the metrics server, and waits until it is ready.
func startAgent(t *testing.T, args ...string) *agent {
	t.Helper()
	return launch(t, agentOptions{args: args})
}

// startAgentWithConfig is startAgent with another config file.
func startAgentWithConfig(t *testing.T, config string, args ...string) *agent {
	t.Helper()
	return launch(t, agentOptions{config: config, args: args})
}

// agentOptions vary how launch starts the agent.
type agentOptions struct {
	// config is the config file's content (agentConfig when empty).
	config string
	// args are more `vigil run` arguments (rules files).
	args []string
	// text leaves stdout in Falco's text format instead of --json.
	text bool
	// webhook, when set, is the --webhook URL instead of the test's
	// receiver (a closed port, to make deliveries fail).
	webhook string
	// webhookDelay makes the receiver answer each alert only after this
	// long; an alert counts as received once answered.
	webhookDelay time.Duration
	// noWait returns as soon as the process runs, before it is ready.
	noWait bool
}

// launch starts vigil as o says, with a NATS output to an embedded server
// and an HTTP output, and (unless o.noWait) waits until it is ready.
func launch(t *testing.T, o agentOptions) *agent {
	t.Helper()
	testutil.RequireRoot(t)
	vigil, _ := buildBinaries(t)
	ns := startNATS(t)
	a := &agent{http: newCollector(), nats: newCollector(), natsURL: ns.ClientURL(),
		metrics: freeAddr(t), stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan error, 1)}

	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var fa falcoAlert
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &fa); err != nil {
			t.Errorf("webhook body is not a Falco alert: %v: %s", err, body)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if o.webhookDelay > 0 {
			select {
			case <-time.After(o.webhookDelay):
			case <-r.Context().Done():
				return // the agent gave up on it: not delivered
			}
		}
		a.http.add(fa)
	}))
	t.Cleanup(hs.Close)
	webhook := hs.URL
	if o.webhook != "" {
		webhook = o.webhook
	}

	nc, err := nats.Connect(a.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if _, err := nc.Subscribe("vigil.alerts.>", func(m *nats.Msg) {
		var fa falcoAlert
		if err := json.Unmarshal(m.Data, &fa); err != nil {
			t.Errorf("NATS message is not a Falco alert: %v", err)
			return
		}
		fa.subject = m.Subject
		a.nats.add(fa)
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	config := o.config
	if config == "" {
		config = agentConfig
	}
	cfgFile := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	a.configFile = cfgFile
	all := []string{"run", "--webhook", webhook, "--nats", a.natsURL, "--metrics-address", a.metrics, "--config", cfgFile}
	if !o.text {
		all = append(all, "--json")
	}
	a.cmd = exec.Command(vigil, append(all, o.args...)...)
	a.cmd.Stdout = a.stdout
	a.cmd.Stderr = a.stderr
	a.cmd.Env = append(os.Environ(), "VIGIL_LOG_LEVEL=info")
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.done <- a.cmd.Wait() }()
	t.Cleanup(func() {
		_ = a.stop(t, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("vigil stderr:\n%s", tail(a.stderr.String(), 60))
		}
	})
	if !o.noWait {
		a.waitReady(t)
	}
	return a
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (a *agent) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-a.done:
			a.done <- err
			t.Fatalf("vigil exited before it was ready: %v\nstderr:\n%s", err, tail(a.stderr.String(), 40))
		default:
		}
		resp, err := http.Get("http://" + a.metrics + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("vigil not ready within 60s\nstderr:\n%s", tail(a.stderr.String(), 40))
}

// stop signals the agent and waits for it to exit.
func (a *agent) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	if a.cmd.Process == nil {
		return nil
	}
	_ = a.cmd.Process.Signal(sig)
	select {
	case err := <-a.done:
		a.done <- err
		return err
	case <-time.After(20 * time.Second):
		_ = a.cmd.Process.Kill()
		return fmt.Errorf("vigil did not exit within 20s of %v", sig)
	}
}

// metric returns the sum of the samples of a metric family whose label set
// contains every given label, from /metrics.
func (a *agent) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + a.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || (len(line) > len(name) && line[len(name)] != '{' && line[len(name)] != ' ') {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(line, l) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
			sum += v
		}
	}
	return sum
}

// run executes a command and fails the test when it cannot start; a
// non-zero exit is allowed (some behaviours fail on purpose).
func run(t *testing.T, ctx context.Context, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("%s %v: %v", name, args, err)
		}
	}
	return string(out)
}
