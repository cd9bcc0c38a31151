// Package cluster starts a real single-node Kubernetes cluster on this
// machine for end-to-end tests: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and a kubelet built from the Go module proxy (by
// test/k8s-bins.sh and test/cluster/k8s-node-bins.sh), a private containerd
// with runc and the Debian CNI plugins (bridge, host-local, loopback), and
// images built locally from static binaries and imported with ctr — no
// registry. Everything it changes on the host (the kubelet's sysctls,
// /var/lib/kubelet, /var/log/pods, pod cgroups, the CNI bridge) is restored
// or removed when the test ends.
package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/vigilsec/vigil/pkg/testutil"
)

// Default locations of the binaries (test/k8s-bins.sh and
// test/cluster/k8s-node-bins.sh with their default versions).
const (
	DefaultControlPlaneBinDir = "/var/cache/vigil/k8s-bin/kube-v1.37.2-etcd-v3.7.3"
	DefaultNodeBinDir         = "/var/cache/vigil/k8s-bin/kube-node-v1.37.2"
)

// Network of the cluster: pods on a bridge, services (never routed: there is
// no kube-proxy) in their own range.
const (
	BridgeName   = "vigil-cni0"
	PodSubnet    = "10.214.0.0/24"
	ServiceRange = "10.215.0.0/24"
	// NodeName is the node's name.
	NodeName = "vigil-node"
)

// PauseImage is the pod sandbox image.
const PauseImage = "docker.io/vigil/pause:test"

// Cluster is a running single-node cluster.
type Cluster struct {
	// Dir holds every file of the cluster (certificates, data, logs,
	// containerd's root and socket).
	Dir string
	// NodeIP is the node's address: the host's address on its default
	// route. The API server listens there on APIPort.
	NodeIP  string
	APIPort int
	// Kubeconfig is an admin kubeconfig file; Config and Client the same
	// credentials for client-go.
	Kubeconfig string
	Config     *rest.Config
	Client     kubernetes.Interface
	// ContainerdSocket is the runtime's (CRI) socket.
	ContainerdSocket string
	// Kubectl is the path of kubectl.
	KubectlBin string

	t       testing.TB
	host    *hostState
	procs   []*proc
	crictl  runtimeapi.RuntimeServiceClient
	crConn  *grpc.ClientConn
	stopped bool
}

// proc is one component of the cluster.
type proc struct {
	name   string
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
}

func binDir(env, def string) string {
	if d := os.Getenv(env); d != "" {
		return d
	}
	return def
}

