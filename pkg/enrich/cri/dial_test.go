package cri

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// versionServer is a CRI runtime service that answers Version with its
// name; every other call is unimplemented.
type versionServer struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	name string
}

func (s *versionServer) Version(context.Context, *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{Version: "0.1.0", RuntimeName: s.name, RuntimeVersion: "1.0", RuntimeApiVersion: "v1"}, nil
}

// socketDir returns a short directory for sockets (their paths are limited
// to 108 bytes).
func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cri-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// serveCRI serves a CRI runtime named name on a unix socket at path.
func serveCRI(t *testing.T, path, name string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	runtimeapi.RegisterRuntimeServiceServer(srv, &versionServer{name: name})
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
}

// staleSocket leaves a socket file nobody listens on, as a stopped runtime
// does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
}

// silentSocket accepts connections and never answers, as a hung runtime
// does.
func silentSocket(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
}

func TestDial(t *testing.T) {
	dir := socketDir(t)
	sock := func(name string) string { return filepath.Join(dir, name) }
	serveCRI(t, sock("containerd.sock"), "containerd")
	serveCRI(t, sock("crio.sock"), "cri-o")
	staleSocket(t, sock("stale.sock"))
	silentSocket(t, sock("silent.sock"))

	tests := []struct {
		name    string
		sockets []string
		// want is the socket that answers, "" when Dial fails.
		want string
		// noSocket reports that the failure is ErrNoSocket: none exists.
		noSocket bool
	}{
		{"missing sockets skipped", []string{sock("none1.sock"), sock("none2.sock"), sock("crio.sock")}, sock("crio.sock"), false},
		{"unix:// prefix accepted", []string{"unix://" + sock("containerd.sock")}, sock("containerd.sock"), false},
		{"first answering wins", []string{sock("containerd.sock"), sock("crio.sock")}, sock("containerd.sock"), false},
		{"stopped runtime falls through", []string{sock("stale.sock"), "unix://" + sock("crio.sock")}, sock("crio.sock"), false},
		{"hung runtime falls through", []string{sock("silent.sock"), sock("containerd.sock")}, sock("containerd.sock"), false},
		{"none exists", []string{sock("none1.sock"), "unix://" + sock("none2.sock")}, "", true},
		{"exists but does not answer", []string{sock("none1.sock"), sock("stale.sock"), sock("silent.sock")}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Dial(context.Background(), tt.sockets, 300*time.Millisecond)
			if tt.want == "" {
				if err == nil {
					c.Close()
					t.Fatalf("Dial connected to %s", c.Endpoint())
				}
				if !errors.Is(err, ErrNoRuntime) || errors.Is(err, ErrNoSocket) != tt.noSocket {
					t.Fatalf("Dial error %v: want ErrNoRuntime, ErrNoSocket %v", err, tt.noSocket)
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			name := map[string]string{sock("containerd.sock"): "containerd 1.0", sock("crio.sock"): "cri-o 1.0"}[tt.want]
			if c.Endpoint() != tt.want || c.Runtime() != name {
				t.Fatalf("connected to %s (%s), want %s (%s)", c.Endpoint(), c.Runtime(), tt.want, name)
			}
		})
	}
}

// TestDialDefaultSockets checks that no configured socket means the default
// list, which names containerd's, k3s's and CRI-O's sockets.
func TestDialDefaultSockets(t *testing.T) {
	for _, want := range []string{"/run/containerd/containerd.sock", "/run/k3s/containerd/containerd.sock", "/var/run/crio/crio.sock", "/run/crio/crio.sock"} {
		if !slices.Contains(DefaultSockets, want) {
			t.Errorf("DefaultSockets %v lack %s", DefaultSockets, want)
		}
	}
	dir := socketDir(t)
	live := filepath.Join(dir, "crio.sock")
	serveCRI(t, live, "cri-o")
	saved := DefaultSockets
	DefaultSockets = []string{filepath.Join(dir, "containerd.sock"), "unix://" + live}
	t.Cleanup(func() { DefaultSockets = saved })
	c, err := Dial(context.Background(), nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Endpoint() != live {
		t.Fatalf("connected to %s, want %s", c.Endpoint(), live)
	}
}
