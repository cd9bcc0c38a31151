package probe

import (
	"context"
	"encoding/json"
	"os/exec"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// actionsBinary builds test/actions once per test binary.
func actionsBinary(t testing.TB) string { return testutil.ActionsBinary(t) }

// openProbe opens a probe recording types, closed at the end of the test.
func openProbe(t testing.TB, cfg Config, types ...event.Type) *Probe {
	t.Helper()
	testutil.RequireRoot(t)
	p, err := Open(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.SetEventTypes(types); err != nil {
		t.Fatalf("SetEventTypes: %v", err)
	}
	return p
}

// session runs a probe in the background and decodes every record.
type session struct {
	t      testing.TB
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	events []event.Event
	raw    [][]byte
	// bootOffset is the boot-to-wall offset the session decodes with.
	bootOffset int64
}

func startSession(t testing.TB, p *Probe) *session {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{t: t, cancel: cancel, done: make(chan error, 1), bootOffset: event.BootOffset()}
	dec := event.NewDecoder(p.SyscallTable(), s.bootOffset)
	go func() {
		s.done <- p.Run(ctx, func(rec []byte) {
			var ev event.Event
			if err := dec.Decode(rec, &ev); err != nil {
				t.Errorf("decode: %v", err)
				return
			}
			s.mu.Lock()
			s.events = append(s.events, ev)
			s.raw = append(s.raw, append([]byte(nil), rec...))
			s.mu.Unlock()
		})
	}()
	t.Cleanup(s.stop)
	return s
}

func (s *session) stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	if err := <-s.done; err != nil {
		s.t.Errorf("Run: %v", err)
	}
}

// waitFor waits until an event matching ok has been decoded.
func (s *session) waitFor(ok func(*event.Event) bool) bool {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for i := range s.events {
			if ok(&s.events[i]) {
				s.mu.Unlock()
				return true
			}
		}
		s.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// of returns the events of process pid.
func (s *session) of(pid uint32) []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []event.Event
	for _, ev := range s.events {
		if ev.Pid == pid {
			out = append(out, ev)
		}
	}
	return out
}

// runAction runs the helper, waits for its exit event, and returns its
// decoded JSON output (the last line) and its pid.
func (s *session) runAction(t testing.TB, args ...string) (map[string]any, uint32) {
	t.Helper()
	return s.runExe(t, actionsBinary(t), args...)
}

// runExe is runAction with a copy of the helper at another path.
func (s *session) runExe(t testing.TB, exe string, args ...string) (map[string]any, uint32) {
	t.Helper()
	cmd := exec.Command(exe, args...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("actions %v: %v\n%s", args, err, out)
	}
	pid := uint32(cmd.Process.Pid)
	if !s.waitFor(func(ev *event.Event) bool { return ev.Type == event.TypeProcExit && ev.Pid == pid }) {
		t.Fatalf("no exit event for actions %v (pid %d)", args, pid)
	}
	lines := splitLines(out)
	var res map[string]any
	if err := json.Unmarshal(lines[len(lines)-1], &res); err != nil {
		t.Fatalf("actions %v output %q: %v", args, out, err)
	}
	return res, pid
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		if i > 0 {
			out = append(out, b[:i])
		}
		if i == len(b) {
			break
		}
		b = b[i+1:]
	}
	return out
}
