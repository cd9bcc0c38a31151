package event

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Record layout written by the kernel probe (bpf/include/record.h): a fixed
// header, then parts of a 4-byte part header (tag, reserved, u16 length)
// and their bytes. All integers are little-endian.
const (
	// HeaderSize is the size of the fixed record header.
	HeaderSize = 152

	offKind    = 0
	offFlags   = 1
	offNParts  = 2
	offCPU     = 4
	offTS      = 8
	offPid     = 16
	offTid     = 20
	offPPid    = 24
	offUID     = 28
	offGID     = 32
	offEUID    = 36
	offEGID    = 40
	offLogin   = 44
	offCapEff  = 48
	offCgroup  = 56
	offTTY     = 64
	offPidNS   = 68
	offMntNS   = 72
	offSyscall = 76
	offRet     = 80
	offArgs    = 88
	offComm    = 136

	partHeaderSize = 4
	maxParts       = 16
)

// Record kinds: the first byte of a record.
const (
	KindSyscall = 1
	KindExec    = 2
	KindFork    = 3
	KindExit    = 4
)

// Part tags.
const (
	partStr      = 1 // 1..6: string of argument 0..5
	partSockaddr = 16
	partStruct   = 17
	partArgv     = 18
	partExe      = 19
	partExeInfo  = 20
	partFilename = 21
	partLocal    = 22
)

const (
	flagPathTruncated = 1
	flagOpenedDir     = 2
	exeMemfd          = 1
	exeUpper          = 2
	exeInfoSize       = 24
)

// ErrMalformed wraps every error Decode returns for a record it cannot
// read.
var ErrMalformed = errors.New("malformed record")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// Decoder turns raw records into Events. It is not safe for concurrent use:
// one decoder serves one event stream.
type Decoder struct {
	table      *SyscallTable
	bootOffset int64
	num        uint64
	malformed  uint64
	raw        rawArgs
	parts      [maxParts]part
}

type part struct {
	tag  uint8
	data []byte
}

// NewDecoder returns a decoder for records recorded on the architecture of
// table. bootOffset is added to the records' boot-time timestamps to make
// them wall-clock Unix nanoseconds (see BootOffset).
func NewDecoder(table *SyscallTable, bootOffset int64) *Decoder {
	return &Decoder{table: table, bootOffset: bootOffset}
}

// Malformed returns how many records Decode rejected.
func (d *Decoder) Malformed() uint64 { return d.malformed }

// kindDecoder fills the kind-specific part of ev after the common header.
type kindDecoder func(d *Decoder, ev *Event, parts []part) error

var kindDecoders = [256]kindDecoder{
	KindSyscall: decodeSyscall,
	KindExec:    decodeExec,
	KindFork:    decodeFork,
	KindExit:    decodeExit,
}

// Decode decodes rec into ev, overwriting all of it, and numbers it. A
// malformed record returns an error wrapping ErrMalformed and is counted;
// ev is then undefined.
func (d *Decoder) Decode(rec []byte, ev *Event) error {
	if err := d.decode(rec, ev); err != nil {
		d.malformed++
		return err
	}
	d.num++
	ev.Num = d.num
	return nil
}

func (d *Decoder) decode(rec []byte, ev *Event) error {
	if len(rec) < HeaderSize {
		return malformed("%d bytes, shorter than the %d-byte header", len(rec), HeaderSize)
	}
	dec := kindDecoders[rec[offKind]]
	if dec == nil {
		return malformed("unknown record kind %d", rec[offKind])
	}
	parts, err := d.splitParts(rec)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	*ev = Event{
		Syscall:      int32(le.Uint32(rec[offSyscall:])),
		Timestamp:    int64(le.Uint64(rec[offTS:])) + d.bootOffset,
		CPU:          le.Uint32(rec[offCPU:]),
		Pid:          le.Uint32(rec[offPid:]),
		Tid:          le.Uint32(rec[offTid:]),
		PPid:         le.Uint32(rec[offPPid:]),
		UID:          le.Uint32(rec[offUID:]),
		GID:          le.Uint32(rec[offGID:]),
		EUID:         le.Uint32(rec[offEUID:]),
		EGID:         le.Uint32(rec[offEGID:]),
		LoginUID:     le.Uint32(rec[offLogin:]),
		CapEffective: le.Uint64(rec[offCapEff:]),
		TTY:          le.Uint32(rec[offTTY:]),
		CgroupID:     le.Uint64(rec[offCgroup:]),
		PidNS:        le.Uint32(rec[offPidNS:]),
		MntNS:        le.Uint32(rec[offMntNS:]),
		Comm:         cString(rec[offComm : offComm+16]),
		Ret:          int64(le.Uint64(rec[offRet:])),
	}
	ev.Args.OpenedDir = rec[offFlags]&flagOpenedDir != 0
	r := &d.raw
	*r = rawArgs{ret: ev.Ret}
	for i := range r.args {
		r.args[i] = le.Uint64(rec[offArgs+8*i:])
	}
	for _, p := range parts {
		switch {
		case p.tag >= partStr && p.tag < partStr+6:
			r.strs[p.tag-partStr] = p.data
			r.hasStr |= 1 << (p.tag - partStr)
		case p.tag == partSockaddr:
			r.sockaddr = p.data
		case p.tag == partStruct:
			r.structB = p.data
		case p.tag == partLocal:
			r.local = p.data
		}
	}
	return dec(d, ev, parts)
}

