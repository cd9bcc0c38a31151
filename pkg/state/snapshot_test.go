package state

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// goldenSnapshot is seedSnapshot after a socket was connected, a child
// forked and a process exited, taken back out of the table.
func goldenSnapshot(t *testing.T) *Snapshot {
	h := newHarness(t, Options{})
	h.apply(ev(event.TypeSocket, bashPID, initPID, 3, event.Args{Domain: event.AFInet6, SockType: sockStream}))
	h.apply(ev(event.TypeConnect, bashPID, initPID, 0, event.Args{Fd: 3, Addr: sa6("2001:db8::1", 443), LocalAddr: sa6("2001:db8::2", 50000)}))
	h.apply(ev(event.TypeFork, bashPID, initPID, 200, event.Args{}))
	h.apply(ev(event.TypeFork, bashPID, initPID, 201, event.Args{}))
	h.apply(ev(event.TypeProcExit, 201, bashPID, 0, event.Args{}))
	return h.tab.Snapshot(h.now)
}

func TestSnapshotGolden(t *testing.T) {
	got, err := json.MarshalIndent(goldenSnapshot(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	const path = "testdata/snapshot.golden"
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("snapshot JSON differs from %s (run with -update if intended):\n%s", path, got)
	}
	var back Snapshot
	if err := json.Unmarshal(want, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, goldenSnapshot(t)) {
		t.Fatal("golden snapshot does not round-trip")
	}
}

func TestSeedRejectsUnknownFDType(t *testing.T) {
	s := &Snapshot{Processes: []ProcessSnapshot{{Pid: 5, FDs: []FDSnapshot{{Num: 1, Type: "zz"}}}}}
	err := New(Options{}).Seed(s)
	if err == nil || !strings.Contains(err.Error(), "process 5 fd 1") {
		t.Fatalf("err = %v", err)
	}
}

func TestFDTypeCharsRoundTrip(t *testing.T) {
	for typ := event.FDUnknown; typ <= event.FDBPF; typ++ {
		got, err := fdTypeFromChar(string(typ.TypeChar()))
		if err != nil || got != typ {
			t.Errorf("%v: got %v, %v", typ, got, err)
		}
	}
}
