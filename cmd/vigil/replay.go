package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vigilsec/vigil/pkg/capture"
	"github.com/vigilsec/vigil/pkg/event"
)

func init() {
	commands["replay"] = command{"replay a capture file offline, printing events as JSON lines", runReplay}
}

func runReplay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vigil replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showState := fs.Bool("state", false, "print the capture's initial state (JSON) as the first line")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "vigil replay: usage: vigil replay [--state] FILE")
		return 2
	}
	if err := replay(fs.Arg(0), *showState, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "vigil replay: %v\n", err)
		return 1
	}
	return 0
}

func replay(path string, showState bool, stdout, stderr io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := capture.NewReader(f)
	if err != nil {
		return err
	}
	h := r.Header()
	table, err := event.SyscallTableFor(h.Arch)
	if err != nil {
		return err
	}
	dec := event.NewDecoder(table, h.BootOffset)
	out := bufio.NewWriter(stdout)
	if showState {
		out.Write(r.State())
		out.WriteByte('\n')
	}
	var ev event.Event
	var line []byte
	for {
		off := r.Offset()
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			out.Flush()
			return err
		}
		if err := dec.Decode(rec, &ev); err != nil {
			fmt.Fprintf(stderr, "vigil replay: record at offset %d: %v\n", off, err)
			continue
		}
		line = append(event.AppendJSON(line[:0], &ev), '\n')
		if _, err := out.Write(line); err != nil {
			return err
		}
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if n := dec.Malformed(); n > 0 {
		return fmt.Errorf("%d malformed records skipped", n)
	}
	return nil
}
