package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/vigilsec/vigil/pkg/capture"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/probe"
	"github.com/vigilsec/vigil/pkg/state"
)

func init() {
	commands["capture"] = command{"record kernel events to a capture file", runCapture}
}

// scanState returns the initial process state stored in a capture file.
var scanState = func() (json.RawMessage, error) {
	snap, err := state.ScanProc("/proc")
	if err != nil {
		return nil, err
	}
	return json.Marshal(snap)
}

func runCapture(args []string, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("vigil capture", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "capture file to write (required)")
	duration := fs.Duration("duration", 0, "stop after recording this long (default: at SIGINT or SIGTERM)")
	types := fs.String("types", "", "comma-separated event types to record (default: every type)")
	cfg := probe.DefaultConfig()
	fs.IntVar(&cfg.RingBufferSize, "ring-buffer-size", cfg.RingBufferSize, "kernel ring buffer size in bytes (power of two)")
	fs.StringVar(&cfg.Attach, "attach", cfg.Attach, "syscall attach mode: per-syscall or generic")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "vigil capture: usage: vigil capture -o FILE [--duration D] [--types openat,execve]")
		return 2
	}
	sel, err := parseTypes(*types)
	if err != nil {
		fmt.Fprintf(stderr, "vigil capture: --types: %v\n", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := capturing(ctx, cfg, sel, *out, *duration, stderr); err != nil {
		fmt.Fprintf(stderr, "vigil capture: %v\n", err)
		return 1
	}
	return 0
}

// capturing records until ctx is done or, when duration is positive, until
// it has recorded that long: the duration counts from when the probe is
// attached and the state scanned, however long loading took.
func capturing(ctx context.Context, cfg probe.Config, types []event.Type, path string, duration time.Duration, stderr io.Writer) error {
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
		zapcore.AddSync(stderr), zapcore.WarnLevel))
	p, err := probe.Open(cfg, log)
	if err != nil {
		return err
	}
	defer p.Close()
	if err := p.SetEventTypes(types); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := capture.NewWriter(f, capture.Header{Arch: runtime.GOARCH, BootOffset: event.BootOffset()})
	if err != nil {
		return err
	}
	// The state is scanned after the probe is attached, so that nothing
	// between the scan and the first record is missed; records meanwhile
	// wait in the ring buffer.
	st, err := scanState()
	if err != nil {
		return fmt.Errorf("scan state: %w", err)
	}
	if err := w.WriteState(st); err != nil {
		return err
	}
	start := time.Now()
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	var werr error
	if err := p.Run(ctx, func(rec []byte) {
		if werr == nil {
			werr = w.WriteRecord(rec)
		}
	}); err != nil {
		return err
	}
	if werr != nil {
		return werr
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	st2 := p.Stats()
	fmt.Fprintf(stderr, "vigil capture: %d records in %s to %s (kernel drops %d, in-flight drops %d, scratch drops %d, queue drops %d)\n",
		w.Records(), time.Since(start).Round(time.Millisecond), path, st2.KernelDrops, st2.InflightDrops, st2.ScratchDrops, st2.QueueDrops)
	return nil
}

// parseTypes parses a comma-separated list of event type names; empty means
// every type.
func parseTypes(s string) ([]event.Type, error) {
	if s == "" {
		return event.AllTypes(), nil
	}
	var out []event.Type
	for _, name := range strings.Split(s, ",") {
		t, ok := event.TypeByName(strings.TrimSpace(name))
		if !ok {
			return nil, fmt.Errorf("unknown event type %q", name)
		}
		out = append(out, t)
	}
	return out, nil
}
