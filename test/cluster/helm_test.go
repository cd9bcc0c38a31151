package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/testutil"
)

// releaseName is the chart's release in releaseNS.
const releaseName = "vigil"

// helmRelease runs helm against the test cluster for the chart's release,
// with helm's own state (cache, config, data) in a temporary directory.
type helmRelease struct {
	t     *testing.T
	c     *Cluster
	bin   string
	chart string
	home  string
}

// newHelmRelease finds helm (on PATH or in GOPATH/bin, from make deps).
func newHelmRelease(t *testing.T, c *Cluster) *helmRelease {
	t.Helper()
	bin, err := exec.LookPath("helm")
	if err != nil {
		out, _ := exec.Command("go", "env", "GOPATH").Output()
		bin = filepath.Join(strings.TrimSpace(string(out)), "bin", "helm")
		if _, err := os.Stat(bin); err != nil {
			testutil.Unavailable(t, "helm missing (make deps)")
		}
	}
	return &helmRelease{t: t, c: c, bin: bin, chart: filepath.Join(testutil.RepoRoot(), "deploy", "helm", "vigil"), home: t.TempDir()}
}

// run runs helm with the cluster's kubeconfig in releaseNS and returns its
// combined output.
func (h *helmRelease) run(args ...string) (string, error) {
	cmd := exec.Command(h.bin, append(args, "--kubeconfig", h.c.Kubeconfig, "--namespace", releaseNS)...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(h.home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(h.home, "config"),
		"HELM_DATA_HOME="+filepath.Join(h.home, "data"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// install installs the chart with values (YAML), without waiting for its
// pods.
func (h *helmRelease) install(values string) {
	h.t.Helper()
	if _, err := h.run("install", releaseName, h.chart, "-f", h.valuesFile("values.yaml", values)); err != nil {
		h.t.Fatal(err)
	}
}

// upgrade upgrades the release, keeping its values and merging values in.
func (h *helmRelease) upgrade(values string) {
	h.t.Helper()
	if _, err := h.run("upgrade", releaseName, h.chart, "--reuse-values", "-f", h.valuesFile("upgrade.yaml", values)); err != nil {
		h.t.Fatal(err)
	}
}

// uninstall removes the release and waits until its objects are gone; the
// release must then be unknown to helm.
func (h *helmRelease) uninstall() error {
	if _, err := h.run("uninstall", releaseName, "--wait", "--timeout", "90s"); err != nil {
		return err
	}
	out, err := h.run("list", "--all", "-q")
	if err != nil {
		return err
	}
	if strings.TrimSpace(out) != "" {
		return fmt.Errorf("helm still lists %q after uninstall", strings.TrimSpace(out))
	}
	return nil
}

func (h *helmRelease) valuesFile(name, values string) string {
	h.t.Helper()
	path := filepath.Join(h.home, name)
	if err := os.WriteFile(path, []byte(values), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return path
}

// chartValues are the release's values on the test cluster.
func chartValues(t *testing.T, c *Cluster, natsURL string, natsPort int) string {
	t.Helper()
	cgroup := "/sys/fs/cgroup"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
		cgroup = "/sys/fs/cgroup/unified" // hybrid host
	}
	return fmt.Sprintf(`security:
  capabilities: [%s]
image:
  repository: docker.io/vigil/agent
  tag: test
  pullPolicy: Never
hostPaths:
  cgroup: %s
containerRuntime:
  sockets: [%s]
clusterName: vigil-test
tenancy:
  labels: [capsule.clastix.io/tenant]
# No kube-proxy runs: the agent reaches the API server directly.
extraEnv:
  - {name: KUBERNETES_SERVICE_HOST, value: %q}
  - {name: KUBERNETES_SERVICE_PORT, value: %q}
nats:
  enabled: true
  url: %s
  passwordSecret: vigil-nats
  serverConfig:
    enabled: true
    port: %d
    agentPassword: $VIGIL_AGENT_PASSWORD
    tenants:
      - {name: tenant-a, password: $TENANT_A_PASSWORD}
      - {name: tenant-b, password: $TENANT_B_PASSWORD}
    admins:
      - {user: soc, password: $SOC_PASSWORD}
config:
  alerts:
    summary_interval: 3s
`, strings.Join(agentCapabilities(t), ", "), cgroup, c.ContainerdSocket, c.NodeIP, strconv.Itoa(c.APIPort), natsURL, natsPort)
}

// reloadValues adds a tenant-a-scoped rule to the chart's custom rules
// (the <release>-rules-custom ConfigMap), which the agent reloads in place.
const reloadValues = `rules:
  custom:
    tenant-a.yaml: |-
      - rule: Tenant A reload marker opened
        desc: A rule added at run time, scoped to tenant-a.
        condition: >
          evt.type in (open, openat, openat2) and fd.num >= 0
          and fd.name = /tmp/vigil-reload-marker and tenant.name = tenant-a
        output: >
          Reload marker opened | file=%fd.name proc=%proc.name tenant=%tenant.name
          k8s.ns=%k8s.ns.name k8s.pod=%k8s.pod.name container=%container.id name=%container.name
        priority: WARNING
        tags: [test]
`
