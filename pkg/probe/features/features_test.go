package features

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/vigilsec/vigil/pkg/testutil"
)

func TestReportErr(t *testing.T) {
	tests := []struct {
		name string
		r    Report
		want string
	}{{
		name: "nothing missing",
		r:    Report{Release: "6.1.0", Features: []Feature{{Name: "btf", OK: true}}},
	}, {
		name: "missing with release and detail",
		r: Report{Release: "5.4.0", Features: []Feature{
			{Name: "btf", OK: true},
			{Name: "ringbuf", Since: "5.8", Detail: "map type not supported"},
			{Name: "tracepoint:bpf_loop"},
		}},
		want: "kernel 5.4.0 lacks ringbuf (Linux 5.8+): map type not supported; tracepoint:bpf_loop",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Err()
			if (err == nil) != (tt.want == "") || (err != nil && err.Error() != tt.want) {
				t.Errorf("Err() = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestDetect probes this machine's kernel with the probe's own object: the
// host runs the probe, so nothing it needs may be missing.
func TestDetect(t *testing.T) {
	testutil.RequireRoot(t)
	obj := map[string]string{"amd64": "vigil_x86_bpfel.o", "arm64": "vigil_arm64_bpfel.o"}[runtime.GOARCH]
	if obj == "" {
		t.Skipf("no probe object for %s", runtime.GOARCH)
	}
	spec, err := ebpf.LoadCollectionSpec("../../../pkg/probe/" + obj)
	if err != nil {
		t.Fatal(err)
	}
	r := Detect(spec)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range r.Features {
		names[f.Name] = true
	}
	for _, want := range []string{"btf", "ringbuf", "tp_btf", "bounded_loops", "map:RingBuf"} {
		if !names[want] {
			t.Errorf("feature %q not probed; got %v", want, r.Features)
		}
	}
	// Every helper the programs call is listed, per program type.
	for _, prefix := range []string{"tracepoint:bpf_", "tracing:bpf_"} {
		n := 0
		for name := range names {
			if strings.HasPrefix(name, prefix) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no %s* helper probed: %v", prefix, r.Features)
		}
	}
	if r.Release == "" || strings.Contains(r.Release, "\x00") {
		t.Errorf("release %q", r.Release)
	}
}

// TestTracingHelper checks the tp_btf helper probe both ways: a helper every
// kernel with tp_btf has, and a helper number no kernel has.
func TestTracingHelper(t *testing.T) {
	testutil.RequireRoot(t)
	if err := haveTPBTF(); err != nil {
		testutil.Unavailable(t, "no tp_btf: "+err.Error())
	}
	if err := haveTracingHelper(asm.FnGetCurrentPidTgid); err != nil {
		t.Errorf("bpf_get_current_pid_tgid: %v", err)
	}
	if err := haveTracingHelper(asm.BuiltinFunc(100000)); !errors.Is(err, ebpf.ErrNotSupported) {
		t.Errorf("helper 100000: %v, want ErrNotSupported", err)
	}
}

// TestKernelBTF checks the kernel BTF probe on a missing file, a file that
// is not BTF, and the kernel's own.
func TestKernelBTF(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "vmlinux")
	if err := os.WriteFile(garbage, []byte("not BTF"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want []string // substrings of the error; none: no error
	}{
		{"missing", filepath.Join(dir, "missing"), []string{"no kernel BTF at " + filepath.Join(dir, "missing"), "CONFIG_DEBUG_INFO_BTF", "tp_btf"}},
		{"not BTF", garbage, []string{"kernel BTF at " + garbage + " unreadable"}},
		{"the kernel's", KernelBTFPath, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil {
				if _, err := os.Stat(tt.path); err != nil {
					testutil.Unavailable(t, "this kernel has no BTF: "+err.Error())
				}
			}
			err := kernelBTF(tt.path)
			if (err == nil) != (tt.want == nil) {
				t.Fatalf("kernelBTF(%s) = %v, want error %v", tt.path, err, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("kernelBTF(%s) = %q, want it to contain %q", tt.path, err, w)
				}
			}
		})
	}
}

// TestDetectWithoutBTF runs Detect as on a kernel without
// /sys/kernel/btf/vmlinux: the refusal names the missing file and why.
func TestDetectWithoutBTF(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "vmlinux")
	defer func(p string) { kernelBTFPath = p }(kernelBTFPath)
	kernelBTFPath = missing
	r := Detect(nil)
	var btfMissing bool
	for _, f := range r.Missing() {
		btfMissing = btfMissing || f.Name == "btf"
	}
	if !btfMissing {
		t.Fatalf("btf not missing: %+v", r.Features)
	}
	err := r.Err()
	if err == nil {
		t.Fatal("Err() = nil")
	}
	want := "lacks btf (Linux 5.4+): no kernel BTF at " + missing + ": the kernel was built without CONFIG_DEBUG_INFO_BTF"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Err() = %q, want it to contain %q", err, want)
	}
}
