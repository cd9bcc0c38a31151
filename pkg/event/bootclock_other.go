//go:build !linux

package event

// BootOffset returns 0 where there is no boot clock to read: records from a
// capture file carry their own offset.
func BootOffset() int64 { return 0 }