// Start brings the cluster up (node Ready, the default ServiceAccount
// present) and imports the image archives; it is torn down when the test
// ends. Without root, the binaries or the runtime it skips (fails in CI).
func Start(t testing.TB, images ...string) *Cluster {
	t.Helper()
	testutil.RequireRoot(t)
	for _, b := range []string{"containerd", "containerd-shim-runc-v2", "runc", "ctr", "ip"} {
		testutil.RequireBinary(t, b)
	}
	cp := binDir("VIGIL_K8S_BIN", DefaultControlPlaneBinDir)
	node := binDir("VIGIL_K8S_NODE_BIN", DefaultNodeBinDir)
	for _, b := range []string{filepath.Join(cp, "etcd"), filepath.Join(cp, "kube-apiserver"),
		filepath.Join(node, "kubelet"), filepath.Join(node, "kube-controller-manager"),
		filepath.Join(node, "kube-scheduler"), filepath.Join(node, "kubectl"), "/usr/lib/cni/bridge"} {
		if _, err := os.Stat(b); err != nil {
			testutil.Unavailable(t, fmt.Sprintf("%s missing (run test/k8s-bins.sh, test/cluster/k8s-node-bins.sh and make deps)", b))
		}
	}
	lock, err := lockHost(t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() }) // runs after teardown (registered later)
	host, err := saveHostState()
	if err != nil {
		t.Fatal(err)
	}
	nodeIP, err := defaultRouteIP()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "vigil-k8s-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, Dir: dir, NodeIP: nodeIP, host: host, KubectlBin: filepath.Join(node, "kubectl"),
		ContainerdSocket: filepath.Join(dir, "containerd.sock")}
	t.Cleanup(c.teardown)
	if err := host.save(dir); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"logs", "etcd", "cni/conf", "cni/ipam", "containerd", "kubelet-pki"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_, svcNet, _ := net.ParseCIDR(ServiceRange)
	svcIP := append(net.IP(nil), svcNet.IP.To4()...)
	svcIP[3] = 1
	p, err := newPKI(filepath.Join(dir, "pki"), net.ParseIP(nodeIP), svcIP)
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	// etcd
	etcdPort, peerPort := freePort(t), freePort(t)
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPort)
	c.run("etcd", filepath.Join(cp, "etcd"), "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peerPort),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peerPort),
		"--initial-cluster", fmt.Sprintf("default=http://127.0.0.1:%d", peerPort),
		"--listen-metrics-urls", "", "--log-level", "warn", "--quota-backend-bytes", "1073741824")
	c.waitFor("etcd", 60*time.Second, func() error { return httpOK(etcdURL + "/health") })

	// kube-apiserver
	c.APIPort = freePort(t)
	c.run("kube-apiserver", filepath.Join(cp, "kube-apiserver"),
		"--etcd-servers", etcdURL,
		"--bind-address", nodeIP, "--advertise-address", nodeIP, "--secure-port", strconv.Itoa(c.APIPort),
		"--tls-cert-file", p.ServingCert, "--tls-private-key-file", p.ServingKey,
		"--client-ca-file", p.CA,
		"--kubelet-preferred-address-types", "InternalIP,Hostname",
		"--kubelet-client-certificate", p.AdminCert, "--kubelet-client-key", p.AdminKey,
		"--service-account-key-file", p.SAPub, "--service-account-signing-key-file", p.SAKey,
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range", ServiceRange,
		"--authorization-mode", "Node,RBAC",
		"--allow-privileged=true",
		"--cert-dir", filepath.Join(dir, "apiserver-certs"),
		"--profiling=false", "--v=1")
	c.Kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	if err := writeKubeconfig(c.Kubeconfig, fmt.Sprintf("https://%s:%d", nodeIP, c.APIPort), p); err != nil {
		t.Fatal(err)
	}
	if c.Config, err = clientcmd.BuildConfigFromFlags("", c.Kubeconfig); err != nil {
		t.Fatal(err)
	}
	c.Config.QPS, c.Config.Burst = 100, 200
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		t.Fatal(err)
	}
	c.waitFor("kube-apiserver", 120*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	})
	t.Logf("cluster: etcd and kube-apiserver ready after %s", time.Since(start).Round(time.Millisecond))

	// controller-manager and scheduler
	c.run("kube-controller-manager", filepath.Join(node, "kube-controller-manager"),
		"--kubeconfig", c.Kubeconfig, "--authentication-kubeconfig", c.Kubeconfig, "--authorization-kubeconfig", c.Kubeconfig,
		"--service-account-private-key-file", p.SAKey, "--root-ca-file", p.CA,
		"--use-service-account-credentials=false", "--leader-elect=false",
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(freePort(t)),
		"--cert-dir", filepath.Join(dir, "kcm-certs"), "--v=1")
	c.run("kube-scheduler", filepath.Join(node, "kube-scheduler"),
		"--kubeconfig", c.Kubeconfig, "--authentication-kubeconfig", c.Kubeconfig, "--authorization-kubeconfig", c.Kubeconfig,
		"--leader-elect=false", "--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(freePort(t)),
		"--cert-dir", filepath.Join(dir, "scheduler-certs"), "--v=1")

	// CNI and containerd
	if err := c.writeCNI(); err != nil {
		t.Fatal(err)
	}
	if err := c.startContainerd(); err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		c.Ctr("images", "import", img)
	}

	// kubelet
	kubeletCfg, err := c.writeKubeletConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	c.run("kubelet", filepath.Join(node, "kubelet"),
		"--config", kubeletCfg, "--kubeconfig", c.Kubeconfig,
		"--hostname-override", NodeName, "--node-ip", nodeIP,
		"--root-dir", "/var/lib/kubelet", "--cert-dir", filepath.Join(dir, "kubelet-pki"), "--v=1")
	c.waitFor("node Ready", 120*time.Second, func() error {
		n, err := c.Client.CoreV1().Nodes().Get(context.Background(), NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return errors.New("node not ready")
	})
	// The kubelet set its sysctls at start and does not look at them again:
	// give the host its own values back at once.
	if err := host.restoreSysctls(); err != nil {
		t.Error(err)
	}
	c.waitFor("default ServiceAccount", 60*time.Second, func() error {
		_, err := c.Client.CoreV1().ServiceAccounts("default").Get(context.Background(), "default", metav1.GetOptions{})
		return err
	})
	t.Logf("cluster: node %s Ready at %s:%d after %s", NodeName, nodeIP, c.APIPort, time.Since(start).Round(time.Millisecond))
	return c
}

