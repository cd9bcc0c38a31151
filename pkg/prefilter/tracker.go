package prefilter

import "github.com/vigilsec/vigil/pkg/event"

// FDEffect is what a shipped event of a type does to the descriptors user
// space holds entries for (pkg/state's fd table). The values are the
// probe's FD_TRACK_* bits.
type FDEffect uint8

// FDEffect bits.
const (
	// FDReturned: a successful call returns a descriptor that gets an entry.
	FDReturned FDEffect = 1
	// FDArg0: the socket in argument 0 may get an entry.
	FDArg0 FDEffect = 2
	// FDClosed: the descriptor in argument 0 is closed; its entry goes.
	FDClosed FDEffect = 4
)

// FDEffectOf returns the effect of events of type t.
func FDEffectOf(t event.Type) FDEffect {
	switch t {
	case event.TypeOpen, event.TypeOpenat, event.TypeOpenat2, event.TypeCreat, event.TypeSocket,
		event.TypeAccept, event.TypeAccept4, event.TypeDup, event.TypeDup2, event.TypeDup3,
		event.TypeMemfdCreate:
		return FDReturned
	case event.TypeConnect, event.TypeBind, event.TypeSendto, event.TypeSendmsg:
		return FDArg0
	case event.TypeClose:
		return FDClosed
	}
	return 0
}

// TrackedFDs bounds the descriptor numbers the kernel keeps a bit for; the
// close of a higher one is always shipped.
const TrackedFDs = 1024

// Tracker is the user-space twin of the kernel's per-process bits of
// descriptors user space holds no entry for: bit n is set once the close
// of n was shipped, cleared by a shipped event that may give n an entry.
// With TrackedOnly, the close of a descriptor whose bit is set is not
// shipped: it would tell user space nothing. The zero value is ready.
type Tracker struct {
	untracked map[uint32]*[TrackedFDs / 64]uint64
}

// Ship reports whether the kernel would ship ev under tb, and updates the
// bits as the kernel does.
func (tr *Tracker) Ship(tb *Tables, ev *event.Event) bool {
	eff := FDEffectOf(ev.Type)
	if ev.Type == event.TypeProcExit {
		// The bits live with the process.
		delete(tr.untracked, ev.Pid)
	}
	bits := tr.untracked[ev.Pid]
	if eff&FDClosed != 0 && ev.Type < event.NumTypes && tb.Types[ev.Type].TrackedOnly && bits != nil &&
		isSet(bits, int64(ev.Args.Fd)) {
		return false
	}
	if !tb.Match(ev) {
		return false
	}
	if eff == 0 {
		return true
	}
	if bits == nil && eff&FDClosed != 0 {
		if tr.untracked == nil {
			tr.untracked = map[uint32]*[TrackedFDs / 64]uint64{}
		}
		bits = new([TrackedFDs / 64]uint64)
		tr.untracked[ev.Pid] = bits
	}
	if bits == nil {
		return true
	}
	if eff&FDClosed != 0 {
		setBit(bits, int64(ev.Args.Fd), true)
	}
	if eff&FDArg0 != 0 {
		setBit(bits, int64(ev.Args.Fd), false)
	}
	if eff&FDReturned != 0 && ev.Ret >= 0 {
		setBit(bits, ev.Ret, false)
	}
	return true
}

func isSet(bits *[TrackedFDs / 64]uint64, fd int64) bool {
	return fd >= 0 && fd < TrackedFDs && bits[fd/64]>>(fd%64)&1 != 0
}

func setBit(bits *[TrackedFDs / 64]uint64, fd int64, set bool) {
	if fd < 0 || fd >= TrackedFDs {
		return
	}
	if set {
		bits[fd/64] |= 1 << (fd % 64)
	} else {
		bits[fd/64] &^= 1 << (fd % 64)
	}
}
