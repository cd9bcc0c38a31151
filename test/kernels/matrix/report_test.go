package matrix

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/probe/features"
	"github.com/vigilsec/vigil/test/kernels/suite"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestEventCounts(t *testing.T) {
	tests := []struct {
		name   string
		checks []suite.Check
		want   string
	}{
		{"no checks", nil, "0/0"},
		{"loads, features and opens are not events", []suite.Check{
			{Check: "uptime", OK: true}, {Check: "load sys_exit", Family: "load", OK: true},
			{Check: "feature btf"}, {Check: "open", Mode: "generic"},
		}, "0/0"},
		{"passed, failed and skipped", []suite.Check{
			{Check: "exec", Family: "exec", Mode: "per-syscall", OK: true},
			{Check: "exec", Family: "exec", Mode: "generic", OK: true},
			{Check: "connect v6", Family: "net", Mode: "generic"},
			{Check: "finit_module", Family: "module", Mode: "per-syscall", Skipped: true, Detail: "no tracepoint"},
		}, "2/3 (1 skipped)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := eventCounts(Boot{Checks: tt.checks}); got != tt.want {
				t.Errorf("eventCounts = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestWriteTable renders a report with every kind of row: the host, a
// kernel that passed with a skipped check, one whose program the verifier
// rejected, one below the minimum and one that never printed a result.
func TestWriteTable(t *testing.T) {
	progs := func(ok ...bool) []suite.ProgramLoad {
		var out []suite.ProgramLoad
		for i, o := range ok {
			p := suite.ProgramLoad{Program: "prog" + string(rune('a'+i)), OK: o}
			if !o {
				p.Error = "load program: permission denied"
				p.Verifier = "0: R1=ctx() R10=fp0\n12: (85) call bpf_loop#181\nunknown func bpf_loop#181"
			}
			out = append(out, p)
		}
		return out
	}
	events := []suite.Check{
		{Check: "exec", Family: "exec", Mode: "per-syscall", OK: true},
		{Check: "exec", Family: "exec", Mode: "generic", OK: true},
		{Check: "finit_module", Family: "module", Mode: "per-syscall", Skipped: true, Detail: "no syscalls:sys_enter_finit_module tracepoint on this kernel"},
	}
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	r := Report{
		Boots: []Boot{{
			Kernel: Kernel{Arch: "amd64", Series: "6.18", Package: "host", Version: "6.18.0-test", Host: true},
			Result: &suite.Result{Kernel: "6.18.0-test", OK: true, Attached: true, Programs: progs(true, true)},
			Checks: events[:2], FirstLine: sec(0.2), Wall: sec(9.5),
		}, {
			Kernel: Kernel{Arch: "arm64", Series: "6.1", Package: "linux-image-6.1.0-56-cloud-arm64", Version: "6.1.192-2"},
			Result: &suite.Result{Kernel: "6.1.0-56-cloud-arm64", OK: true, Attached: true, Programs: progs(true, true)},
			Checks: events, FirstLine: sec(4.25), Wall: sec(21),
		}, {
			Kernel: Kernel{Arch: "amd64", Series: "6.12", Package: "linux-image-6.12.117+deb13-cloud-amd64", Version: "6.12.117-1"},
			Result: &suite.Result{Kernel: "6.12.117+deb13-cloud-amd64", Programs: progs(true, false)},
			Checks: []suite.Check{
				{Check: "load progb", Family: "load", Detail: "load program: permission denied\nunknown func bpf_loop#181"},
				{Check: "open", Mode: "generic", Detail: "probe: load: permission denied"},
			},
			FirstLine: sec(3), Wall: sec(7.04),
		}, {
			Kernel: Kernel{Arch: "amd64", Series: "5.10", Package: "linux-image-5.10.0-46-cloud-amd64", Version: "5.10.262-1"},
			Result: &suite.Result{
				Kernel:   "5.10.0-46-cloud-amd64",
				Programs: progs(false, false),
				Features: features.Report{Features: []features.Feature{{Name: "tracing:bpf_loop", Since: "5.17", Detail: "not supported"}}},
				Missing:  "kernel 5.10.0-46-cloud-amd64 lacks tracing:bpf_loop (Linux 5.17+): not supported",
				Refusal:  "probe: this kernel cannot run Vigil (it needs Linux 5.17 or newer with BTF): kernel 5.10.0-46-cloud-amd64 lacks tracing:bpf_loop (Linux 5.17+): not supported",
			},
			FirstLine: sec(2), Wall: sec(6.5),
		}, {
			Kernel: Kernel{Arch: "arm64", Series: "7.2", Package: "linux-binary-7.2.13+deb14-cloud-arm64", Version: "7.2.13-1"},
			Err:    "no result within 4m0s; console ends:\nKernel panic - not syncing: Attempted to kill init!",
			Wall:   sec(240),
		}},
		Fetch: sec(0.5), Build: sec(2.4), Total: sec(83), OutDir: "/tmp/vigil-kernels-1",
	}
	var b strings.Builder
	WriteTable(&b, r)
	golden := filepath.Join("testdata", "table.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("WriteTable:\n%s\nwant (%s; go test -update rewrites it):\n%s", b.String(), golden, want)
	}
}
