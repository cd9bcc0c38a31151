// Package features detects, on the running kernel, the BPF features Vigil's
// probe depends on, and names the ones missing with the kernel release that
// introduced them. The kernel matrix runs it in every guest; the probe can
// use it to choose among variants or to refuse a kernel with a clear message.
package features

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"
)

// KernelBTFPath is where the kernel exposes its own BTF
// (CONFIG_DEBUG_INFO_BTF, Linux 5.4+).
const KernelBTFPath = "/sys/kernel/btf/vmlinux"

// kernelBTFPath is where Detect looks for the kernel's BTF: KernelBTFPath,
// but tests point it at a missing or corrupt file.
var kernelBTFPath = KernelBTFPath

// Feature is one detected feature.
type Feature struct {
	// Name identifies the feature ("btf", "ringbuf", "tp_btf", or a
	// helper for a program type, as "tracepoint:bpf_ringbuf_reserve").
	Name string `json:"name"`
	// Since is the first mainline release that has it, when known.
	Since string `json:"since,omitempty"`
	// OK reports that the kernel has it.
	OK bool `json:"ok"`
	// Detail is why it is missing, or how it was found.
	Detail string `json:"detail,omitempty"`
}

// Report is what Detect found.
type Report struct {
	// Release is the kernel release (uname -r).
	Release string `json:"release"`
	// Features lists every feature probed, in a stable order.
	Features []Feature `json:"features"`
}

// Missing returns the features the kernel lacks.
func (r Report) Missing() []Feature {
	var out []Feature
	for _, f := range r.Features {
		if !f.OK {
			out = append(out, f)
		}
	}
	return out
}

// Err returns nil when nothing is missing, or an error naming every missing
// feature and the release that introduced it.
func (r Report) Err() error {
	missing := r.Missing()
	if len(missing) == 0 {
		return nil
	}
	parts := make([]string, len(missing))
	for i, f := range missing {
		parts[i] = f.Name
		if f.Since != "" {
			parts[i] += " (Linux " + f.Since + "+)"
		}
		if f.Detail != "" {
			parts[i] += ": " + f.Detail
		}
	}
	return fmt.Errorf("kernel %s lacks %s", r.Release, strings.Join(parts, "; "))
}

// since records the first release of the features probed by name.
var since = map[string]string{
	"btf":           "5.4",
	"bounded_loops": "5.3",
	"ringbuf":       "5.8",
	"tp_btf":        "5.5",
	"tracepoint":    "4.7",
	// Helpers (by name, for any program type) and map types.
	"bpf_loop":                  "5.17",
	"bpf_task_storage_get":      "5.11",
	"bpf_get_current_task_btf":  "5.11",
	"bpf_task_pt_regs":          "5.15",
	"bpf_ktime_get_boot_ns":     "5.8",
	"bpf_ringbuf_output":        "5.8",
	"bpf_ringbuf_reserve":       "5.8",
	"bpf_ringbuf_submit":        "5.8",
	"bpf_ringbuf_query":         "5.8",
	"bpf_probe_read_user":       "5.5",
	"bpf_probe_read_kernel":     "5.5",
	"bpf_probe_read_user_str":   "5.5",
	"bpf_probe_read_kernel_str": "5.5",
	"bpf_get_current_cgroup_id": "4.18",
	"map:TaskStorage":           "5.11",
	"map:RingBuf":               "5.8",
}

// Detect probes the running kernel. When spec is not nil, every helper its
// programs call is probed too, for the program type that calls it.
func Detect(spec *ebpf.CollectionSpec) Report {
	r := Report{Release: Release()}
	add := func(name string, err error, detail string) {
		f := Feature{Name: name, Since: since[name], OK: err == nil, Detail: detail}
		if err != nil {
			f.Detail = err.Error()
		}
		r.Features = append(r.Features, f)
	}
	add("btf", kernelBTF(kernelBTFPath), kernelBTFPath)
	add("tracepoint", features.HaveProgramType(ebpf.TracePoint), "")
	add("ringbuf", features.HaveMapType(ebpf.RingBuf), "")
	add("tp_btf", haveTPBTF(), "")
	add("bounded_loops", features.HaveBoundedLoops(), "")
	if spec != nil {
		for _, mt := range mapTypes(spec) {
			name := "map:" + mt.String()
			err := features.HaveMapType(mt)
			f := Feature{Name: name, Since: since[name], OK: err == nil}
			if err != nil {
				f.Detail = err.Error()
			}
			r.Features = append(r.Features, f)
		}
		for _, h := range helpers(spec) {
			var err error
			if h.progType == ebpf.Tracing {
				err = haveTracingHelper(h.fn)
			} else {
				err = features.HaveProgramHelper(h.progType, h.fn)
			}
			if errors.Is(err, ebpf.ErrNotSupported) || err == nil {
				f := Feature{Name: h.name(), Since: since[h.helperName()], OK: err == nil}
				if err != nil {
					f.Detail = err.Error()
				}
				r.Features = append(r.Features, f)
				continue
			}
			// Probing is not possible for this program type (Tracing
			// needs an attach target): report it as unknown, not
			// missing; loading the program is the real test.
			r.Features = append(r.Features, Feature{Name: h.name(), Since: since[h.helperName()], OK: true, Detail: "not probed: " + err.Error()})
		}
	}
	return r
}

