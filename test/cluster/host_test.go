package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHostStateVerify(t *testing.T) {
	saved := map[string]string{"vm/overcommit_memory": "0", "kernel/panic": "0", "kernel/panic_on_oops": "0"}
	tests := []struct {
		name    string
		sysctls map[string]string // what the host has now
		leave   []string          // created paths left behind (relative)
		want    []string          // one substring per error
	}{
		{"restored", map[string]string{"vm/overcommit_memory": "0", "kernel/panic": "0", "kernel/panic_on_oops": "0"}, nil, nil},
		{"the kubelet's values", map[string]string{"vm/overcommit_memory": "1", "kernel/panic": "10", "kernel/panic_on_oops": "0"}, nil,
			[]string{"sysctl vm.overcommit_memory is 1, was 0", "sysctl kernel.panic is 10, was 0"}},
		{"a sysctl unreadable", map[string]string{"vm/overcommit_memory": "0", "kernel/panic": "0"}, nil, []string{"sysctl kernel.panic_on_oops"}},
		{"paths left", saved, []string{"var/lib/kubelet", "var/log/pods"}, []string{"var/lib/kubelet is left", "var/log/pods is left"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			procSys := filepath.Join(root, "proc", "sys")
			for k, v := range tt.sysctls {
				p := filepath.Join(procSys, k)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			h := &hostState{sysctls: saved}
			for _, p := range []string{"var/lib/kubelet", "var/log/pods", "var/log/containers"} {
				h.created = append(h.created, filepath.Join(root, p))
			}
			for _, p := range tt.leave {
				if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			errs := h.verify(procSys)
			if len(errs) != len(tt.want) {
				t.Fatalf("verify = %v, want %d errors like %q", errs, len(tt.want), tt.want)
			}
			for _, w := range tt.want {
				found := false
				for _, err := range errs {
					found = found || strings.Contains(err.Error(), w)
				}
				if !found {
					t.Errorf("verify = %v, want an error containing %q", errs, w)
				}
			}
		})
	}
}
