package kubeapi

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func TestServerServesNamespaces(t *testing.T) {
	s := Start(t)
	fromFile, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfigClient, err := kubernetes.NewForConfig(fromFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name   string
		client kubernetes.Interface
	}{
		{"client", s.Client},
		{"kubeconfig", kubeconfigClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "probe-" + tc.name, Labels: map[string]string{"a": tc.name}}}
			if _, err := tc.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			got, err := tc.client.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
			if err != nil || got.Labels["a"] != tc.name {
				t.Fatalf("get namespace = %+v, %v", got, err)
			}
		})
	}
}

// TestStopLeavesNoProcess starts a server in a subtest and checks that once
// the subtest has ended no process runs with its data or certificate
// directory on the command line.
func TestStopLeavesNoProcess(t *testing.T) {
	var dirs []string
	t.Run("server", func(t *testing.T) {
		s := Start(t)
		cp := s.env.ControlPlane
		dirs = []string{cp.Etcd.DataDir, cp.APIServer.CertDir}
		if got := running(t, dirs); len(got) != 2 {
			t.Fatalf("running = %q, want etcd and kube-apiserver", got)
		}
	})
	if got := running(t, dirs); len(got) != 0 {
		t.Fatalf("still running after the test: %q", got)
	}
}

// running returns the command lines of the processes that mention one of dirs.
func running(t *testing.T, dirs []string) []string {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue // exited meanwhile, or a zombie
		}
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		for _, d := range dirs {
			if d != "" && strings.Contains(cmd, "="+d) {
				out = append(out, cmd)
				break
			}
		}
	}
	return out
}
