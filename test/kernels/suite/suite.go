// Package suite proves, on the running kernel, that Vigil's probe loads,
// attaches and reports correct events: it loads every BPF program of the
// probe's object on its own (keeping the verifier log of any it rejects),
// opens the probe in each attach mode, performs one behaviour per event
// family with test/actions and checks the decoded events field by field.
//
// It prints one line per check and a final summary line, each a prefix and
// a JSON object, so that a host reading a guest's serial console can judge
// the run:
//
//	VIGIL-CHECK {"check":"exec","mode":"per-syscall","ok":true,...}
//	VIGIL-KERNEL-RESULT {"kernel":"6.1.0-56-cloud-amd64","ok":true,...}
package suite

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/rlimit"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/probe"
	"github.com/vigilsec/vigil/pkg/probe/features"
)

// Line prefixes of the machine-readable output.
const (
	CheckPrefix  = "VIGIL-CHECK "
	ResultPrefix = "VIGIL-KERNEL-RESULT "
)

// Config says where the suite finds what it runs.
type Config struct {
	// Object is the probe's BPF object for this architecture
	// (pkg/probe/vigil_<arch>_bpfel.o); every program in it is loaded on
	// its own. Empty: skip that step.
	Object string
	// Actions is the test/actions binary.
	Actions string
	// TempDir holds the files the checks create.
	TempDir string
	// Modes are the probe attach modes to test (default: both).
	Modes []string
	// Log receives the probe's log (nil: discarded).
	Log *zap.Logger
}

// Check is the outcome of one check.
type Check struct {
	Check   string `json:"check"`
	Family  string `json:"family,omitempty"`
	Mode    string `json:"mode,omitempty"`
	OK      bool   `json:"ok"`
	Skipped bool   `json:"skipped,omitempty"`
	Detail  string `json:"detail,omitempty"`
	Millis  int64  `json:"ms"`
}

// Result is the summary of a run.
type Result struct {
	Kernel   string          `json:"kernel"`
	Arch     string          `json:"arch"`
	Features features.Report `json:"features"`
	Programs []ProgramLoad   `json:"programs,omitempty"`
	// Loaded: every program of the object passed the verifier.
	Loaded bool `json:"loaded"`
	// Attached: the probe opened and attached every selected syscall in
	// every mode.
	Attached bool `json:"attached"`
	// EventsOK: every event check passed (skipped ones aside).
	EventsOK bool `json:"events_ok"`
	Passed   int  `json:"passed"`
	Failed   int  `json:"failed"`
	Skipped  int  `json:"skipped"`
	OK       bool `json:"ok"`
	// Missing is the feature detector's message naming every feature the
	// kernel lacks (the message the agent should refuse the kernel with),
	// empty when none is.
	Missing string `json:"missing,omitempty"`
	// Refusal is the error probe.Open, the agent's own entry, returned
	// when it would not open the probe on this kernel; empty when it
	// opened in every mode.
	Refusal string `json:"refusal,omitempty"`
	// Failures names each failed check with its reason.
	Failures []string `json:"failures,omitempty"`
	Millis   int64    `json:"ms"`
}

// Run runs the suite, printing each check's line and the final result line
// to out, and returns the result.
func Run(cfg Config, out io.Writer) Result {
	start := time.Now()
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if len(cfg.Modes) == 0 {
		cfg.Modes = []string{probe.AttachPerSyscall, probe.AttachGeneric}
	}
	r := Result{Kernel: features.Release(), Arch: runtime.GOARCH, Loaded: true, Attached: true, EventsOK: true}
	if up, err := uptime(); err == nil {
		// The kernel's boot and the start of init, for the boot time.
		writeLine(out, CheckPrefix, Check{Check: "uptime", OK: true, Millis: up.Milliseconds()})
	}
	if dir, err := os.MkdirTemp(cfg.TempDir, "run"); err == nil {
		cfg.TempDir = dir
		defer os.RemoveAll(dir)
	}
	emit := func(c Check) {
		switch {
		case c.Skipped:
			r.Skipped++
		case c.OK:
			r.Passed++
		default:
			r.Failed++
			r.Failures = append(r.Failures, strings.TrimSpace(c.Mode+" "+c.Check)+": "+c.Detail)
		}
		writeLine(out, CheckPrefix, c)
	}

	if err := rlimit.RemoveMemlock(); err != nil {
		// Since 5.11 BPF memory is charged to the cgroup instead.
		cfg.Log.Debug("could not raise RLIMIT_MEMLOCK", zap.Error(err))
	}
	spec := loadPrograms(cfg, &r, emit)
	r.Features = features.Detect(spec)
	if err := r.Features.Err(); err != nil {
		r.Missing = err.Error()
	}
	for _, f := range r.Features.Missing() {
		emit(Check{Check: "feature " + f.Name, Detail: f.Detail})
	}
	for _, mode := range cfg.Modes {
		runMode(cfg, mode, &r, emit)
	}
	r.OK = r.Failed == 0
	r.Millis = time.Since(start).Milliseconds()
	writeLine(out, ResultPrefix, r)
	return r
}

func loadPrograms(cfg Config, r *Result, emit func(Check)) *ebpf.CollectionSpec {
	if cfg.Object == "" {
		return nil
	}
	t := time.Now()
	progs, spec, err := loadEach(cfg.Object)
	if err != nil {
		r.Loaded = false
		emit(Check{Check: "read object", Detail: err.Error(), Millis: ms(t)})
		return nil
	}
	r.Programs = progs
	for _, p := range progs {
		c := Check{Check: "load " + p.Program, Family: "load", OK: p.OK, Detail: p.Error, Millis: p.Millis}
		if !p.OK {
			r.Loaded = false
			if p.Verifier != "" {
				c.Detail += "\n" + p.Verifier
			}
		}
		emit(c)
	}
	return spec
}

