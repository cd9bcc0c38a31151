package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/capture"
	"github.com/vigilsec/vigil/pkg/engine"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/state"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// TestLiveAndReplayedPipelinesAgree records real activity while a live
// pipeline runs the default rules on it, then replays the capture offline:
// the state-enriched events and the alerts must be the same, and a filter
// that rejects the symlink events must suppress exactly that alert.
func TestLiveAndReplayedPipelinesAgree(t *testing.T) {
	testutil.RequireRoot(t)
	actions := testutil.ActionsBinary(t)
	rs, err := loadRules(nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	pr := openProbeFor(t, rs)

	var file bytes.Buffer
	boot := event.BootOffset()
	w, err := capture.NewWriter(&file, capture.Header{Arch: runtime.GOARCH, BootOffset: boot})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := state.ScanProc("/proc")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteState(raw); err != nil {
		t.Fatal(err)
	}
	liveState := state.New(state.Options{})
	if err := liveState.Seed(snap); err != nil {
		t.Fatal(err)
	}

	fixed := time.Unix(1_700_000_000, 0)
	newEngine := func() *engine.Engine {
		e, err := engine.New(rs, engine.Options{Hostname: "test", Now: func() time.Time { return fixed }})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	collect := func(events *[]string, alerts *[]string) (func(*event.Event), func(*alert.Alert)) {
		return func(ev *event.Event) {
				*events = append(*events, string(event.AppendJSON(nil, ev)))
			}, func(a *alert.Alert) {
				*alerts = append(*alerts, a.Rule+": "+a.Output)
			}
	}
	var liveEvents, liveAlerts []string
	obs, emit := collect(&liveEvents, &liveAlerts)
	live := NewPipeline(PipelineOptions{
		Decoder: event.NewDecoder(pr.SyscallTable(), boot),
		State:   liveState, Eval: newEngine(), Emit: emit, Observe: obs,
	})

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = pr.Run(ctx, func(rec []byte) {
			if err := w.WriteRecord(rec); err != nil {
				t.Error(err)
			}
			live.Handle(rec)
		})
	}()
	link := filepath.Join(t.TempDir(), "shadow-link")
	if out, err := exec.Command(actions, "symlink", "/etc/shadow", link).CombinedOutput(); err != nil {
		t.Fatalf("symlink action: %v\n%s", err, out)
	}
	if out, err := exec.Command("cat", "/etc/shadow").CombinedOutput(); err != nil {
		t.Fatalf("cat: %v\n%s", err, out)
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	wg.Wait()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !containsAll(liveAlerts, "Symlink to sensitive file: ", link) {
		t.Fatalf("live pipeline raised no symlink alert for %s: %v", link, liveAlerts)
	}

	replay := func(filter func(*event.Event) bool) (events, alerts []string, st ReplayStats) {
		r, err := capture.NewReader(bytes.NewReader(file.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		obs, emit := collect(&events, &alerts)
		st, err = Replay(r, ReplayOptions{Eval: newEngine(), Emit: emit, Observe: obs, Filter: filter})
		if err != nil {
			t.Fatal(err)
		}
		return events, alerts, st
	}
	events, alerts, st := replay(nil)
	if st.Records == 0 || st.Malformed != 0 {
		t.Fatalf("replay stats %+v", st)
	}
	if len(events) != len(liveEvents) {
		t.Fatalf("replayed %d events, live %d", len(events), len(liveEvents))
	}
	for i := range events {
		if events[i] != liveEvents[i] {
			t.Fatalf("event %d differs:\nlive:   %s\nreplay: %s", i, liveEvents[i], events[i])
		}
	}
	if strings.Join(alerts, "\n") != strings.Join(liveAlerts, "\n") {
		t.Fatalf("replayed alerts differ:\nlive:   %v\nreplay: %v", liveAlerts, alerts)
	}

	_, filteredAlerts, fst := replay(func(ev *event.Event) bool {
		return ev.Type != event.TypeSymlink && ev.Type != event.TypeSymlinkat
	})
	if fst.Filtered == 0 || containsAll(filteredAlerts, "Symlink to sensitive file: ", link) {
		t.Fatalf("filter did not drop the symlink events: %+v %v", fst, filteredAlerts)
	}
	if !containsAll(filteredAlerts, "Sensitive file read by unexpected program: ", "/etc/shadow") {
		t.Fatalf("filter dropped more than the symlink events: %v", filteredAlerts)
	}
}

func containsAll(lines []string, prefix, sub string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) && strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func TestReplayRejectsCorruptCaptures(t *testing.T) {
	var file bytes.Buffer
	w, err := capture.NewWriter(&file, capture.Header{Arch: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteState([]byte(`{"Version":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRecord([]byte{0xff, 1, 2, 3}); err != nil { // a malformed record
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r, err := capture.NewReader(bytes.NewReader(file.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Replay(r, ReplayOptions{})
	if err != nil || st.Records != 1 || st.Malformed != 1 {
		t.Fatalf("malformed record: stats %+v err %v; want it counted and skipped", st, err)
	}
	// A truncated file: the error names an offset.
	r, err = capture.NewReader(bytes.NewReader(file.Bytes()[:file.Len()-2]))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Replay(r, ReplayOptions{}); err == nil || !strings.Contains(err.Error(), "offset") {
		t.Fatalf("truncated capture: err %v, want one naming the offset", err)
	}
}
