package probe

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"go.uber.org/zap"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/probe/features"
)

// Probe is the loaded and attached kernel probe.
type Probe struct {
	cfg    Config
	log    *zap.Logger
	table  *event.SyscallTable
	objs   vigilObjects
	links  []link.Link // lifecycle, exec enters, and the raw sys_exit in generic mode
	reader *ringbuf.Reader

	mu       sync.Mutex               // guards types and sysLinks
	types    map[event.Type]bool      // recorded syscall types
	sysLinks map[event.Type]link.Link // per-syscall mode: the sys_exit links
	running  atomic.Bool

	records    atomic.Uint64
	queueDrops atomic.Uint64

	pf prefilterState // guarded by mu
}

// lifecycleTypes are always recorded: the process table depends on them.
var lifecycleTypes = []event.Type{
	event.TypeExecve, event.TypeExecveat,
	event.TypeFork, event.TypeVfork, event.TypeClone, event.TypeClone3,
}

// MinKernel is the oldest kernel release the probe runs on: task-local
// storage (5.11), bpf_task_pt_regs (5.15), bpf_loop (5.17), the ring
// buffer (5.8), BTF tracepoints.
const MinKernel = "5.17"

// Open loads the probe for this machine's architecture and attaches the
// process-lifecycle programs. No syscall is recorded until SetEventTypes;
// the lifecycle syscalls (exec, fork, clone) always are.
func Open(cfg Config, log *zap.Logger) (*Probe, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	table := event.NativeSyscallTable()
	if table == nil {
		return nil, errors.New("probe: no syscall table for this architecture")
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		// Kernels since 5.11 charge BPF memory to the cgroup instead.
		log.Debug("could not raise RLIMIT_MEMLOCK", zap.Error(err))
	}
	if err := ensureTracefs(); err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	spec, err := loadVigil()
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	spec.Maps[vigilMapEvents].MaxEntries = uint32(cfg.RingBufferSize)
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	spec.Maps[vigilMapScratch].MaxEntries = uint32(cpus * scratchSlots)
	if err := spec.Variables[vigilVarSelfTgid].Set(uint32(os.Getpid())); err != nil {
		return nil, fmt.Errorf("probe: set self pid: %w", err)
	}
	if err := spec.Variables[vigilVarWakeupBytes].Set(wakeupBytes(cfg.RingBufferSize)); err != nil {
		return nil, fmt.Errorf("probe: set wakeup threshold: %w", err)
	}
	// One exit program attaches, that of the configured mode; the other
	// is loaded as an empty program, which costs the verifier nothing.
	unused := "sys_exit_raw"
	if cfg.Attach == AttachGeneric {
		unused = "sys_exit"
	}
	spec.Programs[unused].Instructions = asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}
	// An old kernel or one without BTF fails in many ways at load; name
	// what it lacks instead.
	if err := features.Detect(spec).Err(); err != nil {
		return nil, fmt.Errorf("probe: this kernel cannot run Vigil (it needs Linux %s or newer with BTF): %w", MinKernel, err)
	}
	p := &Probe{
		cfg:      cfg,
		log:      log,
		table:    table,
		types:    map[event.Type]bool{},
		sysLinks: map[event.Type]link.Link{},
	}
	if err := spec.LoadAndAssign(&p.objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			log.Error("verifier rejected the probe", zap.String("log", fmt.Sprintf("%+v", ve)))
		}
		return nil, fmt.Errorf("probe: load: %w", err)
	}
	if err := p.attach(); err != nil {
		p.Close()
		return nil, err
	}
	if err := p.SetEventTypes(nil); err != nil {
		p.Close()
		return nil, err
	}
	if err := p.SetPrefilter(nil); err != nil {
		p.Close()
		return nil, err
	}
	p.reader, err = ringbuf.NewReader(p.objs.Events)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("probe: ring buffer reader: %w", err)
	}
	return p, nil
}

// wakeupBytes is how much data waits in the ring buffer before the kernel
// wakes the reader: 1/16 of the ring, between 4 KiB and 1 MiB. Below it
// the reader polls every pollInterval.
func wakeupBytes(ringSize int) uint64 {
	return uint64(min(max(ringSize/16, 4<<10), 1<<20))
}

// attach attaches the lifecycle programs, the exec enter programs (an exec
// is always recorded), and in generic mode the raw sys_exit program.
func (p *Probe) attach() error {
	progs := []*ebpf.Program{p.objs.SchedFork, p.objs.SchedExec, p.objs.SchedExit}
	if p.cfg.Attach == AttachGeneric {
		progs = append(progs, p.objs.SysExitRaw)
	}
	for _, prog := range progs {
		l, err := link.AttachTracing(link.TracingOptions{Program: prog})
		if err != nil {
			return fmt.Errorf("probe: attach %s: %w", prog, err)
		}
		p.links = append(p.links, l)
	}
	for _, tp := range []struct {
		name string
		prog *ebpf.Program
	}{{"sys_enter_execve", p.objs.SysEnterExecve}, {"sys_enter_execveat", p.objs.SysEnterExecveat}} {
		l, err := link.Tracepoint("syscalls", tp.name, tp.prog, nil)
		if err != nil {
			return fmt.Errorf("probe: attach syscalls:%s: %w", tp.name, err)
		}
		p.links = append(p.links, l)
	}
	return nil
}

// Close detaches and unloads everything. It is safe to call once Run has
// returned.
func (p *Probe) Close() error {
	var errs []error
	if p.reader != nil {
		errs = append(errs, p.reader.Close())
	}
	p.mu.Lock()
	links := p.links
	for t, l := range p.sysLinks {
		links = append(links, l)
		delete(p.sysLinks, t)
	}
	p.mu.Unlock()
	errs = append(errs, closeLinks(links))
	p.links = nil
	errs = append(errs, p.objs.Close())
	return errors.Join(errs...)
}

// SyscallTable returns the table of the architecture the probe runs on, for
// decoding its records.
func (p *Probe) SyscallTable() *event.SyscallTable { return p.table }