// runMode opens the probe in one attach mode and runs every event check.
func runMode(cfg Config, mode string, r *Result, emit func(Check)) {
	t := time.Now()
	pcfg := probe.DefaultConfig()
	pcfg.Attach = mode
	p, err := probe.Open(pcfg, cfg.Log)
	if err != nil {
		r.Attached, r.EventsOK = false, false
		if r.Refusal == "" {
			r.Refusal = err.Error()
		}
		emit(Check{Check: "open", Mode: mode, Detail: verbose(err), Millis: ms(t)})
		return
	}
	defer p.Close()
	if err := p.SetEventTypes(event.AllTypes()); err != nil {
		r.Attached = false
		emit(Check{Check: "attach", Mode: mode, Detail: err.Error(), Millis: ms(t)})
	} else {
		emit(Check{Check: "attach", Mode: mode, OK: true, Detail: fmt.Sprintf("%d syscall types", len(p.EventTypes())), Millis: ms(t)})
	}

	fx, err := newFixtures()
	if err != nil {
		r.EventsOK = false
		emit(Check{Check: "fixtures", Mode: mode, Detail: err.Error()})
		return
	}
	defer fx.close()
	s := startSession(p)
	for i, c := range checks {
		t := time.Now()
		dir := filepath.Join(cfg.TempDir, fmt.Sprintf("%s-%02d", mode, i))
		res := Check{Check: c.name, Family: c.family, Mode: mode}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			res.Detail = err.Error()
			emit(res)
			continue
		}
		e := &env{s: s, actions: cfg.Actions, dir: dir, tcp4: fx.tcp4, tcp6: fx.tcp6, udp4: fx.udp4}
		if c.tracepoint != "" && mode == probe.AttachPerSyscall && !haveSyscallTracepoint(c.tracepoint) {
			res.Skipped, res.Detail = true, "no syscalls:sys_enter_"+c.tracepoint+" tracepoint on this kernel"
			emit(res)
			continue
		}
		var out map[string]any
		out, e.pid, err = s.run(cfg.Actions, c.args(e)...)
		switch {
		case err != nil && c.optional && e.pid == 0:
			res.Skipped, res.Detail = true, err.Error()
		case err != nil:
			res.Detail = err.Error()
		default:
			e.res = out
			e.evs = s.of(e.pid)
			err = errors.Join(c.verify(e), headers(e))
			res.OK = err == nil
			if err != nil {
				res.Detail = err.Error()
			}
		}
		if !res.OK && !res.Skipped {
			r.EventsOK = false
		}
		res.Millis = ms(t)
		emit(res)
	}
	if err := s.stop(); err != nil {
		r.EventsOK = false
		emit(Check{Check: "read", Mode: mode, Detail: err.Error()})
	}
	st := p.Stats()
	c := Check{Check: "drops", Mode: mode, OK: st.Lost() == 0 && st.QueueDrops == 0,
		Detail: fmt.Sprintf("%+v", st)}
	if !c.OK {
		r.EventsOK = false
	}
	emit(c)
}

// headers checks the common header of every event of the action's process.
func headers(e *env) error {
	var p problems
	for _, ev := range e.evs {
		if ev.Pid != e.pid || ev.Comm == "" || ev.Timestamp == 0 || ev.MntNS == 0 || ev.PidNS == 0 {
			p.add(fmt.Sprintf("%s header pid %d comm %q ts %d mntns %d pidns %d", ev.Type, ev.Pid, ev.Comm, ev.Timestamp, ev.MntNS, ev.PidNS))
		}
	}
	return p.err()
}

// fixtures are the listeners the network checks talk to.
type fixtures struct {
	ln4, ln6         net.Listener
	pc               net.PacketConn
	tcp4, tcp6, udp4 int
}

func newFixtures() (*fixtures, error) {
	fx := &fixtures{}
	var err error
	if fx.ln4, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	if fx.ln6, err = net.Listen("tcp6", "[::1]:0"); err != nil {
		fx.ln4.Close()
		return nil, err
	}
	if fx.pc, err = net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
		fx.ln4.Close()
		fx.ln6.Close()
		return nil, err
	}
	for _, ln := range []net.Listener{fx.ln4, fx.ln6} {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	fx.tcp4 = fx.ln4.Addr().(*net.TCPAddr).Port
	fx.tcp6 = fx.ln6.Addr().(*net.TCPAddr).Port
	fx.udp4 = fx.pc.LocalAddr().(*net.UDPAddr).Port
	return fx, nil
}

func (fx *fixtures) close() {
	fx.ln4.Close()
	fx.ln6.Close()
	fx.pc.Close()
}

// haveSyscallTracepoint reports whether tracefs has the syscall's enter
// tracepoint.
func haveSyscallTracepoint(name string) bool {
	for _, dir := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		if _, err := os.Stat(dir + "/events/syscalls/sys_enter_" + name); err == nil {
			return true
		}
	}
	return false
}

// uptime reads the time since boot.
func uptime() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0, err
	}
	return time.Duration(ts.Nano()), nil
}

// verbose renders err with the full verifier log when there is one.
func verbose(err error) string {
	if tail := verifierTail(err); tail != "" {
		return firstLine(err.Error()) + "\n" + tail
	}
	return err.Error()
}

func ms(t time.Time) int64 { return time.Since(t).Milliseconds() }

func writeLine(w io.Writer, prefix string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprintf("{%q:%q}", "error", err.Error()))
	}
	fmt.Fprintf(w, "%s%s\n", prefix, b)
}
