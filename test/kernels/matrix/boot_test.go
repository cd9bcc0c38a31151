package matrix

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/probe/features"
	"github.com/vigilsec/vigil/pkg/testutil"
	"github.com/vigilsec/vigil/test/kernels/suite"
)

func TestReadConsole(t *testing.T) {
	tests := []struct {
		name       string
		console    string
		wantChecks int
		wantOK     bool
		wantResult bool
		wantErr    string
	}{{
		name: "passing guest amid kernel messages",
		console: "[    0.000000] Linux version 6.1.0\r\n" +
			"VIGIL-CHECK {\"check\":\"uptime\",\"ok\":true,\"ms\":3000}\r\n" +
			"[    3.100000] random: crng init done\r\n" +
			"VIGIL-CHECK {\"check\":\"exec\",\"mode\":\"generic\",\"ok\":true,\"ms\":12}\n" +
			"VIGIL-KERNEL-RESULT {\"kernel\":\"6.1.0-56-cloud-amd64\",\"arch\":\"amd64\",\"ok\":true,\"passed\":2}\n" +
			"[    9.000000] reboot: Power down\n",
		wantChecks: 2, wantOK: true, wantResult: true,
	}, {
		name: "kernel message glued before a line",
		console: "[    1.0] audit: initializedVIGIL-CHECK {\"check\":\"exec\",\"ok\":false,\"detail\":\"0 execve events\"}\n" +
			"VIGIL-KERNEL-RESULT {\"ok\":false,\"failed\":1}\n",
		wantChecks: 1, wantResult: true,
	}, {
		name:       "garbled check line",
		console:    "VIGIL-CHECK {\"check\":\"ex\nVIGIL-KERNEL-RESULT {\"ok\":true}\n",
		wantChecks: 1, wantOK: true, wantResult: true,
	}, {
		name:    "garbled result line",
		console: "VIGIL-KERNEL-RESULT {\"ok\":tr\n",
		wantErr: "garbled result line",
	}, {
		name:       "panic before the result",
		console:    "VIGIL-CHECK {\"check\":\"uptime\",\"ok\":true}\nKernel panic - not syncing: Attempted to kill init!\n",
		wantChecks: 1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Boot
			tail := b.read(strings.NewReader(tt.console), time.Now())
			if len(b.Checks) != tt.wantChecks {
				t.Errorf("%d checks, want %d: %+v", len(b.Checks), tt.wantChecks, b.Checks)
			}
			if (b.Result != nil) != tt.wantResult {
				t.Fatalf("result %+v, want one: %v", b.Result, tt.wantResult)
			}
			if b.Result != nil && b.Result.OK != tt.wantOK {
				t.Errorf("result ok %v, want %v", b.Result.OK, tt.wantOK)
			}
			if !strings.Contains(b.Err, tt.wantErr) || (tt.wantErr == "" && b.Err != "") {
				t.Errorf("err %q, want %q", b.Err, tt.wantErr)
			}
			if last := strings.TrimRight(tt.console, "\n"); !strings.HasSuffix(strings.ReplaceAll(last, "\r", ""), strings.Split(tail, "\n")[len(strings.Split(tail, "\n"))-1]) {
				t.Errorf("tail %q does not end the console", tail)
			}
		})
	}
}

