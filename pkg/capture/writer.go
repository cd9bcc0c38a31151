package capture

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Writer writes a capture file: NewWriter writes the header, WriteState
// the state section, then WriteRecord each record. Flush before closing the
// underlying file. A Writer is not safe for concurrent use.
type Writer struct {
	w       *bufio.Writer
	state   bool
	records uint64
	buf     [4]byte
}

// NewWriter writes the header of a capture file to w.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	if len(h.Arch) == 0 || len(h.Arch) > 255 {
		return nil, fmt.Errorf("capture: architecture name %q", h.Arch)
	}
	cw := &Writer{w: bufio.NewWriterSize(w, 1<<16)}
	b := append([]byte(magic), 0, 0)
	binary.LittleEndian.PutUint16(b[len(magic):], Version)
	b = append(b, byte(len(h.Arch)))
	b = append(b, h.Arch...)
	b = binary.LittleEndian.AppendUint64(b, uint64(h.BootOffset))
	if _, err := cw.w.Write(b); err != nil {
		return nil, fmt.Errorf("capture: write header: %w", err)
	}
	return cw, nil
}

// WriteState writes the initial state (opaque JSON). It must be called
// once, before any record.
func (w *Writer) WriteState(state json.RawMessage) error {
	if w.state {
		return errors.New("capture: state already written")
	}
	if len(state) > MaxState {
		return fmt.Errorf("capture: state of %d bytes exceeds %d", len(state), MaxState)
	}
	w.state = true
	return w.writeChunk(state)
}

// WriteRecord appends one raw record.
func (w *Writer) WriteRecord(rec []byte) error {
	if !w.state {
		return errors.New("capture: WriteRecord before WriteState")
	}
	if len(rec) > MaxRecord {
		return fmt.Errorf("capture: record of %d bytes exceeds %d", len(rec), MaxRecord)
	}
	w.records++
	return w.writeChunk(rec)
}

// Records returns how many records were written.
func (w *Writer) Records() uint64 { return w.records }

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() error { return w.w.Flush() }

func (w *Writer) writeChunk(b []byte) error {
	binary.LittleEndian.PutUint32(w.buf[:], uint32(len(b)))
	if _, err := w.w.Write(w.buf[:]); err != nil {
		return fmt.Errorf("capture: write: %w", err)
	}
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("capture: write: %w", err)
	}
	return nil
}
