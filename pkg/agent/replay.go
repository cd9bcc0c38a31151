package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/capture"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/state"
)

// ReplayOptions configure Replay.
type ReplayOptions struct {
	// Eval runs rules on each event; nil replays events only.
	Eval Evaluator
	// Emit receives the alerts Eval raises.
	Emit func(*alert.Alert)
	// Observe sees every event after the state stage.
	Observe func(*event.Event)
	// Filter, when set, drops the events it rejects before the state stage,
	// as an in-kernel prefilter would.
	Filter func(*event.Event) bool
}

// ReplayStats count what a replay saw.
type ReplayStats struct {
	// Records is the number of records read; Malformed those skipped.
	Records, Malformed uint64
	// Filtered counts events the filter dropped.
	Filtered uint64
}

// Replay runs the records of a capture through the event path offline (no
// root, no kernel): the decoder of the recording architecture, the process
// table seeded from the capture's initial state, then the rules. Workload
// metadata is not replayed: events carry none. A corrupt capture stops the
// replay with an error naming the offset; malformed records are counted and
// skipped, as live.
func Replay(r *capture.Reader, o ReplayOptions) (ReplayStats, error) {
	var st ReplayStats
	h := r.Header()
	table, err := event.SyscallTableFor(h.Arch)
	if err != nil {
		return st, err
	}
	tbl := state.New(state.Options{})
	if raw := r.State(); len(raw) > 0 {
		var snap state.Snapshot
		if err := json.Unmarshal(raw, &snap); err != nil {
			return st, fmt.Errorf("capture's initial state: %w", err)
		}
		if err := tbl.Seed(&snap); err != nil {
			return st, fmt.Errorf("capture's initial state: %w", err)
		}
	}
	pipe := NewPipeline(PipelineOptions{
		Decoder: event.NewDecoder(table, h.BootOffset),
		State:   tbl,
		Eval:    o.Eval,
		Emit:    o.Emit,
		Observe: o.Observe,
		Filter:  o.Filter,
	})
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, err
		}
		st.Records++
		pipe.Handle(rec)
	}
	ps := pipe.Stats()
	st.Malformed = ps.DecodeErrors
	st.Filtered = ps.Filtered
	return st, nil
}
