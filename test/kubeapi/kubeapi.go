// Package kubeapi starts a real etcd and kube-apiserver for tests through
// controller-runtime's envtest, from the binaries test/k8s-bins.sh builds into
// a cache outside the repository. The admin user authenticates with a client
// certificate (group system:masters); no controller manager or scheduler runs,
// so tests create what they need (pods with spec.nodeName set, pod IPs through
// the status subresource).
package kubeapi

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/vigilsec/vigil/pkg/testutil"
)

// DefaultBinDir is where test/k8s-bins.sh puts the binaries by default.
const DefaultBinDir = "/var/cache/vigil/k8s-bin/kube-v1.37.2-etcd-v3.7.3"

const (
	// startTimeout bounds the start of each of etcd and kube-apiserver; the
	// machine is shared, so it is generous.
	startTimeout = 90 * time.Second
	// stopTimeout bounds each graceful stop before the process is killed.
	stopTimeout = 20 * time.Second
)

// Server is a running etcd and kube-apiserver pair.
type Server struct {
	// Config is an admin client configuration.
	Config *rest.Config
	// Client is an admin clientset.
	Client kubernetes.Interface
	// Kubeconfig is a kubeconfig file with the admin credentials.
	Kubeconfig string

	env  *envtest.Environment
	logs []namedLog
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
	setupLogger()
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	if err := os.Mkdir(certs, 0o700); err != nil {
		t.Fatal(err)
	}
	s := &Server{}
	etcdOut, apiOut := s.newLog("etcd"), s.newLog("kube-apiserver")

	etcd := &envtest.Etcd{Path: filepath.Join(bin, "etcd"), DataDir: filepath.Join(dir, "etcd"), Out: etcdOut, Err: etcdOut}
	etcd.Configure().Set("log-level", "warn")
	api := &envtest.APIServer{Path: filepath.Join(bin, "kube-apiserver"), CertDir: certs, Out: apiOut, Err: apiOut}
	api.Configure().
		Set("advertise-address", "127.0.0.1").
		Set("service-cluster-ip-range", "10.96.0.0/24").
		Set("enable-priority-and-fairness", "false").
		Set("endpoint-reconciler-type", "none").
		Set("v", "0")

	existing := false
	s.env = &envtest.Environment{
		ControlPlane:             envtest.ControlPlane{Etcd: etcd, APIServer: api},
		BinaryAssetsDirectory:    bin,
		UseExistingCluster:       &existing,
		ControlPlaneStartTimeout: startTimeout,
		ControlPlaneStopTimeout:  stopTimeout,
	}
	// Registered before Start: a start that fails half way stops what it ran.
	t.Cleanup(func() {
		if err := s.env.Stop(); err != nil {
			t.Errorf("stop control plane: %v\n%s", err, s.Logs())
		}
	})
	cfg, err := s.env.Start()
	if err != nil {
		t.Fatalf("start control plane from %s: %v\n%s", bin, err, s.Logs())
	}
	s.Config = cfg
	if s.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	s.waitReady(t)
	s.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(s.Kubeconfig, s.env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitReady waits until /readyz answers ok: envtest only waits for /healthz
// and the default namespace, readyz also covers the informer caches.
func (s *Server) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		body, err := s.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		cancel()
		if err == nil && string(body) == "ok" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kube-apiserver not ready: %v %s\n%s", err, body, s.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
