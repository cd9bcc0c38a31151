package event

import (
	"fmt"
	"runtime"
)

// MaxSyscall bounds the syscall ids the probe records: ids at or above it
// are ignored (the kernel map is this size).
const MaxSyscall = 512

// syscallEntry maps one raw syscall number to its event type.
type syscallEntry struct {
	t  Type
	nr int32
}

// SyscallTable maps the raw syscall numbers of one architecture to event
// types and back. Syscalls that an architecture lacks (arm64 has no open or
// fork) have no number there.
type SyscallTable struct {
	arch   string
	byNr   [MaxSyscall]Type
	byType [NumTypes]int32
}

// tracepointNames holds the syscalls whose syscalls:sys_enter_* tracepoint
// is named after the kernel's entry point rather than the syscall.
var tracepointNames = map[Type]string{
	TypeUmount2: "umount",
}

var syscallTables = map[string]*SyscallTable{
	"amd64": newSyscallTable("amd64", amd64Syscalls),
	"arm64": newSyscallTable("arm64", arm64Syscalls),
}

func newSyscallTable(arch string, entries []syscallEntry) *SyscallTable {
	t := &SyscallTable{arch: arch}
	for i := range t.byType {
		t.byType[i] = -1
	}
	for _, e := range entries {
		t.byNr[e.nr] = e.t
		t.byType[e.t] = e.nr
	}
	return t
}

// SyscallTableFor returns the table of arch ("amd64" or "arm64").
func SyscallTableFor(arch string) (*SyscallTable, error) {
	t, ok := syscallTables[arch]
	if !ok {
		return nil, fmt.Errorf("no syscall table for architecture %q", arch)
	}
	return t, nil
}

// NativeSyscallTable returns the table of the architecture this binary runs
// on, or nil when it has none.
func NativeSyscallTable() *SyscallTable {
	return syscallTables[runtime.GOARCH]
}

// Arch returns the table's architecture name.
func (s *SyscallTable) Arch() string { return s.arch }

// Type returns the event type of syscall nr, TypeUnknown when it is not one
// Vigil records.
func (s *SyscallTable) Type(nr int32) Type {
	if nr < 0 || nr >= MaxSyscall {
		return TypeUnknown
	}
	return s.byNr[nr]
}

// Nr returns the syscall number of t, false when t is not a syscall on this
// architecture.
func (s *SyscallTable) Nr(t Type) (int32, bool) {
	if t >= NumTypes {
		return -1, false
	}
	nr := s.byType[t]
	return nr, nr >= 0
}

// Tracepoint returns the name of t's syscalls:sys_enter_* tracepoint without
// the prefix ("openat", "umount" for umount2).
func Tracepoint(t Type) string {
	if n, ok := tracepointNames[t]; ok {
		return n
	}
	return t.String()
}
