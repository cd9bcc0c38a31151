package event

import "encoding/binary"

// ArgSpec tells the kernel probe what to capture for one syscall besides
// its raw arguments. The probe copies it into its per-syscall map; the
// decoder reads the parts it produces.
type ArgSpec struct {
	// NArgs is the number of arguments; the others are recorded as 0.
	NArgs uint8
	// StrMask has bit i set when argument i points to a string to copy.
	StrMask uint8
	// SockaddrArg is 1 + the index of a sockaddr argument, 0 when none.
	SockaddrArg uint8
	// SockaddrLenMode says how its length is found (SockaddrLen*).
	SockaddrLenMode uint8
	// SockaddrLenArg is the index of the argument giving the length.
	SockaddrLenArg uint8
	// StructArg is 1 + the index of an argument pointing to a struct whose
	// first StructSize bytes are copied, 0 when none.
	StructArg uint8
	// StructSize is how many bytes of that struct to copy (at most 64).
	StructSize uint8
	// LocalFd says whose socket's own address to capture into
	// Args.LocalAddr (LocalFd*).
	LocalFd uint8
	// SockaddrPeer asks the probe, when the sockaddr argument cannot be
	// read, to capture the peer address of LocalFd's socket in its place.
	SockaddrPeer bool
	// RetFdDir asks the probe to flag a returned descriptor that is a
	// directory (Args.OpenedDir).
	RetFdDir bool
}

// Which socket's own address is captured.
const (
	// LocalFdNone: none.
	LocalFdNone = 0
	// LocalFdArg0: the socket is argument 0 (connect, sendto, sendmsg).
	LocalFdArg0 = 1
	// LocalFdRet: the socket is the return value (accept, accept4).
	LocalFdRet = 2
)

// How the length of a captured sockaddr is found.
const (
	// SockaddrLenValue: the length argument is the length (connect, bind).
	SockaddrLenValue = 0
	// SockaddrLenPtr: the length argument points to an int (accept).
	SockaddrLenPtr = 1
	// SockaddrLenMsghdr: the sockaddr argument is a msghdr (sendmsg).
	SockaddrLenMsghdr = 2
)

// atFdcwd is AT_FDCWD: paths of the non-*at calls are relative to the cwd.
const atFdcwd = -100

// Open flags that creat implies.
const creatFlags = 0o1 | 0o100 | 0o1000 // O_WRONLY|O_CREAT|O_TRUNC

// rawArgs is what a record holds for the arguments of one syscall.
type rawArgs struct {
	args     [6]uint64
	strs     [6][]byte
	hasStr   uint8
	sockaddr []byte
	local    []byte
	structB  []byte
	ret      int64
}

func (r *rawArgs) i32(i int) int32  { return int32(r.args[i]) }
func (r *rawArgs) u32(i int) uint32 { return uint32(r.args[i]) }

func (r *rawArgs) str(i int) string {
	if r.hasStr&(1<<i) == 0 {
		return ""
	}
	return string(r.strs[i])
}

// argLayout is how one event type's arguments are captured and decoded.
type argLayout struct {
	spec ArgSpec
	fill func(a *Args, r *rawArgs)
}

// CaptureSpec returns what the probe must capture for t.
func CaptureSpec(t Type) ArgSpec {
	if t >= NumTypes {
		return ArgSpec{}
	}
	return argLayouts[t].spec
}

func str(i uint8) uint8 { return 1 << i }

func fillPathAt(dirfd, path int) func(a *Args, r *rawArgs) {
	return func(a *Args, r *rawArgs) {
		a.DirFd = atFdcwd
		if dirfd >= 0 {
			a.DirFd = r.i32(dirfd)
		}
		a.Path = r.str(path)
	}
}

func fillFd(a *Args, r *rawArgs) { a.Fd = r.i32(0) }

func fillSockaddr(a *Args, r *rawArgs) {
	a.Fd = r.i32(0)
	a.Addr = decodeSockaddr(r.sockaddr)
	a.LocalAddr = decodeSockaddr(r.local)
}

