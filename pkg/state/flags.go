package state

// Linux ABI constants the state stage interprets. The values are the same on
// amd64 and arm64.
const (
	atFDCWD     = -100
	atEmptyPath = 0x1000

	oAccMode   = 0x3
	oRdonly    = 0x0
	oWronly    = 0x1
	oRdwr      = 0x2
	oCreat     = 0x40
	oTrunc     = 0x200
	oNonblock  = 0x800
	oDirectory = 0x10000
	oCloexec   = 0x80000

	sockTypeMask = 0xf
	sockNonblock = oNonblock
	sockCloexec  = oCloexec
	sockStream   = 1
	sockDgram    = 2
	sockRaw      = 3

	mfdCloexec = 0x1

	cloneParent = 0x8000
	cloneThread = 0x10000

	afNetlink = 16

	ipprotoICMP   = 1
	ipprotoTCP    = 6
	ipprotoUDP    = 17
	ipprotoICMPv6 = 58

	eInProgress = 115
)
