// Package kubeapi starts a real etcd and kube-apiserver for tests, from the
// binaries test/k8s-bins.sh builds into a cache outside the repository. The
// API server authenticates one static admin token (group system:masters);
// no controller manager or scheduler runs, so tests create what they need
// (pods with spec.nodeName set, pod IPs through the status subresource).
package kubeapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/vigilsec/vigil/pkg/testutil"
)

// DefaultBinDir is where test/k8s-bins.sh puts the binaries by default.
const DefaultBinDir = "/var/cache/vigil/k8s-bin/kube-v1.37.2-etcd-v3.7.3"

// Server is a running etcd and kube-apiserver pair.
type Server struct {
	// Config is an admin client configuration.
	Config *rest.Config
	// Client is an admin clientset.
	Client kubernetes.Interface
	// Kubeconfig is a kubeconfig file with the admin credentials.
	Kubeconfig string

	procs []*proc
	logs  map[string]*bytes.Buffer
}

// BinDir returns the directory holding kube-apiserver and etcd:
// VIGIL_K8S_BIN when set, else DefaultBinDir.
func BinDir() string {
	if d := os.Getenv("VIGIL_K8S_BIN"); d != "" {
		return d
	}
	return DefaultBinDir
}

// Start runs etcd and kube-apiserver until the test ends and waits until the
// API server is ready. Without the binaries the test is skipped (failed in
// strict mode) with a hint to run test/k8s-bins.sh.
func Start(t testing.TB) *Server {
	t.Helper()
	testutil.RequireRoot(t)
	bin := BinDir()
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			testutil.Unavailable(t, fmt.Sprintf("%s not built in %s: run test/k8s-bins.sh (or set VIGIL_K8S_BIN)", b, bin))
		}
	}
	dir := t.TempDir()
	s := &Server{logs: map[string]*bytes.Buffer{}}
	t.Cleanup(s.stop)

	etcdClient, etcdPeer := freePort(t), freePort(t)
	clientURL := "http://127.0.0.1:" + strconv.Itoa(etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(etcdPeer)
	s.run(t, filepath.Join(bin, "etcd"),
		"--name=default", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+clientURL, "--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL, "--unsafe-no-fsync", "--log-level=warn")

	token := randomHex(t)
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(token+",admin,admin,system:masters\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	saKey := filepath.Join(dir, "sa.key")
	writeRSAKey(t, saKey)
	port := freePort(t)
	s.run(t, filepath.Join(bin, "kube-apiserver"),
		"--etcd-servers="+clientURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(port),
		"--cert-dir="+filepath.Join(dir, "certs"),
		"--token-auth-file="+tokens, "--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc", "--service-account-key-file="+saKey,
		"--service-account-signing-key-file="+saKey, "--service-cluster-ip-range=10.96.0.0/24",
		"--disable-admission-plugins=ServiceAccount", "--enable-priority-and-fairness=false",
		"--endpoint-reconciler-type=none",
		"--v=0")

	s.Config = &rest.Config{
		Host:            "https://127.0.0.1:" + strconv.Itoa(port),
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		QPS:             100, Burst: 200,
	}
	client, err := kubernetes.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	s.Client = client
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		cancel()
		if err == nil && string(body) == "ok" {
			break
		}
		for _, p := range s.procs {
			select {
			case <-p.done:
				t.Fatalf("%s exited: %v\n%s", p.cmd.Path, p.cmd.ProcessState, s.Logs())
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("kube-apiserver not ready: %v %s\n%s", err, body, s.Logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.Kubeconfig = filepath.Join(dir, "kubeconfig")
	s.writeKubeconfig(t)
	return s
}

func (s *Server) run(t testing.TB, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	buf := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	s.procs = append(s.procs, p)
	s.logs[filepath.Base(bin)] = buf
}

// proc is a started server process; done closes when it exits.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Logs returns the output of etcd and kube-apiserver (for failure messages).
func (s *Server) Logs() string {
	var b bytes.Buffer
	for name, l := range s.logs {
		fmt.Fprintf(&b, "--- %s ---\n%s\n", name, l.String())
	}
	return b.String()
}

// stop terminates the API server, then etcd.
func (s *Server) stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	}
}

func (s *Server) writeKubeconfig(t testing.TB) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: s.Config.Host, InsecureSkipTLSVerify: true}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: s.Config.BearerToken}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "admin"}
	cfg.CurrentContext = "test"
	if err := clientcmd.WriteToFile(*cfg, s.Kubeconfig); err != nil {
		t.Fatal(err)
	}
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomHex(t testing.TB) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func writeRSAKey(t testing.TB, path string) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der := x509.MarshalPKCS1PrivateKey(key)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
