package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vigilsec/vigil/pkg/agent"
	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/capture"
	"github.com/vigilsec/vigil/pkg/engine"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/rules"
	defaultrules "github.com/vigilsec/vigil/rules"
)

func init() {
	commands["replay"] = command{"replay a capture file offline, printing events as JSON lines", runReplay}
}

func runReplay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vigil replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showState := fs.Bool("state", false, "print the capture's initial state (JSON) as the first line")
	var rulesFiles stringList
	fs.Var(&rulesFiles, "r", "evaluate these rules files or directories (repeatable) and print the alerts instead of the events")
	defaults := fs.Bool("default-rules", false, "evaluate the built-in default rules and print the alerts")
	asJSON := fs.Bool("json", false, "with -r or --default-rules: print alerts as Falco-format JSON lines")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "vigil replay: usage: vigil replay [--state] [-r RULES ... | --default-rules] [--json] FILE")
		return 2
	}
	if len(rulesFiles) > 0 || *defaults {
		if err := replayRules(fs.Arg(0), rulesFiles, *asJSON, stdout); err != nil {
			fmt.Fprintf(stderr, "vigil replay: %v\n", err)
			return 1
		}
		return 0
	}
	if err := replay(fs.Arg(0), *showState, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "vigil replay: %v\n", err)
		return 1
	}
	return 0
}

// openCapture opens the capture file at path and reads its header; the
// caller closes the file.
func openCapture(path string) (*os.File, *capture.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	r, err := capture.NewReader(f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, r, nil
}

func replay(path string, showState bool, stdout, stderr io.Writer) error {
	f, r, err := openCapture(path)
	if err != nil {
		return err
	}
	defer f.Close()
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

// replayRules runs the capture through the process table and the rules,
// offline, and prints each alert: Falco's text line, or its JSON object.
func replayRules(path string, files []string, asJSON bool, stdout io.Writer) error {
	var (
		rs  *rules.Ruleset
		err error
	)
	if len(files) > 0 {
		rs, _, err = rules.Load(files...)
	} else {
		rs, _, err = defaultrules.Load()
	}
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	eng, err := engine.New(rs, engine.Options{Hostname: host})
	if err != nil {
		return err
	}
	f, r, err := openCapture(path)
	if err != nil {
		return err
	}
	defer f.Close()
	out := bufio.NewWriter(stdout)
	var line []byte
	var werr error
	emit := func(a *alert.Alert) {
		if asJSON {
			line = alert.DefaultFormat.AppendJSON(line[:0], a)
		} else {
			line = alert.DefaultFormat.AppendText(line[:0], a)
		}
		line = append(line, '\n')
		if _, err := out.Write(line); err != nil && werr == nil {
			werr = err
		}
	}
	st, err := agent.Replay(r, agent.ReplayOptions{Eval: eng, Emit: emit})
	if err != nil {
		out.Flush()
		return err
	}
	if werr != nil {
		return werr
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if st.Malformed > 0 {
		return fmt.Errorf("%d malformed records skipped", st.Malformed)
	}
	return nil
}
