package capture

import "fmt"

const (
	magic = "VIGILCAP"
	// Version is the format version this package writes and reads.
	Version = 1
	// MaxRecord bounds one record's length; longer is corruption.
	MaxRecord = 1 << 20
	// MaxState bounds the state section's length.
	MaxState = 1 << 30
)

// Header is what a capture file says about its recording.
type Header struct {
	// Arch is the recording machine's architecture ("amd64", "arm64"),
	// which picks the syscall table to decode with.
	Arch string
	// BootOffset is the wall clock minus the boot clock at recording time,
	// in ns (see event.BootOffset).
	BootOffset int64
}

// FormatError reports a corrupt or truncated capture file.
type FormatError struct {
	// Offset is the byte offset in the file where the problem is.
	Offset int64
	// Msg says what is wrong there.
	Msg string
}

// Error names the offset and the problem.
func (e *FormatError) Error() string {
	return fmt.Sprintf("capture file: offset %d: %s", e.Offset, e.Msg)
}
