package event

import (
	"time"

	"golang.org/x/sys/unix"
)

// BootOffset returns the difference between the wall clock and the boot
// clock (CLOCK_BOOTTIME, which the probe stamps records with) in
// nanoseconds: adding it to a record's timestamp gives Unix nanoseconds.
func BootOffset() int64 {
	var ts unix.Timespec
	before := time.Now().UnixNano()
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	after := time.Now().UnixNano()
	return before + (after-before)/2 - ts.Nano()
}
