package cgroup

import (
	"os"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/testutil"
)

func TestParseProcCgroup(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"hybrid", "9:name=systemd:/\n4:memory:/x\n0::/kubepods/besteffort/pod1/abc\n", "/kubepods/besteffort/pod1/abc", true},
		{"unified", "0::/system.slice/sshd.service\n", "/system.slice/sshd.service", true},
		{"root", "0::/\n", "/", true},
		{"v1 only", "4:memory:/x\n1:cpu:/\n", "", false},
		{"no path", "0::\n", "", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		got, ok := ParseProcCgroup([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: ParseProcCgroup = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestProcPathSelf(t *testing.T) {
	testutil.RequireRoot(t)
	root, err := Mount()
	if err != nil {
		testutil.Unavailable(t, "no cgroup2 mount")
	}
	p, err := ProcPath(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root + strings.TrimSuffix(p, "/") + "/cgroup.procs"); err != nil {
		t.Fatalf("own cgroup %s not under %s: %v", p, root, err)
	}
}

func FuzzParseProcCgroup(f *testing.F) {
	f.Add("0::/a/b\n")
	f.Add("1:cpu:/\n0::/\n")
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := ParseProcCgroup([]byte(s))
		if ok && (p == "" || p[0] != '/' || !strings.Contains(s, "0::"+p)) {
			t.Fatalf("ParseProcCgroup(%q) = %q", s, p)
		}
	})
}
