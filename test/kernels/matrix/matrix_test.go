package matrix

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/testutil"
)

// TestBootSubset boots the fast subset of the matrix that CI runs: the
// oldest and the newest amd64 kernel and the newest arm64 kernel, two VMs at
// a time. `make test-kernels` boots them all.
func TestBootSubset(t *testing.T) {
	for _, bin := range []string{"go", "apt-get", "dpkg-deb", QemuBinary("amd64"), QemuBinary("arm64")} {
		testutil.RequireBinary(t, bin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	r, err := Run(ctx, Options{
		Root:   "../../..",
		OutDir: t.TempDir(),
		Select: subset,
		Progress: func(b Boot) {
			t.Logf("%s %s: ok %v in %s", b.Kernel.Name(), b.Kernel.Version, b.OK(), b.Wall.Round(time.Millisecond))
		},
	})
	var out strings.Builder
	WriteTable(&out, r)
	t.Logf("\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Boots) != 3 {
		t.Errorf("%d boots, want 3", len(r.Boots))
	}
	passed := map[string]bool{}
	for _, b := range r.Boots {
		switch b.Verdict() {
		case "ok":
			passed[b.Kernel.Arch] = true
			if b.Result.Arch != b.Kernel.Arch || !b.Result.Loaded || !b.Result.Attached || !b.Result.EventsOK || b.Result.Passed == 0 {
				t.Errorf("%s: result %+v", b.Kernel.Name(), b.Result)
			}
		case "unsupported":
			// Below the minimum (5.10 today): the guest must name what
			// the kernel lacks, the message the agent refuses it with.
			t.Logf("%s is below the minimum: %s", b.Kernel.Name(), b.Result.Missing)
		default:
			t.Errorf("%s (%s): failed", b.Kernel.Name(), b.Kernel.Version)
		}
	}
	for _, arch := range []string{"amd64", "arm64"} {
		if !passed[arch] {
			t.Errorf("no %s kernel passed", arch)
		}
	}
}

// subset keeps the oldest and newest series of amd64 and the newest of
// arm64.
func subset(ks []Kernel) []Kernel {
	byArch := map[string][]Kernel{}
	for _, k := range ks {
		byArch[k.Arch] = append(byArch[k.Arch], k)
	}
	var out []Kernel
	for _, arch := range []string{"amd64", "arm64"} {
		list := byArch[arch]
		slices.SortFunc(list, func(a, b Kernel) int { return CompareSeries(a.Series, b.Series) })
		if len(list) == 0 {
			continue
		}
		out = append(out, list[len(list)-1])
		if arch == "amd64" && len(list) > 1 {
			out = append(out, list[0])
		}
	}
	return out
}

func TestSubset(t *testing.T) {
	ks := []Kernel{
		{Arch: "amd64", Series: "6.12"}, {Arch: "amd64", Series: "5.10"}, {Arch: "amd64", Series: "7.2"}, {Arch: "amd64", Series: "6.1"},
		{Arch: "arm64", Series: "6.1"}, {Arch: "arm64", Series: "7.2"},
	}
	var got []string
	for _, k := range subset(ks) {
		got = append(got, k.Name())
	}
	if want := []string{"amd64/7.2", "amd64/5.10", "arm64/7.2"}; !slices.Equal(got, want) {
		t.Errorf("subset %v, want %v", got, want)
	}
}
