package matrix

import (
	"context"
	"slices"
	"strconv"
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
	for _, b := range r.Boots {
		if !b.OK() {
			t.Errorf("%s (%s): failed", b.Kernel.Name(), b.Kernel.Version)
			continue
		}
		if b.Result.Arch != b.Kernel.Arch || !b.Result.Loaded || !b.Result.Attached || !b.Result.EventsOK || b.Result.Passed == 0 {
			t.Errorf("%s: result %+v", b.Kernel.Name(), b.Result)
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
		slices.SortFunc(list, func(a, b Kernel) int { return compareSeries(a.Series, b.Series) })
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

// compareSeries orders "5.10" before "6.1" before "6.12".
func compareSeries(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x - y
		}
	}
	return len(pa) - len(pb)
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
