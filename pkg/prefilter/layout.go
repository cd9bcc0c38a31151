package prefilter

import "github.com/vigilsec/vigil/pkg/event"

// FlagsSource says where the kernel finds an event type's open flags.
type FlagsSource uint8

// Sources of open flags.
const (
	FlagsNone   FlagsSource = iota
	FlagsArg                // a raw syscall argument (Layout.FlagsArg)
	FlagsStruct             // the first u64 of the copied struct (openat2's open_how)
)

// None marks an absent argument in a Layout.
const None = -1

// Layout is where the kernel finds, in the record of an event type, what
// the prefilter checks; it mirrors how pkg/event decodes the record.
type Layout struct {
	// PathStr is the string argument holding Args.Path and Args.Path2.
	PathStr [2]int
	// Flags and FlagsArg locate the open flags.
	Flags    FlagsSource
	FlagsArg int
	// RequestArg is the raw argument holding the ptrace request.
	RequestArg int
	// Open reports the open family: opens that return a directory or
	// carry PassFlags always pass.
	Open bool
}

// PassFlags are the open flags whose opens always pass.
const PassFlags = passAlways

// LayoutOf returns the layout of event type t.
func LayoutOf(t event.Type) Layout {
	l := Layout{PathStr: [2]int{None, None}, FlagsArg: None, RequestArg: None, Open: isOpen(t)}
	paths := func(a, b int) { l.PathStr = [2]int{a, b} }
	switch t {
	case event.TypeOpen:
		paths(0, None)
		l.Flags, l.FlagsArg = FlagsArg, 1
	case event.TypeOpenat:
		paths(1, None)
		l.Flags, l.FlagsArg = FlagsArg, 2
	case event.TypeOpenat2:
		paths(1, None)
		l.Flags = FlagsStruct
	case event.TypeCreat, event.TypeUnlink, event.TypeMkdir, event.TypeRmdir, event.TypeChmod,
		event.TypeChown, event.TypeLchown, event.TypeUmount2:
		paths(0, None)
	case event.TypeUnlinkat, event.TypeMkdirat, event.TypeFchmodat, event.TypeFchownat, event.TypeFinitModule:
		paths(1, None)
	case event.TypeInitModule:
		paths(2, None)
	case event.TypeSymlink, event.TypeLink, event.TypeRename:
		paths(0, 1)
	case event.TypeSymlinkat:
		paths(0, 2)
	case event.TypeLinkat, event.TypeRenameat, event.TypeRenameat2:
		paths(1, 3)
	case event.TypeMount:
		paths(1, 0)
	case event.TypePtrace:
		l.RequestArg = 0
	}
	return l
}
