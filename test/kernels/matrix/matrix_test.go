package matrix

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/probe"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// TestBootSubset boots the fast subset of the matrix that CI runs (see
// subset), two VMs at a time, fetching only those kernels. A supported
// kernel must pass; a kernel below the minimum must be refused by the
// agent's own entry with a message naming the minimum and what it lacks.
// `make test-kernels` boots them all.
func TestBootSubset(t *testing.T) {
	for _, bin := range []string{"go", "apt-get", "dpkg-deb", QemuBinary("amd64"), QemuBinary("arm64")} {
		testutil.RequireBinary(t, bin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	r, err := Run(ctx, Options{
		Root:       "../../..",
		OutDir:     t.TempDir(),
		ArchSeries: subsetSeries,
		Select:     subset,
		Progress: func(b Boot) {
			t.Logf("%s %s: %s in %s", b.Kernel.Name(), b.Kernel.Version, b.Verdict(), b.Wall.Round(time.Millisecond))
		},
	})
	var out strings.Builder
	WriteTable(&out, r)
	t.Logf("\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range r.Boots {
		got = append(got, b.Kernel.Name())
	}
	if len(got) != 5 {
		t.Errorf("booted %v, want the newest, oldest supported and oldest amd64 and the newest and oldest supported arm64", got)
	}
	supported := map[string]int{}
	for _, b := range r.Boots {
		if CompareSeries(b.Kernel.Series, probe.MinKernel) >= 0 {
			if b.Verdict() != "ok" {
				t.Errorf("%s (%s): %s", b.Kernel.Name(), b.Kernel.Version, b.Verdict())
				continue
			}
			supported[b.Kernel.Arch]++
			if res := b.Result; res.Arch != b.Kernel.Arch || !res.Loaded || !res.Attached || !res.EventsOK || res.Passed == 0 || res.Refusal != "" {
				t.Errorf("%s: result %+v", b.Kernel.Name(), res)
			}
			continue
		}
		// Below the minimum (5.10 today): the agent's entry refuses the
		// kernel, naming the minimum and every helper and map type the
		// guest's detector found missing (the agent probes its own
		// program set, so the program types may differ).
		if b.Verdict() != "unsupported" {
			t.Errorf("%s (%s) is below Linux %s: %s, want unsupported", b.Kernel.Name(), b.Kernel.Version, probe.MinKernel, b.Verdict())
			continue
		}
		refusal := b.Result.Refusal
		t.Logf("%s: the agent refuses it: %s", b.Kernel.Name(), refusal)
		want := []string{"Linux " + probe.MinKernel, "bpf_loop"}
		for _, f := range b.Result.Features.Missing() {
			want = append(want, f.Name[strings.LastIndexByte(f.Name, ':')+1:])
		}
		for _, w := range want {
			if !strings.Contains(refusal, w) {
				t.Errorf("%s: the refusal %q does not name %q", b.Kernel.Name(), refusal, w)
			}
		}
	}
	for _, arch := range []string{"amd64", "arm64"} {
		if supported[arch] < 2 {
			t.Errorf("%d supported %s kernels passed, want the newest and the oldest", supported[arch], arch)
		}
	}
}

// subsetSeries is what TestBootSubset fetches: amd64's newest, oldest
// supported and oldest series, arm64's newest and oldest supported.
var subsetSeries = map[string][]string{
	"amd64": {"newest", "min-" + probe.MinKernel, "oldest"},
	"arm64": {"newest", "min-" + probe.MinKernel},
}

// subset keeps, of each architecture, the newest series and the oldest at
// or above probe.MinKernel, and for amd64 also the oldest (below the
// minimum: the refusal is checked).
func subset(ks []Kernel) []Kernel {
	byArch := map[string][]Kernel{}
	for _, k := range ks {
		byArch[k.Arch] = append(byArch[k.Arch], k)
	}
	var out []Kernel
	for _, arch := range []string{"amd64", "arm64"} {
		list := byArch[arch]
		slices.SortFunc(list, func(a, b Kernel) int { return CompareSeries(b.Series, a.Series) })
		var picked []Kernel
		add := func(k Kernel) {
			if !slices.ContainsFunc(picked, func(p Kernel) bool { return p.Series == k.Series }) {
				picked = append(picked, k)
			}
		}
		if len(list) == 0 {
			continue
		}
		add(list[0])
		for i := len(list) - 1; i >= 0; i-- {
			if CompareSeries(list[i].Series, probe.MinKernel) >= 0 {
				add(list[i])
				break
			}
		}
		if arch == "amd64" {
			add(list[len(list)-1])
		}
		out = append(out, picked...)
	}
	return out
}

func TestSubset(t *testing.T) {
	tests := []struct {
		name   string
		series map[string][]string
		want   []string
	}{{
		name:   "Debian today",
		series: map[string][]string{"amd64": {"6.12", "5.10", "7.2", "6.1"}, "arm64": {"6.1", "5.10", "7.2", "6.12"}},
		want:   []string{"amd64/7.2", "amd64/6.1", "amd64/5.10", "arm64/7.2", "arm64/6.1"},
	}, {
		name:   "nothing below the minimum",
		series: map[string][]string{"amd64": {"6.12", "6.1"}, "arm64": {"6.1"}},
		want:   []string{"amd64/6.12", "amd64/6.1", "arm64/6.1"},
	}, {
		name:   "nothing supported",
		series: map[string][]string{"amd64": {"5.10", "5.4"}},
		want:   []string{"amd64/5.10", "amd64/5.4"},
	}, {
		name:   "one arch only",
		series: map[string][]string{"arm64": {"5.15", "5.17", "6.1"}},
		want:   []string{"arm64/6.1", "arm64/5.17"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ks []Kernel
			for arch, series := range tt.series {
				for _, s := range series {
					ks = append(ks, Kernel{Arch: arch, Series: s})
				}
			}
			var got []string
			for _, k := range subset(ks) {
				got = append(got, k.Name())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("subset %v, want %v", got, tt.want)
			}
		})
	}
}
