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
	add("btf", kernelBTF(), KernelBTFPath)
	add("tracepoint", features.HaveProgramType(ebpf.TracePoint), "")
	add("ringbuf", features.HaveMapType(ebpf.RingBuf), "")
	add("tp_btf", haveTPBTF(), "")
	add("bounded_loops", features.HaveBoundedLoops(), "")
	if spec != nil {
		for _, h := range helpers(spec) {
			err := features.HaveProgramHelper(h.progType, h.fn)
			if errors.Is(err, ebpf.ErrNotSupported) || err == nil {
				add(h.name(), err, "")
				continue
			}
			// Probing is not possible for this program type (Tracing
			// needs an attach target): report it as unknown, not
			// missing; loading the program is the real test.
			r.Features = append(r.Features, Feature{Name: h.name(), OK: true, Detail: "not probed: " + err.Error()})
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

func kernelBTF() error {
	if _, err := os.Stat(KernelBTFPath); err != nil {
		return fmt.Errorf("no kernel BTF (%w): the kernel was built without CONFIG_DEBUG_INFO_BTF", err)
	}
	if _, err := btf.LoadKernelSpec(); err != nil {
		return fmt.Errorf("kernel BTF unreadable: %w", err)
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

type helper struct {
	progType ebpf.ProgramType
	fn       asm.BuiltinFunc
}

func (h helper) name() string {
	fn := strings.TrimPrefix(strings.ToLower(camelToSnake(h.fn.String())), "fn_")
	return strings.ToLower(h.progType.String()) + ":bpf_" + fn
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
