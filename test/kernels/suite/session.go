package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sync"
	"time"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/probe"
)

// waitTimeout bounds the wait for an action's exit event; emulated guests
// are slow.
const waitTimeout = 45 * time.Second

// session reads a running probe and keeps every decoded event.
type session struct {
	cancel context.CancelFunc
	done   chan error

	mu        sync.Mutex
	events    []event.Event
	decodeErr error
}

func startSession(p *probe.Probe) *session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{cancel: cancel, done: make(chan error, 1)}
	dec := event.NewDecoder(p.SyscallTable(), event.BootOffset())
	go func() {
		s.done <- p.Run(ctx, func(rec []byte) {
			var ev event.Event
			err := dec.Decode(rec, &ev)
			s.mu.Lock()
			defer s.mu.Unlock()
			if err != nil {
				if s.decodeErr == nil {
					s.decodeErr = err
				}
				return
			}
			s.events = append(s.events, ev)
		})
	}()
	return s
}

// stop ends the reader and returns its error or the first decode error.
func (s *session) stop() error {
	s.cancel()
	err := <-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		err = s.decodeErr
	}
	return err
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

// waitExit waits for the exit event of pid.
func (s *session) waitExit(pid uint32) bool {
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for i := range s.events {
			if s.events[i].Type == event.TypeProcExit && s.events[i].Pid == pid {
				s.mu.Unlock()
				return true
			}
		}
		s.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// run runs the actions helper, waits for its exit event, and returns the
// JSON object of its last output line and its pid.
func (s *session) run(actions string, args ...string) (map[string]any, uint32, error) {
	cmd := exec.Command(actions, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, 0, fmt.Errorf("actions %v: %v: %s", args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	pid := uint32(cmd.Process.Pid)
	if !s.waitExit(pid) {
		return nil, pid, fmt.Errorf("no exit event for actions %v (pid %d) within %s", args, pid, waitTimeout)
	}
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	var res map[string]any
	if err := json.Unmarshal(lines[len(lines)-1], &res); err != nil {
		return nil, pid, fmt.Errorf("actions %v output %q: %v", args, out, err)
	}
	return res, pid, nil
}