func TestVerdict(t *testing.T) {
	const refusal = "probe: this kernel cannot run Vigil (it needs Linux 5.17 or newer with BTF): kernel 5.10.0 lacks ..."
	missing := func(fs ...features.Feature) *suite.Result {
		return &suite.Result{Features: features.Report{Features: fs}, Refusal: refusal}
	}
	tests := []struct {
		name   string
		series string
		boot   Boot
		want   string
	}{
		{"passed", "6.1", Boot{Result: &suite.Result{OK: true}}, "ok"},
		{"no result", "6.1", Boot{Err: "no result within 4m0s"}, "FAIL"},
		{"older than every missing feature", "5.10", Boot{Result: missing(
			features.Feature{Name: "map:TaskStorage", Since: "5.11"}, features.Feature{Name: "tracing:bpf_loop", Since: "5.17"})}, "unsupported"},
		{"older, but the agent did not refuse it", "5.10", Boot{Result: &suite.Result{Features: features.Report{Features: []features.Feature{
			{Name: "map:TaskStorage", Since: "5.11"}}}}}, "FAIL"},
		{"missing a feature it should have", "6.1", Boot{Result: missing(features.Feature{Name: "tracing:bpf_loop", Since: "5.17"})}, "FAIL"},
		{"missing a feature of unknown release", "5.10", Boot{Result: missing(features.Feature{Name: "tracepoint:bpf_x"})}, "FAIL"},
		{"failed with nothing missing", "5.10", Boot{Result: &suite.Result{}}, "FAIL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.boot.Kernel = Kernel{Arch: "amd64", Series: tt.series}
			if got := tt.boot.Verdict(); got != tt.want {
				t.Errorf("Verdict() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCompareSeries(t *testing.T) {
	ordered := []string{"4.19", "5.4", "5.10", "5.17", "6.1", "6.12", "7.2"}
	for i := range ordered {
		for j := range ordered {
			got := CompareSeries(ordered[i], ordered[j])
			if (got < 0) != (i < j) || (got == 0) != (i == j) {
				t.Errorf("CompareSeries(%s, %s) = %d", ordered[i], ordered[j], got)
			}
		}
	}
}

func FuzzReadConsole(f *testing.F) {
	f.Add("VIGIL-CHECK {\"check\":\"exec\",\"ok\":true}\nVIGIL-KERNEL-RESULT {\"ok\":true}\n")
	f.Add("[ 1.0] x VIGIL-KERNEL-RESULT {\"ok\":tr\r\n")
	f.Add("VIGIL-KERNEL-RESULT {}\nVIGIL-KERNEL-RESULT {\n")
	f.Fuzz(func(t *testing.T, console string) {
		var b Boot
		b.read(strings.NewReader(console), time.Now())
		if b.Result != nil && b.Err != "" {
			t.Fatalf("both a result and an error: %q", b.Err)
		}
		if n := strings.Count(console, "VIGIL-CHECK "); len(b.Checks) > n {
			t.Fatalf("%d checks from %d check prefixes", len(b.Checks), n)
		}
	})
}

// TestBootKernel boots fake qemus (shell scripts standing in for the
// emulator) to check how a boot is judged: by the result line, within the
// timeout, whatever the emulator's exit.
func TestBootKernel(t *testing.T) {
	testutil.RequireBinary(t, "sh")
	const result = `VIGIL-KERNEL-RESULT {"kernel":"6.1.0","arch":"amd64","ok":true,"loaded":true,"attached":true,"events_ok":true,"passed":1}`
	const check = `VIGIL-CHECK {"check":"exec","family":"exec","mode":"generic","ok":true}`
	tests := []struct {
		name     string
		script   string
		timeout  time.Duration
		wantOK   bool
		wantErr  string
		wantTail string
	}{{
		name:   "passes and powers off",
		script: "echo '" + check + "'\necho '" + result + "'",
		wantOK: true,
	}, {
		name:    "prints nothing",
		script:  "exec sleep 60",
		timeout: time.Second,
		wantErr: "no result within 1s",
	}, {
		name:     "hangs after a check",
		script:   "echo '" + check + "'\necho 'rcu: INFO: rcu_preempt detected stalls'\nexec sleep 60",
		timeout:  time.Second,
		wantErr:  "no result within 1s",
		wantTail: "rcu_preempt detected stalls",
	}, {
		name:    "hangs after its result",
		script:  "echo '" + result + "'\nexec sleep 60",
		timeout: time.Second,
		wantOK:  true,
	}, {
		name:     "panics and exits 0",
		script:   "echo '" + check + "'\necho 'Kernel panic - not syncing: Attempted to kill init!'",
		wantErr:  "the guest stopped without a result line",
		wantTail: "Kernel panic",
	}, {
		name:     "emulator fails",
		script:   "echo 'qemu: could not load kernel' >&2\necho 'no console'\nexit 1",
		wantErr:  "exit status 1",
		wantTail: "no console",
	}}
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arch := fmt.Sprintf("fake%d", i)
			bin := filepath.Join(dir, arch)
			// The script records its arguments on stderr (the saved
			// console) before playing the guest.
			if err := os.WriteFile(bin, []byte("#!/bin/sh\necho \"args: $*\" >&2\n"+tt.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			qemus[arch] = qemu{bin, []string{"-M", "fake"}, "ttyFAKE0"}
			defer delete(qemus, arch)
			timeout := tt.timeout
			if timeout == 0 {
				timeout = time.Minute
			}
			k := Kernel{Arch: arch, Series: "6.1", Image: "/cache/vmlinuz"}
			b := BootKernel(context.Background(), k, "/out/initramfs.cpio", dir, timeout)
			if b.OK() != tt.wantOK {
				t.Errorf("OK() = %v, want %v (err %q)", b.OK(), tt.wantOK, b.Err)
			}
			if !strings.Contains(b.Err, tt.wantErr) || (tt.wantErr == "" && b.Err != "") {
				t.Errorf("err %q, want %q", b.Err, tt.wantErr)
			}
			if !strings.Contains(b.Err, tt.wantTail) {
				t.Errorf("err %q does not quote the console's %q", b.Err, tt.wantTail)
			}
			// A hung emulator is killed at the timeout, not waited for.
			if b.Wall <= 0 || b.Wall >= 30*time.Second {
				t.Errorf("wall %s", b.Wall)
			}
			console, err := os.ReadFile(b.Console)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"-M fake", "-kernel /cache/vmlinuz", "-initrd /out/initramfs.cpio", "console=ttyFAKE0", "preempt=full", "rdinit=/init"} {
				if !strings.Contains(string(console), want) {
					t.Errorf("console %q: the emulator was not given %q", console, want)
				}
			}
		})
	}
	if b := BootKernel(context.Background(), Kernel{Arch: "sparc"}, "", dir, time.Second); b.Err != "no qemu for sparc" {
		t.Errorf("unknown arch: %q", b.Err)
	}
}
