package probe

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/cilium/ebpf/link"
	"go.uber.org/zap"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/prefilter"
)

// SetEventTypes sets the syscalls the kernel records to types plus the
// lifecycle syscalls (exec, fork, clone), which are always recorded.
// Process exits are always recorded too. Types that are not syscalls on this
// architecture are ignored. It may be called again at any time (hot reload):
// the kernel map is updated in place, and in per-syscall mode only the
// tracepoints that changed are attached or detached.
func (p *Probe) SetEventTypes(types []event.Type) error {
	want := map[event.Type]bool{}
	for _, t := range slices.Concat(types, lifecycleTypes) {
		if _, ok := p.table.Nr(t); ok {
			want[t] = true
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()

	// Enable first, then attach; detach first, then disable: a record is
	// never emitted for a syscall whose spec is off.
	for t := range want {
		if err := p.writeSpec(t, true); err != nil {
			return err
		}
	}
	var errs []error
	if p.cfg.Attach == AttachPerSyscall {
		for t := range want {
			if _, ok := p.sysLinks[t]; !ok {
				err := p.attachSyscall(t)
				switch {
				case errors.Is(err, os.ErrNotExist):
					// Compiled out of this kernel (no modules, no
					// ...): the call can only fail with ENOSYS.
					p.log.Info("syscall has no tracepoint on this kernel; not recorded",
						zap.Stringer("syscall", t))
				case err != nil:
					errs = append(errs, err)
				}
			}
		}
		var drop []link.Link
		for t, l := range p.sysLinks {
			if !want[t] {
				drop = append(drop, l)
				delete(p.sysLinks, t)
			}
		}
		errs = append(errs, closeLinks(drop))
	}
	for t := range p.types {
		if !want[t] {
			errs = append(errs, p.writeSpec(t, false))
		}
	}
	p.types = want
	return errors.Join(errs...)
}

// EventTypes returns the syscall types the kernel records, sorted.
func (p *Probe) EventTypes() []event.Type {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]event.Type, 0, len(p.types))
	for t := range p.types {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

func (p *Probe) writeSpec(t event.Type, enabled bool) error {
	nr, _ := p.table.Nr(t)
	a := event.CaptureSpec(t)
	spec := vigilSyscallSpec{
		Nargs:      a.NArgs,
		StrMask:    a.StrMask,
		SaArg:      a.SockaddrArg,
		SaLenMode:  a.SockaddrLenMode,
		SaLenArg:   a.SockaddrLenArg,
		StructArg:  a.StructArg,
		StructSize: a.StructSize,
		LocalFd:    a.LocalFd,
	}
	if a.RetFdDir {
		spec.RetFdDir = 1
	}
	if a.SockaddrPeer {
		spec.SaPeer = 1
	}
	switch t {
	case event.TypeExecve, event.TypeExecveat:
		spec.Takeover = takeoverExec
	case event.TypeFork, event.TypeVfork, event.TypeClone, event.TypeClone3:
		spec.Takeover = takeoverFork
	}
	// The kernel's FD_TRACK_* bits are prefilter's FDEffect values.
	spec.FdTrack = uint8(prefilter.FDEffectOf(t))
	if enabled {
		spec.Enabled = 1
	}
	if err := p.objs.SyscallSpecs.Put(uint32(nr), spec); err != nil {
		return fmt.Errorf("probe: set syscall %s (%d): %w", t, nr, err)
	}
	return nil
}

// Values of syscall_spec.takeover: which lifecycle program records a
// successful call instead of its sys_exit.
const (
	takeoverExec = 1
	takeoverFork = 2
)

// attachSyscall attaches the exit program to t's sys_exit tracepoint: the
// arguments are read from the registers at exit, so there is no enter.
func (p *Probe) attachSyscall(t event.Type) error {
	name := event.Tracepoint(t)
	l, err := link.Tracepoint("syscalls", "sys_exit_"+name, p.objs.SysExit, nil)
	if err != nil {
		return fmt.Errorf("probe: attach syscalls:sys_exit_%s: %w", name, err)
	}
	p.sysLinks[t] = l
	return nil
}

// closeLinks closes links concurrently: detaching a syscall tracepoint waits
// for an RCU grace period, and concurrent detaches share them.
func closeLinks(links []link.Link) error {
	errs := make([]error, len(links))
	var wg sync.WaitGroup
	for i, l := range links {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.Close()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