// Release returns the running kernel's release string.
func Release() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// kernelBTF checks that the kernel's BTF at path exists and parses. Only
// the kernel's own BTF will do: the probe's tp_btf programs are attached
// through it and bpf_get_current_task_btf returns a pointer typed by it, so
// an external BTF file (as for CO-RE relocations alone) cannot stand in.
func kernelBTF(path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no kernel BTF at %s: the kernel was built without CONFIG_DEBUG_INFO_BTF, "+
			"and Vigil's BTF tracepoints (tp_btf) and bpf_get_current_task_btf need the running kernel's own BTF", path)
	} else if err != nil {
		return fmt.Errorf("kernel BTF at %s: %w", path, err)
	}
	var err error
	if path == KernelBTFPath {
		_, err = btf.LoadKernelSpec() // parsed once per process, shared with the loader
	} else {
		_, err = btf.LoadSpec(path)
	}
	if err != nil {
		return fmt.Errorf("kernel BTF at %s unreadable: %w", path, err)
	}
	return nil
}

// haveTPBTF loads a minimal BTF-enabled tracepoint program
// (tp_btf/sched_process_exec): it needs BPF_PROG_TYPE_TRACING with
// BPF_TRACE_RAW_TP and the kernel's BTF. features.HaveProgramType(Tracing)
// probes with fentry instead, which some kernels refuse while they accept
// tp_btf.
func haveTPBTF() error {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:       ebpf.Tracing,
		AttachType: ebpf.AttachTraceRawTp,
		AttachTo:   "sched_process_exec",
		License:    "GPL",
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, 0),
			asm.Return(),
		},
	})
	if err != nil {
		return err
	}
	return prog.Close()
}

// haveTracingHelper reports whether tp_btf programs may call fn, which
// features.HaveProgramHelper cannot probe for Tracing programs: it loads a
// tp_btf program that calls fn with no arguments. The verifier looks the
// helper up before it checks the arguments, so "unknown func" in its log
// means the kernel lacks the helper, and any other verdict that it has it.
func haveTracingHelper(fn asm.BuiltinFunc) error {
	prog, err := ebpf.NewProgramWithOptions(&ebpf.ProgramSpec{
		Type:       ebpf.Tracing,
		AttachType: ebpf.AttachTraceRawTp,
		AttachTo:   "sched_process_exec",
		License:    "GPL",
		Instructions: asm.Instructions{
			fn.Call(),
			asm.Mov.Imm(asm.R0, 0),
			asm.Return(),
		},
	}, ebpf.ProgramOptions{LogLevel: ebpf.LogLevelBranch})
	if err == nil {
		return prog.Close()
	}
	var ve *ebpf.VerifierError
	if !errors.As(err, &ve) {
		return fmt.Errorf("probe %s for tp_btf: %w", fn, err)
	}
	for _, line := range ve.Log {
		if strings.Contains(line, "unknown func") || strings.Contains(line, "invalid func") {
			return fmt.Errorf("%s for tp_btf programs: %w (%s)", fn, ebpf.ErrNotSupported, strings.TrimSpace(line))
		}
	}
	return nil
}

type helper struct {
	progType ebpf.ProgramType
	fn       asm.BuiltinFunc
}

// helperName is the helper's C name, e.g. "bpf_ringbuf_reserve".
func (h helper) helperName() string {
	return "bpf_" + strings.TrimPrefix(strings.ToLower(camelToSnake(h.fn.String())), "fn_")
}

// name is the helper for its program type, e.g.
// "tracepoint:bpf_ringbuf_reserve".
func (h helper) name() string {
	return strings.ToLower(h.progType.String()) + ":" + h.helperName()
}

// mapTypes lists the distinct map types of spec, sorted.
func mapTypes(spec *ebpf.CollectionSpec) []ebpf.MapType {
	var out []ebpf.MapType
	for _, m := range spec.Maps {
		if !slices.Contains(out, m.Type) {
			out = append(out, m.Type)
		}
	}
	slices.Sort(out)
	return out
}

// helpers lists the distinct (program type, helper) pairs that spec's
// programs call, sorted.
func helpers(spec *ebpf.CollectionSpec) []helper {
	seen := map[helper]bool{}
	for _, p := range spec.Programs {
		for _, ins := range p.Instructions {
			if ins.IsBuiltinCall() {
				seen[helper{p.Type, asm.BuiltinFunc(ins.Constant)}] = true
			}
		}
	}
	out := make([]helper, 0, len(seen))
	for h := range seen {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b helper) int {
		if a.progType != b.progType {
			return int(a.progType) - int(b.progType)
		}
		return int(a.fn) - int(b.fn)
	})
	return out
}

// camelToSnake turns "FnRingbufReserve" into "Fn_Ringbuf_Reserve".
func camelToSnake(s string) string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 && c >= 'A' && c <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(c)
	}
	return b.String()
}
