package capture

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Reader reads a capture file written by Writer. It is not safe for
// concurrent use.
type Reader struct {
	r      *bufio.Reader
	off    int64
	header Header
	state  json.RawMessage
	rec    []byte
}

// NewReader reads the header and state of a capture file from r. A corrupt
// or truncated file returns a *FormatError naming the offset.
func NewReader(r io.Reader) (*Reader, error) {
	cr := &Reader{r: bufio.NewReaderSize(r, 1<<16)}
	var fixed [len(magic) + 3]byte
	if err := cr.full(fixed[:], "header"); err != nil {
		return nil, err
	}
	if string(fixed[:len(magic)]) != magic {
		return nil, &FormatError{0, "not a capture file (bad magic)"}
	}
	if v := binary.LittleEndian.Uint16(fixed[len(magic):]); v != Version {
		return nil, &FormatError{int64(len(magic)), fmt.Sprintf("unsupported version %d (want %d)", v, Version)}
	}
	archLen := int(fixed[len(magic)+2])
	if archLen == 0 {
		return nil, &FormatError{int64(len(magic) + 2), "empty architecture name"}
	}
	rest := make([]byte, archLen+8)
	if err := cr.full(rest, "header"); err != nil {
		return nil, err
	}
	cr.header = Header{
		Arch:       string(rest[:archLen]),
		BootOffset: int64(binary.LittleEndian.Uint64(rest[archLen:])),
	}
	state, err := cr.chunk("state", MaxState, nil)
	if err != nil {
		return nil, err
	}
	cr.state = json.RawMessage(state)
	return cr, nil
}

// Header returns the file's header.
func (r *Reader) Header() Header { return r.header }

// State returns the initial state section.
func (r *Reader) State() json.RawMessage { return r.state }

// Offset returns the byte offset of the next record.
func (r *Reader) Offset() int64 { return r.off }

// Next returns the next record, valid until the next call, or io.EOF at a
// clean end of file.
func (r *Reader) Next() ([]byte, error) {
	if _, err := r.r.Peek(1); err == io.EOF {
		return nil, io.EOF
	}
	rec, err := r.chunk("record", MaxRecord, r.rec[:0])
	if err != nil {
		return nil, err
	}
	r.rec = rec
	return rec, nil
}

// chunk reads a length-prefixed chunk into buf.
func (r *Reader) chunk(what string, max int, buf []byte) ([]byte, error) {
	start := r.off
	var lb [4]byte
	if err := r.full(lb[:], what+" length"); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(lb[:])
	if uint64(n) > uint64(max) {
		return nil, &FormatError{start, fmt.Sprintf("%s length %d exceeds %d", what, n, max)}
	}
	// Grow in steps so that a corrupt length costs no more memory than
	// the file really holds.
	for len(buf) < int(n) {
		step := min(int(n)-len(buf), 1<<20)
		at := len(buf)
		buf = append(buf, make([]byte, step)...)
		if err := r.full(buf[at:], fmt.Sprintf("%s of %d bytes starting at offset %d", what, n, start)); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// full fills b or reports where the file ends.
func (r *Reader) full(b []byte, what string) error {
	n, err := io.ReadFull(r.r, b)
	r.off += int64(n)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &FormatError{r.off, "truncated " + what}
	default:
		return fmt.Errorf("capture file: offset %d: %w", r.off, err)
	}
}
