package cgroup

import (
	"os"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/testutil"
)

func TestFindMount(t *testing.T) {
	tests := []struct {
		name, mountinfo, want string
		err                   error
	}{
		{"hybrid", `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`, "/sys/fs/cgroup/unified", nil},
		{"unified", `30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`, "/sys/fs/cgroup", nil},
		{"root mount preferred over bind of a sub-tree", `50 23 0:26 /kubepods /host/cg rw - cgroup2 cgroup2 rw
30 23 0:26 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw
`, "/sys/fs/cgroup", nil},
		{"only a sub-tree", `50 23 0:26 /kubepods /host/cg rw - cgroup2 cgroup2 rw
`, "/host/cg", nil},
		{"escaped mount point", `30 23 0:26 / /mnt/my\040cgroup rw - cgroup2 none rw
`, "/mnt/my cgroup", nil},
		{"v1 only", `32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
`, "", ErrNoCgroup2},
		{"garbage", "no separator here\n - \n1 2 3 - cgroup2\n", "", ErrNoCgroup2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindMount(strings.NewReader(tt.mountinfo))
			if err != tt.err || got != tt.want {
				t.Fatalf("FindMount = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestMountIsCgroup2(t *testing.T) {
	root, err := Mount()
	if err != nil {
		testutil.Unavailable(t, "no cgroup2 mount: "+err.Error())
	}
	if _, err := os.Stat(root + "/cgroup.procs"); err != nil {
		t.Fatalf("mount %s has no cgroup.procs: %v", root, err)
	}
}

func FuzzFindMount(f *testing.F) {
	f.Add("41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n")
	f.Add(`30 23 0:26 / /mnt/my\040cg\134 rw - cgroup2 none rw`)
	f.Fuzz(func(t *testing.T, s string) {
		mnt, err := FindMount(strings.NewReader(s))
		if err == nil && mnt == "" {
			t.Fatalf("empty mount without error for %q", s)
		}
	})
}
