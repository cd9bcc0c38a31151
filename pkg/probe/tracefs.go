package probe

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

const tracefsPath = "/sys/kernel/tracing"

// ensureTracefs mounts tracefs when neither of its usual places has it:
// attaching to a tracepoint needs its id from there.
func ensureTracefs() error {
	for _, dir := range []string{tracefsPath, "/sys/kernel/debug/tracing"} {
		if _, err := os.Stat(dir + "/events"); err == nil {
			return nil
		}
	}
	if err := unix.Mount("tracefs", tracefsPath, "tracefs", 0, ""); err != nil {
		return fmt.Errorf("mount tracefs on %s: %w", tracefsPath, err)
	}
	return nil
}
