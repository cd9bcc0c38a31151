package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/pkg/testutil"
)

// newTestCgroup creates a real cgroup under the cgroup2 mount and returns the
// resolver, its path relative to the mount and its id.
func newTestCgroup(t *testing.T) (*Resolver, string, uint64) {
	t.Helper()
	testutil.RequireRoot(t)
	root, err := Mount()
	if err != nil {
		testutil.Unavailable(t, "no cgroup2 mount: "+err.Error())
	}
	r, err := NewResolver(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	rel := "/" + testutil.UniqueName(t, "vigil-test-") + "/docker/" + cid
	abs := filepath.Join(root, rel)
	if err := os.MkdirAll(abs, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.Remove(abs)
		os.Remove(filepath.Dir(abs))
		os.Remove(filepath.Dir(filepath.Dir(abs)))
	})
	id, err := DirID(abs)
	if err != nil {
		t.Fatal(err)
	}
	return r, rel, id
}

func TestResolverPath(t *testing.T) {
	r, rel, id := newTestCgroup(t)
	got, err := r.Path(id)
	if err != nil {
		t.Fatalf("Path(%d): %v", id, err)
	}
	if got != rel {
		t.Fatalf("Path(%d) = %q, want %q", id, got, rel)
	}
	if info := Parse(got); info.ContainerID != cid || info.Runtime != RuntimeDocker {
		t.Fatalf("Parse(%q) = %+v", got, info)
	}
	byID, err := r.ID(rel)
	if err != nil || byID != id {
		t.Fatalf("ID(%q) = %d, %v; want %d", rel, byID, err, id)
	}
	rootID, err := r.ID("/")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := r.Path(rootID); err != nil || p != "/" {
		t.Fatalf("Path(root) = %q, %v", p, err)
	}
}

func TestResolverWalkMatchesHandle(t *testing.T) {
	r, rel, id := newTestCgroup(t)
	got, err := r.pathByWalk(id)
	if err != nil || got != rel {
		t.Fatalf("pathByWalk(%d) = %q, %v; want %q", id, got, err, rel)
	}
}

func TestResolverRemoved(t *testing.T) {
	r, rel, id := newTestCgroup(t)
	if err := os.Remove(filepath.Join(r.Root(), rel)); err != nil {
		t.Fatal(err)
	}
	if p, err := r.Path(id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Path of removed cgroup = %q, %v; want ErrNotFound", p, err)
	}
	if p, err := r.pathByWalk(id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pathByWalk of removed cgroup = %q, %v; want ErrNotFound", p, err)
	}
}
