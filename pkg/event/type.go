package event

// Type is an architecture-independent event type. Its name is the one rule
// authors write in `evt.type` checks (Falco's names), so one rules file serves
// every architecture; the per-architecture syscall numbers map onto it.
type Type uint16

// Event types. TypeUnknown is never emitted. The order is stable only within
// one build: capture files store names, not these numbers.
const (
	TypeUnknown Type = iota
	TypeExecve
	TypeExecveat
	TypeFork
	TypeVfork
	TypeClone
	TypeClone3
	TypeProcExit
	TypeOpen
	TypeOpenat
	TypeOpenat2
	TypeCreat
	TypeClose
	TypeDup
	TypeDup2
	TypeDup3
	TypeSocket
	TypeConnect
	TypeAccept
	TypeAccept4
	TypeBind
	TypeListen
	TypeSendto
	TypeSendmsg
	TypeSymlink
	TypeSymlinkat
	TypeLink
	TypeLinkat
	TypeUnlink
	TypeUnlinkat
	TypeRename
	TypeRenameat
	TypeRenameat2
	TypeMkdir
	TypeMkdirat
	TypeRmdir
	TypeChmod
	TypeFchmod
	TypeFchmodat
	TypeChown
	TypeFchown
	TypeLchown
	TypeFchownat
	TypeSetuid
	TypeSetgid
	TypeSetresuid
	TypeSetresgid
	TypePtrace
	TypeInitModule
	TypeFinitModule
	TypeMemfdCreate
	TypeMount
	TypeUmount2
	TypeBpf
	TypeSetns
	TypeUnshare
	TypeChdir
	TypeFchdir
	// NumTypes is one past the last valid Type; tables indexed by Type use it.
	NumTypes
)

var typeNames = [NumTypes]string{
	TypeUnknown:     "unknown",
	TypeExecve:      "execve",
	TypeExecveat:    "execveat",
	TypeFork:        "fork",
	TypeVfork:       "vfork",
	TypeClone:       "clone",
	TypeClone3:      "clone3",
	TypeProcExit:    "procexit",
	TypeOpen:        "open",
	TypeOpenat:      "openat",
	TypeOpenat2:     "openat2",
	TypeCreat:       "creat",
	TypeClose:       "close",
	TypeDup:         "dup",
	TypeDup2:        "dup2",
	TypeDup3:        "dup3",
	TypeSocket:      "socket",
	TypeConnect:     "connect",
	TypeAccept:      "accept",
	TypeAccept4:     "accept4",
	TypeBind:        "bind",
	TypeListen:      "listen",
	TypeSendto:      "sendto",
	TypeSendmsg:     "sendmsg",
	TypeSymlink:     "symlink",
	TypeSymlinkat:   "symlinkat",
	TypeLink:        "link",
	TypeLinkat:      "linkat",
	TypeUnlink:      "unlink",
	TypeUnlinkat:    "unlinkat",
	TypeRename:      "rename",
	TypeRenameat:    "renameat",
	TypeRenameat2:   "renameat2",
	TypeMkdir:       "mkdir",
	TypeMkdirat:     "mkdirat",
	TypeRmdir:       "rmdir",
	TypeChmod:       "chmod",
	TypeFchmod:      "fchmod",
	TypeFchmodat:    "fchmodat",
	TypeChown:       "chown",
	TypeFchown:      "fchown",
	TypeLchown:      "lchown",
	TypeFchownat:    "fchownat",
	TypeSetuid:      "setuid",
	TypeSetgid:      "setgid",
	TypeSetresuid:   "setresuid",
	TypeSetresgid:   "setresgid",
	TypePtrace:      "ptrace",
	TypeInitModule:  "init_module",
	TypeFinitModule: "finit_module",
	TypeMemfdCreate: "memfd_create",
	TypeMount:       "mount",
	TypeUmount2:     "umount2",
	TypeBpf:         "bpf",
	TypeSetns:       "setns",
	TypeUnshare:     "unshare",
	TypeChdir:       "chdir",
	TypeFchdir:      "fchdir",
}

var typesByName = func() map[string]Type {
	m := make(map[string]Type, NumTypes)
	for t := Type(1); t < NumTypes; t++ {
		m[typeNames[t]] = t
	}
	return m
}()

// String returns the rule-facing name of t, such as "openat".
func (t Type) String() string {
	if t >= NumTypes {
		return "unknown"
	}
	return typeNames[t]
}

// TypeByName returns the Type whose rule-facing name is name.
func TypeByName(name string) (Type, bool) {
	t, ok := typesByName[name]
	return t, ok
}

// AllTypes returns every valid Type in order.
func AllTypes() []Type {
	out := make([]Type, 0, NumTypes-1)
	for t := Type(1); t < NumTypes; t++ {
		out = append(out, t)
	}
	return out
}