// splitParts checks the parts that follow the header and slices them.
func (d *Decoder) splitParts(rec []byte) ([]part, error) {
	n := int(binary.LittleEndian.Uint16(rec[offNParts:]))
	if n > maxParts {
		return nil, malformed("%d parts, more than %d", n, maxParts)
	}
	off := HeaderSize
	for i := 0; i < n; i++ {
		if len(rec)-off < partHeaderSize {
			return nil, malformed("part %d header at offset %d past the end (%d bytes)", i, off, len(rec))
		}
		tag := rec[off]
		size := int(binary.LittleEndian.Uint16(rec[off+2:]))
		off += partHeaderSize
		if len(rec)-off < size {
			return nil, malformed("part %d (tag %d) of %d bytes at offset %d overruns the %d-byte record", i, tag, size, off, len(rec))
		}
		d.parts[i] = part{tag: tag, data: rec[off : off+size : off+size]}
		off += size
	}
	return d.parts[:n], nil
}

// setType maps the record's syscall id to ev.Type, or uses fallback for
// records without one (-1).
func (d *Decoder) setType(ev *Event, fallback Type, allowed ...Type) error {
	if ev.Syscall == -1 && fallback != TypeUnknown {
		ev.Type = fallback
		return nil
	}
	ev.Type = d.table.Type(ev.Syscall)
	if ev.Type == TypeUnknown {
		return malformed("syscall %d is not recorded on %s", ev.Syscall, d.table.arch)
	}
	if len(allowed) > 0 && !slices.Contains(allowed, ev.Type) {
		return malformed("syscall %s in a record of another kind", ev.Type)
	}
	return nil
}

func decodeSyscall(d *Decoder, ev *Event, _ []part) error {
	if err := d.setType(ev, TypeUnknown); err != nil {
		return err
	}
	argLayouts[ev.Type].fill(&ev.Args, &d.raw)
	return nil
}

func decodeFork(d *Decoder, ev *Event, _ []part) error {
	if err := d.setType(ev, TypeClone, TypeFork, TypeVfork, TypeClone, TypeClone3); err != nil {
		return err
	}
	argLayouts[ev.Type].fill(&ev.Args, &d.raw)
	return nil
}

func decodeExit(d *Decoder, ev *Event, _ []part) error {
	ev.Type = TypeProcExit
	ev.Syscall = -1
	argLayouts[TypeProcExit].fill(&ev.Args, &d.raw)
	ev.Ret = 0
	return nil
}

func decodeExec(d *Decoder, ev *Event, parts []part) error {
	if err := d.setType(ev, TypeExecve, TypeExecve, TypeExecveat); err != nil {
		return err
	}
	argLayouts[ev.Type].fill(&ev.Args, &d.raw)
	a := &ev.Args
	for _, p := range parts {
		switch p.tag {
		case partFilename:
			a.Path = string(p.data)
		case partArgv:
			a.Argv = splitArgv(p.data)
		case partExe:
			a.ExePath = joinPath(p.data)
		case partExeInfo:
			if len(p.data) != exeInfoSize {
				return malformed("exe info of %d bytes, want %d", len(p.data), exeInfoSize)
			}
			le := binary.LittleEndian
			flags := le.Uint32(p.data)
			a.ExeFromMemfd = flags&exeMemfd != 0
			a.ExeUpperLayer = flags&exeUpper != 0
			a.ExeInoCtime = int64(le.Uint64(p.data[8:]))
			a.ExeInoMtime = int64(le.Uint64(p.data[16:]))
		}
	}
	return nil
}

// splitArgv splits the NUL-separated argument area of a process.
func splitArgv(b []byte) []string {
	if len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return nil
	}
	n := 1
	for _, c := range b {
		if c == 0 {
			n++
		}
	}
	out := make([]string, 0, n)
	s := string(b)
	for {
		i := strings.IndexByte(s, 0)
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i+1:]
	}
}

// joinPath joins path components stored leaf first, each NUL-terminated,
// into an absolute path.
func joinPath(b []byte) string {
	var comps [64][]byte
	n := 0
	size := 0
	for len(b) > 0 && n < len(comps) {
		i := 0
		for i < len(b) && b[i] != 0 {
			i++
		}
		comps[n] = b[:i]
		size += 1 + i
		n++
		if i == len(b) {
			break
		}
		b = b[i+1:]
	}
	if n == 0 {
		return "/"
	}
	var sb strings.Builder
	sb.Grow(size)
	for i := n - 1; i >= 0; i-- {
		sb.WriteByte('/')
		sb.Write(comps[i])
	}
	return sb.String()
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