func fillChown(path int, dirfd int) func(a *Args, r *rawArgs) {
	return func(a *Args, r *rawArgs) {
		fillPathAt(dirfd, path)(a, r)
		a.IDs[0], a.IDs[1] = r.u32(path+1), r.u32(path+2)
	}
}

func fillFork(a *Args, r *rawArgs) {
	if r.ret > 0 {
		a.TargetPid = int32(r.ret)
	}
}

var argLayouts = [NumTypes]argLayout{
	TypeExecve:   {ArgSpec{NArgs: 3, StrMask: str(0)}, fillPathAt(-1, 0)},
	TypeExecveat: {ArgSpec{NArgs: 5, StrMask: str(1)}, func(a *Args, r *rawArgs) { fillPathAt(0, 1)(a, r); a.Flags = r.args[4] }},
	TypeFork:     {ArgSpec{}, fillFork},
	TypeVfork:    {ArgSpec{}, fillFork},
	TypeClone: {ArgSpec{NArgs: 5}, func(a *Args, r *rawArgs) {
		fillFork(a, r)
		a.Flags = r.args[0] & 0xffffffff
	}},
	TypeClone3: {ArgSpec{NArgs: 2, StructArg: 1, StructSize: 8}, func(a *Args, r *rawArgs) {
		fillFork(a, r)
		if len(r.structB) >= 8 {
			a.Flags = binary.LittleEndian.Uint64(r.structB) & 0xffffffff
		}
	}},
	TypeOpen: {ArgSpec{NArgs: 3, StrMask: str(0), RetFdDir: true}, func(a *Args, r *rawArgs) {
		fillPathAt(-1, 0)(a, r)
		a.Flags, a.Mode = r.args[1], r.u32(2)
	}},
	TypeOpenat: {ArgSpec{NArgs: 4, StrMask: str(1), RetFdDir: true}, func(a *Args, r *rawArgs) {
		fillPathAt(0, 1)(a, r)
		a.Flags, a.Mode = r.args[2], r.u32(3)
	}},
	TypeOpenat2: {ArgSpec{NArgs: 4, StrMask: str(1), StructArg: 3, StructSize: 16, RetFdDir: true}, func(a *Args, r *rawArgs) {
		fillPathAt(0, 1)(a, r)
		if len(r.structB) >= 16 { // struct open_how: flags, mode, resolve
			a.Flags = binary.LittleEndian.Uint64(r.structB)
			a.Mode = uint32(binary.LittleEndian.Uint64(r.structB[8:]))
		}
	}},
	TypeCreat: {ArgSpec{NArgs: 2, StrMask: str(0), RetFdDir: true}, func(a *Args, r *rawArgs) {
		fillPathAt(-1, 0)(a, r)
		a.Flags, a.Mode = creatFlags, r.u32(1)
	}},
	TypeClose: {ArgSpec{NArgs: 1}, fillFd},
	TypeDup:   {ArgSpec{NArgs: 1}, fillFd},
	TypeDup2:  {ArgSpec{NArgs: 2}, func(a *Args, r *rawArgs) { a.Fd, a.Fd2 = r.i32(0), r.i32(1) }},
	TypeDup3: {ArgSpec{NArgs: 3}, func(a *Args, r *rawArgs) {
		a.Fd, a.Fd2, a.Flags = r.i32(0), r.i32(1), r.args[2]
	}},
	TypeSocket: {ArgSpec{NArgs: 3}, func(a *Args, r *rawArgs) {
		a.Domain, a.SockType, a.Protocol = r.i32(0), r.i32(1), r.i32(2)
	}},
	TypeConnect: {ArgSpec{NArgs: 3, SockaddrArg: 2, SockaddrLenArg: 2, LocalFd: LocalFdArg0, SockaddrPeer: true}, fillSockaddr},
	TypeBind:    {ArgSpec{NArgs: 3, SockaddrArg: 2, SockaddrLenArg: 2}, fillSockaddr},
	TypeAccept:  {ArgSpec{NArgs: 3, SockaddrArg: 2, SockaddrLenMode: SockaddrLenPtr, SockaddrLenArg: 2, LocalFd: LocalFdRet, SockaddrPeer: true}, fillSockaddr},
	TypeAccept4: {ArgSpec{NArgs: 4, SockaddrArg: 2, SockaddrLenMode: SockaddrLenPtr, SockaddrLenArg: 2, LocalFd: LocalFdRet, SockaddrPeer: true}, func(a *Args, r *rawArgs) {
		fillSockaddr(a, r)
		a.Flags = r.args[3]
	}},
	TypeListen: {ArgSpec{NArgs: 2}, func(a *Args, r *rawArgs) { a.Fd, a.Backlog = r.i32(0), r.i32(1) }},
	TypeSendto: {ArgSpec{NArgs: 6, SockaddrArg: 5, SockaddrLenArg: 5, LocalFd: LocalFdArg0}, func(a *Args, r *rawArgs) {
		fillSockaddr(a, r)
		a.Flags = r.args[3]
	}},
	TypeSendmsg: {ArgSpec{NArgs: 3, SockaddrArg: 2, SockaddrLenMode: SockaddrLenMsghdr, LocalFd: LocalFdArg0}, func(a *Args, r *rawArgs) {
		fillSockaddr(a, r)
		a.Flags = r.args[2]
	}},
	TypeSymlink: {ArgSpec{NArgs: 2, StrMask: str(0) | str(1)}, func(a *Args, r *rawArgs) {
		a.Path, a.Path2, a.DirFd, a.DirFd2 = r.str(0), r.str(1), atFdcwd, atFdcwd
	}},
	TypeSymlinkat: {ArgSpec{NArgs: 3, StrMask: str(0) | str(2)}, func(a *Args, r *rawArgs) {
		a.Path, a.Path2, a.DirFd, a.DirFd2 = r.str(0), r.str(2), atFdcwd, r.i32(1)
	}},
	TypeLink:   {ArgSpec{NArgs: 2, StrMask: str(0) | str(1)}, fillTwoPaths(-1, 0, -1, 1, -1)},
	TypeLinkat: {ArgSpec{NArgs: 5, StrMask: str(1) | str(3)}, fillTwoPaths(0, 1, 2, 3, 4)},
	TypeUnlink: {ArgSpec{NArgs: 1, StrMask: str(0)}, fillPathAt(-1, 0)},
	TypeUnlinkat: {ArgSpec{NArgs: 3, StrMask: str(1)}, func(a *Args, r *rawArgs) {
		fillPathAt(0, 1)(a, r)
		a.Flags = r.args[2]
	}},
	TypeRename:    {ArgSpec{NArgs: 2, StrMask: str(0) | str(1)}, fillTwoPaths(-1, 0, -1, 1, -1)},
	TypeRenameat:  {ArgSpec{NArgs: 4, StrMask: str(1) | str(3)}, fillTwoPaths(0, 1, 2, 3, -1)},
	TypeRenameat2: {ArgSpec{NArgs: 5, StrMask: str(1) | str(3)}, fillTwoPaths(0, 1, 2, 3, 4)},
	TypeMkdir: {ArgSpec{NArgs: 2, StrMask: str(0)}, func(a *Args, r *rawArgs) {
		fillPathAt(-1, 0)(a, r)
		a.Mode = r.u32(1)
	}},
	TypeMkdirat: {ArgSpec{NArgs: 3, StrMask: str(1)}, func(a *Args, r *rawArgs) {
		fillPathAt(0, 1)(a, r)
		a.Mode = r.u32(2)
	}},
	TypeRmdir: {ArgSpec{NArgs: 1, StrMask: str(0)}, fillPathAt(-1, 0)},
	TypeChmod: {ArgSpec{NArgs: 2, StrMask: str(0)}, func(a *Args, r *rawArgs) {
		fillPathAt(-1, 0)(a, r)
		a.Mode = r.u32(1)
	}},
	TypeFchmod: {ArgSpec{NArgs: 2}, func(a *Args, r *rawArgs) { a.Fd, a.Mode = r.i32(0), r.u32(1) }},
	TypeFchmodat: {ArgSpec{NArgs: 3, StrMask: str(1)}, func(a *Args, r *rawArgs) {
		fillPathAt(0, 1)(a, r)
		a.Mode = r.u32(2)
	}},
	TypeChown:  {ArgSpec{NArgs: 3, StrMask: str(0)}, fillChown(0, -1)},
	TypeLchown: {ArgSpec{NArgs: 3, StrMask: str(0)}, fillChown(0, -1)},
	TypeFchown: {ArgSpec{NArgs: 3}, func(a *Args, r *rawArgs) {
		a.Fd, a.IDs[0], a.IDs[1] = r.i32(0), r.u32(1), r.u32(2)
	}},
	TypeFchownat: {ArgSpec{NArgs: 5, StrMask: str(1)}, func(a *Args, r *rawArgs) {
		fillChown(1, 0)(a, r)
		a.Flags = r.args[4]
	}},
	TypeSetuid:    {ArgSpec{NArgs: 1}, fillIDs},
	TypeSetgid:    {ArgSpec{NArgs: 1}, fillIDs},
	TypeSetresuid: {ArgSpec{NArgs: 3}, fillIDs},
	TypeSetresgid: {ArgSpec{NArgs: 3}, fillIDs},
	TypePtrace: {ArgSpec{NArgs: 4}, func(a *Args, r *rawArgs) {
		a.Request, a.TargetPid = int64(r.args[0]), r.i32(1)
	}},
	TypeInitModule: {ArgSpec{NArgs: 3, StrMask: str(2)}, func(a *Args, r *rawArgs) { a.Path = r.str(2) }},
	TypeFinitModule: {ArgSpec{NArgs: 3, StrMask: str(1)}, func(a *Args, r *rawArgs) {
		a.Fd, a.Path, a.Flags = r.i32(0), r.str(1), r.args[2]
	}},
	TypeMemfdCreate: {ArgSpec{NArgs: 2, StrMask: str(0)}, func(a *Args, r *rawArgs) {
		a.Name, a.Flags = r.str(0), r.args[1]
	}},
	TypeMount: {ArgSpec{NArgs: 5, StrMask: str(0) | str(1) | str(2)}, func(a *Args, r *rawArgs) {
		a.Path, a.Path2, a.Name, a.Flags = r.str(1), r.str(0), r.str(2), r.args[3]
		a.DirFd, a.DirFd2 = atFdcwd, atFdcwd
	}},
	TypeUmount2: {ArgSpec{NArgs: 2, StrMask: str(0)}, func(a *Args, r *rawArgs) {
		fillPathAt(-1, 0)(a, r)
		a.Flags = r.args[1]
	}},
	TypeBpf:      {ArgSpec{NArgs: 3}, func(a *Args, r *rawArgs) { a.Cmd = r.i32(0) }},
	TypeSetns:    {ArgSpec{NArgs: 2}, func(a *Args, r *rawArgs) { a.Fd, a.Flags = r.i32(0), r.args[1] }},
	TypeUnshare:  {ArgSpec{NArgs: 1}, func(a *Args, r *rawArgs) { a.Flags = r.args[0] }},
	TypeChdir:    {ArgSpec{NArgs: 1, StrMask: str(0)}, fillPathAt(-1, 0)},
	TypeFchdir:   {ArgSpec{NArgs: 1}, fillFd},
	TypeProcExit: {ArgSpec{}, func(a *Args, r *rawArgs) { a.ExitCode = int32(r.ret) }},
}

// fillTwoPaths fills Path/DirFd and Path2/DirFd2 from argument indexes (-1:
// absent, AT_FDCWD for a dirfd) and Flags from flags when it is >= 0.
func fillTwoPaths(dirfd, path, dirfd2, path2, flags int) func(a *Args, r *rawArgs) {
	return func(a *Args, r *rawArgs) {
		fillPathAt(dirfd, path)(a, r)
		a.DirFd2 = atFdcwd
		if dirfd2 >= 0 {
			a.DirFd2 = r.i32(dirfd2)
		}
		a.Path2 = r.str(path2)
		if flags >= 0 {
			a.Flags = r.args[flags]
		}
	}
}

func fillIDs(a *Args, r *rawArgs) {
	a.IDs = [3]uint32{r.u32(0), r.u32(1), r.u32(2)}
}
