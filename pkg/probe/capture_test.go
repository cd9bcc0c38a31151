package probe

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"runtime"
	"testing"

	"github.com/vigilsec/vigil/pkg/capture"
	"github.com/vigilsec/vigil/pkg/event"
)

// TestCaptureReplay records real events to a capture file and checks that
// decoding the file offline gives the very events decoded live.
func TestCaptureReplay(t *testing.T) {
	p := openProbe(t, DefaultConfig(), event.AllTypes()...)
	s := startSession(t, p)
	for _, args := range [][]string{{"openat", t.TempDir(), "f"}, {"memfd-exec"}, {"listen-accept"}} {
		s.runAction(t, args...)
	}
	s.stop()

	var file bytes.Buffer
	w, err := capture.NewWriter(&file, capture.Header{Arch: runtime.GOARCH, BootOffset: s.bootOffset})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteState(json.RawMessage(`{"version":1}`)); err != nil {
		t.Fatal(err)
	}
	for _, rec := range s.raw {
		if err := w.WriteRecord(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}

	r, err := capture.NewReader(&file)
	if err != nil {
		t.Fatal(err)
	}
	table, err := event.SyscallTableFor(r.Header().Arch)
	if err != nil {
		t.Fatal(err)
	}
	dec := event.NewDecoder(table, r.Header().BootOffset)
	var replayed []event.Event
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var ev event.Event
		if err := dec.Decode(rec, &ev); err != nil {
			t.Fatal(err)
		}
		replayed = append(replayed, ev)
	}
	if len(replayed) != len(s.events) || len(replayed) == 0 {
		t.Fatalf("replayed %d events, recorded %d", len(replayed), len(s.events))
	}
	for i := range replayed {
		if !reflect.DeepEqual(replayed[i], s.events[i]) {
			t.Fatalf("event %d differs:\nlive   %+v\nreplay %+v", i, s.events[i], replayed[i])
		}
	}
}
