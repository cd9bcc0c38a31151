package matrix

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsec/vigil/test/kernels/suite"
)

// qemu describes how one architecture boots: software emulation (no KVM),
// one CPU, the serial console on stdout.
type qemu struct {
	binary  string
	machine []string
	console string
}

var qemus = map[string]qemu{
	"amd64": {"qemu-system-x86_64", []string{"-M", "q35", "-cpu", "max"}, "ttyS0"},
	"arm64": {"qemu-system-aarch64", []string{"-M", "virt", "-cpu", "cortex-a57"}, "ttyAMA0"},
}

// QemuBinary returns the qemu system emulator that boots arch.
func QemuBinary(arch string) string { return qemus[arch].binary }

// Boot is the outcome of booting one kernel with the guest as init.
type Boot struct {
	Kernel Kernel `json:"kernel"`
	// Result is the guest's final line; nil when none was read.
	Result *suite.Result `json:"result,omitempty"`
	// Checks are the guest's check lines.
	Checks []suite.Check `json:"checks,omitempty"`
	// Err says why the boot has no verdict (timeout, no result line,
	// qemu failed), with the console's last lines.
	Err string `json:"error,omitempty"`
	// Wall is the time from starting qemu to its exit; FirstLine the time
	// to the guest's first line (kernel boot and init start).
	Wall      time.Duration `json:"wall_ns"`
	FirstLine time.Duration `json:"first_line_ns"`
	// Console is the path of the saved serial console output.
	Console string `json:"console"`
}

// OK reports whether the guest ran and every check passed.
func (b Boot) OK() bool { return b.Err == "" && b.Result != nil && b.Result.OK }

// Unsupported reports whether the boot failed only because the kernel is
// older than features the probe needs: the guest ran, the agent's entry
// (probe.Open) refused the kernel, and every missing feature was introduced
// after the kernel's series. Such a kernel is below the minimum and
// expected to be refused, not a regression; a feature missing from a
// kernel that should have it, or a kernel the agent did not refuse, is a
// failure.
func (b Boot) Unsupported() bool {
	if b.OK() || b.Err != "" || b.Result == nil || b.Result.Refusal == "" {
		return false
	}
	missing := b.Result.Features.Missing()
	for _, f := range missing {
		if f.Since == "" || CompareSeries(b.Kernel.Series, f.Since) >= 0 {
			return false
		}
	}
	return len(missing) > 0
}

// Verdict is "ok", "unsupported" (see Unsupported) or "FAIL".
func (b Boot) Verdict() string {
	switch {
	case b.OK():
		return "ok"
	case b.Unsupported():
		return "unsupported"
	}
	return "FAIL"
}

// CompareSeries orders kernel releases by their numeric components:
// "5.10" < "5.17" < "6.1" < "6.12".
func CompareSeries(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x - y
		}
	}
	return len(pa) - len(pb)
}

// consoleTail is how many console lines an error quotes.
const consoleTail = 25

// BootKernel boots k under qemu with initrd as the initramfs, reads the
// guest's lines from the serial console and saves the console to logDir.
// qemu's exit status says nothing (it exits 0 on power-off and on a kernel
// panic alike): the verdict is the guest's result line, read within
// timeout.
func BootKernel(ctx context.Context, k Kernel, initrd, logDir string, timeout time.Duration) Boot {
	q, ok := qemus[k.Arch]
	if !ok {
		return Boot{Kernel: k, Err: "no qemu for " + k.Arch}
	}
	args := append(append([]string{}, q.machine...),
		"-accel", "tcg", "-smp", "1", "-m", "1024", "-nodefaults", "-display", "none", "-no-reboot",
		"-serial", "stdio", "-monitor", "none",
		"-kernel", k.Image, "-initrd", initrd,
		"-append", "console="+q.console+" panic=-1 quiet loglevel=3 preempt=full rdinit=/init")
	return runGuest(ctx, k, logDir, timeout, q.binary, args...)
}

// runGuest runs a command that prints the guest suite's lines (qemu
// booting a guest, or the guest itself on the host), saves its output to
// logDir and judges it by the result line, read within timeout.
func runGuest(ctx context.Context, k Kernel, logDir string, timeout time.Duration, bin string, args ...string) Boot {
	b := Boot{Kernel: k, Console: filepath.Join(logDir, strings.ReplaceAll(k.Name(), "/", "-")+".log")}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Err = err.Error()
		return b
	}
	logf, err := os.Create(b.Console)
	if err != nil {
		b.Err = err.Error()
		return b
	}
	defer logf.Close()
	cmd.Stderr = logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Err = fmt.Sprintf("start %s: %v", bin, err)
		return b
	}
	tail := b.read(io.TeeReader(stdout, logf), start)
	waitErr := cmd.Wait()
	b.Wall = time.Since(start)
	switch {
	case b.Result != nil:
	case ctx.Err() != nil:
		b.Err = fmt.Sprintf("no result within %s; console ends:\n%s", timeout, tail)
	case waitErr != nil:
		b.Err = fmt.Sprintf("%s: %v; console ends:\n%s", bin, waitErr, tail)
	default:
		b.Err = "the guest stopped without a result line; console ends:\n" + tail
	}
	return b
}

// read parses the console until it ends and returns its last lines.
func (b *Boot) read(r io.Reader, start time.Time) string {
	var tail []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		tail = append(tail, line)
		if len(tail) > consoleTail {
			tail = tail[1:]
		}
		if i := strings.Index(line, suite.CheckPrefix); i >= 0 {
			if b.FirstLine == 0 {
				b.FirstLine = time.Since(start)
			}
			var c suite.Check
			if err := json.Unmarshal([]byte(line[i+len(suite.CheckPrefix):]), &c); err != nil {
				c = suite.Check{Check: "console", Detail: "garbled check line: " + err.Error()}
			}
			b.Checks = append(b.Checks, c)
		}
		if i := strings.Index(line, suite.ResultPrefix); i >= 0 {
			var r suite.Result
			if err := json.Unmarshal([]byte(line[i+len(suite.ResultPrefix):]), &r); err != nil {
				if b.Result == nil {
					b.Err = "garbled result line: " + err.Error()
				}
				continue
			}
			b.Err = ""
			b.Result = &r
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, os.ErrClosed) {
		tail = append(tail, "(console read: "+err.Error()+")")
	}
	return strings.Join(tail, "\n")
}