// run starts a component with its output in Dir/logs/<name>.log.
func (c *Cluster) run(name, bin string, args ...string) {
	c.t.Helper()
	logPath := filepath.Join(c.Dir, "logs", name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		c.t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(p.exited) }()
	c.procs = append(c.procs, p)
}

// waitFor polls check until it succeeds, failing the test with the
// components' log tails after timeout or when a component exited.
func (c *Cluster) waitFor(what string, timeout time.Duration, check func() error) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		for _, p := range c.procs {
			select {
			case <-p.exited:
				c.t.Fatalf("waiting for %s: %s exited (%v)\n%s", what, p.name, p.cmd.ProcessState, c.LogTail(p.name, 40))
			default:
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("waiting for %s: %v\n%s", what, err, c.AllLogTails(15))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// LogTail returns the last n lines of a component's log.
func (c *Cluster) LogTail(name string, n int) string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "logs", name+".log"))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "== " + name + "\n" + strings.Join(lines, "\n")
}

// AllLogTails returns the last n lines of every component's log.
func (c *Cluster) AllLogTails(n int) string {
	var b strings.Builder
	for _, p := range c.procs {
		b.WriteString(c.LogTail(p.name, n))
		b.WriteString("\n")
	}
	return b.String()
}

// Kubectl runs kubectl with the admin kubeconfig and stdin, returning its
// standard output; it fails the test on error.
func (c *Cluster) Kubectl(stdin string, args ...string) string {
	c.t.Helper()
	out, err := c.KubectlErr(stdin, args...)
	if err != nil {
		c.t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// KubectlErr is Kubectl returning the error (with standard error) instead.
func (c *Cluster) KubectlErr(stdin string, args ...string) (string, error) {
	cmd := exec.Command(c.KubectlBin, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%v: %s", err, stderr.String())
	}
	return stdout.String(), nil
}

// Ctr runs ctr against the cluster's containerd in the k8s.io namespace.
func (c *Cluster) Ctr(args ...string) string {
	c.t.Helper()
	full := append([]string{"--address", c.ContainerdSocket, "--namespace", "k8s.io"}, args...)
	out, err := exec.Command("ctr", full...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

const containerdConfig = `version = 2
root = "{{.Dir}}/containerd/root"
state = "{{.Dir}}/containerd/state"
oom_score = 0

[grpc]
  address = "{{.Socket}}"

[ttrpc]
  address = "{{.Dir}}/containerd/ttrpc.sock"

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "{{.Pause}}"
    restrict_oom_score_adj = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    enable_selinux = false
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "{{.Dir}}/cni/conf"
  [plugins."io.containerd.internal.v1.opt"]
    path = "{{.Dir}}/containerd/opt"
`

func (c *Cluster) startContainerd() error {
	var cfg bytes.Buffer
	if err := template.Must(template.New("cfg").Parse(containerdConfig)).Execute(&cfg, map[string]string{
		"Dir": c.Dir, "Socket": c.ContainerdSocket, "Pause": PauseImage,
	}); err != nil {
		return err
	}
	path := filepath.Join(c.Dir, "containerd", "config.toml")
	if err := os.WriteFile(path, cfg.Bytes(), 0o644); err != nil {
		return err
	}
	bin, _ := exec.LookPath("containerd")
	c.run("containerd", bin, "--config", path, "--log-level", "warn")
	var err error
	c.crConn, err = grpc.NewClient("unix://"+c.ContainerdSocket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	c.crictl = runtimeapi.NewRuntimeServiceClient(c.crConn)
	c.waitFor("containerd", 30*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := c.crictl.Version(ctx, &runtimeapi.VersionRequest{})
		return err
	})
	return nil
}

func (c *Cluster) writeCNI() error {
	conf := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "vigil-test",
  "plugins": [
    {
      "type": "bridge",
      "bridge": %q,
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": %q,
        "ranges": [[{"subnet": %q}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "loopback"}
  ]
}
`, BridgeName, filepath.Join(c.Dir, "cni", "ipam"), PodSubnet)
	return os.WriteFile(filepath.Join(c.Dir, "cni", "conf", "10-vigil.conflist"), []byte(conf), 0o644)
}

func (c *Cluster) writeKubeletConfig(p *pki) (string, error) {
	cfg := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
address: 0.0.0.0
port: %d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %d
containerRuntimeEndpoint: unix://%s
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %s}
authorization:
  mode: Webhook
failSwapOn: false
resolvConf: /etc/resolv.conf
clusterDomain: cluster.local
syncFrequency: 5s
fileCheckFrequency: 5s
nodeStatusUpdateFrequency: 4s
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
evictionHard:
  memory.available: 50Mi
  nodefs.available: 1%%
  nodefs.inodesFree: 1%%
  imagefs.available: 1%%
`, freePort(c.t), freePort(c.t), c.ContainerdSocket, p.CA)
	path := filepath.Join(c.Dir, "kubelet.yaml")
	return path, os.WriteFile(path, []byte(cfg), 0o644)
}

// teardown stops the kubelet, removes every pod sandbox through the CRI
// (containers, shims, network namespaces), stops the other components
// (SIGTERM, SIGKILL after a grace period), removes the bridge, restores the
// host, checks that it is restored (failing the test otherwise) and
// removes Dir.
func (c *Cluster) teardown() {
	if c.stopped {
		return
	}
	c.stopped = true
	c.stopProc("kubelet", 10*time.Second)
	if c.crictl != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		if resp, err := c.crictl.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err == nil {
			for _, s := range resp.GetItems() {
				if _, err := c.crictl.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: s.GetId()}); err != nil {
					c.t.Logf("cluster teardown: stop sandbox %s: %v", s.GetId(), err)
				}
				if _, err := c.crictl.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: s.GetId()}); err != nil {
					c.t.Logf("cluster teardown: remove sandbox %s: %v", s.GetId(), err)
				}
			}
		} else {
			c.t.Logf("cluster teardown: list sandboxes: %v", err)
		}
		cancel()
		c.crConn.Close()
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.stopProc(c.procs[i].name, 5*time.Second)
	}
	exec.Command("ip", "link", "del", BridgeName).Run()
	for _, err := range c.host.restore(c.Dir) {
		c.t.Errorf("cluster teardown: %v", err)
	}
	// The host must be as it was: sysctls back, the kubelet's paths gone.
	for _, err := range c.host.verify("/proc/sys") {
		c.t.Errorf("cluster teardown: %v", err)
	}
	forget()
	if os.Getenv("VIGIL_KEEP_CLUSTER_DIR") == "" {
		if err := os.RemoveAll(c.Dir); err != nil {
			c.t.Errorf("cluster teardown: %v", err)
		}
	} else {
		c.t.Logf("cluster teardown: kept %s", c.Dir)
	}
}

// stopProc sends SIGTERM to a component's process group and SIGKILL after
// grace.
func (c *Cluster) stopProc(name string, grace time.Duration) {
	for _, p := range c.procs {
		if p.name != name {
			continue
		}
		select {
		case <-p.exited:
			continue
		default:
		}
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(grace):
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
	}
}

func writeKubeconfig(path, server string, p *pki) error {
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: vigil
  cluster: {server: %q, certificate-authority: %q}
users:
- name: admin
  user: {client-certificate: %q, client-key: %q}
contexts:
- name: vigil
  context: {cluster: vigil, user: admin}
current-context: vigil
`, server, p.CA, p.AdminCert, p.AdminKey)
	return os.WriteFile(path, []byte(cfg), 0o600)
}

// defaultRouteIP returns the host's source address towards the default
// route: the node IP (the kubelet refuses loopback addresses).
func defaultRouteIP() (string, error) {
	conn, err := net.Dial("udp4", "192.0.2.254:9")
	if err != nil {
		return "", fmt.Errorf("no default route for a node IP: %w", err)
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).IP.String(), nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func httpOK(url string) error {
	cl := http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}
