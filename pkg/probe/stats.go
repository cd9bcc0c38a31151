package probe

// Stats are the probe's counters since Open.
type Stats struct {
	// Records is how many records were read from the ring buffer.
	Records uint64
	// KernelDrops is how many records the kernel could not write to the
	// ring buffer (it was full), summed over CPUs.
	KernelDrops uint64
	// InflightDrops is how many syscalls were not recorded because the
	// kernel's map of syscalls in flight was full.
	InflightDrops uint64
	// ScratchDrops is how many records were not built because every
	// scratch buffer of the CPU was held by a preempted program.
	ScratchDrops uint64
	// QueueDrops is how many records were read but dropped because the
	// queue to the consumer was full.
	QueueDrops uint64
	// Prefiltered is how many records the kernel's prefilter kept from
	// user space (not drops: no rule could match them).
	Prefiltered uint64
}

// Lost is how many records the kernel lost, whatever the reason.
func (s Stats) Lost() uint64 { return s.KernelDrops + s.InflightDrops + s.ScratchDrops }

// Drop counter indexes in the kernel's per-CPU drops map (enum drop_reason).
const (
	dropRingbuf  = 0
	dropInflight = 1
	dropScratch  = 2
)

// scratchSlots is the kernel's SCRATCH_SLOTS: scratch buffers per CPU.
const scratchSlots = 2

// Stats returns the current counters. A kernel counter that cannot be read
// reads as 0.
func (p *Probe) Stats() Stats {
	return Stats{
		Records:       p.records.Load(),
		KernelDrops:   p.kernelDrops(dropRingbuf),
		InflightDrops: p.kernelDrops(dropInflight),
		ScratchDrops:  p.kernelDrops(dropScratch),
		QueueDrops:    p.queueDrops.Load(),
		Prefiltered:   p.PrefilterDropped(),
	}
}

func (p *Probe) kernelDrops(reason uint32) uint64 {
	var perCPU []uint64
	if err := p.objs.Drops.Lookup(reason, &perCPU); err != nil {
		return 0
	}
	var sum uint64
	for _, n := range perCPU {
		sum += n
	}
	return sum
}
