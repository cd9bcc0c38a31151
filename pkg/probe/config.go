package probe

import (
	"fmt"
	"os"
)

// Attach modes: how the syscall programs reach the kernel.
const (
	// AttachPerSyscall attaches the exit program to the
	// syscalls:sys_exit_NAME tracepoints of the selected syscalls only,
	// so the others run no BPF at all.
	AttachPerSyscall = "per-syscall"
	// AttachGeneric attaches the exit program to the sys_exit raw
	// tracepoint, where it checks the syscall map first on every
	// syscall: cheaper per recorded syscall, not free for the others.
	AttachGeneric = "generic"
)

// Config configures the probe.
type Config struct {
	// RingBufferSize is the size of the kernel ring buffer in bytes: a
	// power of two and a multiple of the page size.
	RingBufferSize int `yaml:"ring_buffer_size"`
	// QueueSize is how many records the queue between the ring buffer
	// reader and the consumer holds; when it is full, records are dropped
	// and counted. Its memory (64 KiB per 256 records) is allocated only as
	// a backlog builds up.
	QueueSize int `yaml:"queue_size"`
	// Attach is AttachPerSyscall or AttachGeneric.
	Attach string `yaml:"attach"`
}

// DefaultConfig returns the configuration the agent runs with unless told
// otherwise.
func DefaultConfig() Config {
	return Config{
		RingBufferSize: 16 << 20,
		QueueSize:      64 << 10,
		Attach:         AttachPerSyscall,
	}
}

// Validate reports the first invalid setting, naming its key.
func (c Config) Validate() error {
	page := os.Getpagesize()
	switch {
	case c.RingBufferSize < page || c.RingBufferSize&(c.RingBufferSize-1) != 0:
		return fmt.Errorf("ring_buffer_size: %d is not a power of two of at least the page size (%d)", c.RingBufferSize, page)
	case c.RingBufferSize > 1<<30:
		return fmt.Errorf("ring_buffer_size: %d is more than 1 GiB", c.RingBufferSize)
	case c.QueueSize < 1 || c.QueueSize > 1<<20:
		return fmt.Errorf("queue_size: %d is not between 1 and %d", c.QueueSize, 1<<20)
	case c.Attach != AttachPerSyscall && c.Attach != AttachGeneric:
		return fmt.Errorf("attach: %q is neither %q nor %q", c.Attach, AttachPerSyscall, AttachGeneric)
	}
	return nil
}
