package alert

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// stubborn is a sink that ignores its context: Send blocks until it
// receives from release, and Close, when closeRelease is set, until that
// is closed.
type stubborn struct {
	release      chan struct{}
	closeRelease chan struct{}
	entered      chan struct{}
	sent         atomic.Int64
}

func newStubborn(stuckClose bool) *stubborn {
	s := &stubborn{release: make(chan struct{}), entered: make(chan struct{}, 1)}
	if stuckClose {
		s.closeRelease = make(chan struct{})
	}
	return s
}

func (s *stubborn) Send(context.Context, *Alert) error {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-s.release
	s.sent.Add(1)
	return nil
}

func (s *stubborn) Close(context.Context) error {
	if s.closeRelease != nil {
		<-s.closeRelease
	}
	return nil
}

// TestCloseDeadline: Close returns by its deadline plus CloseGrace even
// when a sink's Send or Close ignores its context. The alert in flight and
// those queued are counted as dropped (shutdown), once: a Send returning
// after Close gave up on it changes no count. The other destination is
// flushed and closed.
func TestCloseDeadline(t *testing.T) {
	tests := []struct {
		name       string
		stuckClose bool
		wantErr    string
	}{
		{"send ignores ctx", false, "stuck: 1 alerts still being sent"},
		{"send and close ignore ctx", true, "output stuck: not closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stuck, ok := newStubborn(tt.stuckClose), newRecorder()
			d, err := New(noLimit(), []Destination{
				{Name: "stuck", Sink: stuck, Delivery: Delivery{QueueSize: 16}},
				{Name: "ok", Sink: ok},
			}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer close(stuck.release)
			if stuck.closeRelease != nil {
				defer close(stuck.closeRelease)
			}
			const n = 5
			for range n {
				d.Enqueue(&Alert{Rule: "r"})
			}
			<-stuck.entered
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			closed := make(chan error, 1)
			go func() { closed <- d.Close(ctx) }()
			select {
			case err = <-closed:
			case <-time.After(10 * time.Second): // far beyond the deadline: Close hangs
				t.Fatal("Close did not return after its deadline")
			}
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Close = %v, want deadline exceeded and %q", err, tt.wantErr)
			}
			check := func(when string) {
				s := d.Stats().Outputs
				if st := s["stuck"]; st.Sent != 0 || st.Dropped[DropShutdown] != n || st.Queued != 0 {
					t.Errorf("%s: stuck %+v, want %d dropped at shutdown", when, st, n)
				}
				if st := s["ok"]; st.Sent != n {
					t.Errorf("%s: ok %+v, want %d sent", when, st, n)
				}
			}
			check("after Close")
			if !ok.closed.Load() {
				t.Error("the other sink was not closed")
			}
			stuck.release <- struct{}{} // the stuck Send returns now
			for deadline := time.Now().Add(10 * time.Second); stuck.sent.Load() == 0; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the stuck Send did not return")
				}
			}
			d.workers.Wait()
			check("after the late Send")
		})
	}
}

// losing accepts every alert and loses the last lost of them at Close.
type losing struct{ lost uint64 }

func (l losing) Send(context.Context, *Alert) error { return nil }
func (l losing) Close(context.Context) error {
	return Lost(l.lost, errors.New("disconnected: buffered alerts lost"))
}

// TestLostAtClose: alerts a sink reports lost when it closes move from
// sent to dropped (shutdown).
func TestLostAtClose(t *testing.T) {
	tests := []struct {
		name             string
		lost             uint64
		sent, shutdownDs uint64
	}{
		{"none", 0, 5, 0},
		{"two", 2, 3, 2},
		{"more than sent", 9, 0, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(noLimit(), []Destination{{Name: "x", Sink: losing{tt.lost}}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for range 5 {
				d.Enqueue(&Alert{Rule: "r"})
			}
			err = d.Close(context.Background())
			if err == nil || !strings.Contains(err.Error(), "output x: disconnected") {
				t.Errorf("Close = %v", err)
			}
			st := d.Stats().Outputs["x"]
			if st.Sent != tt.sent || st.Dropped[DropShutdown] != tt.shutdownDs {
				t.Errorf("sent %d, dropped at shutdown %d; want %d, %d", st.Sent, st.Dropped[DropShutdown], tt.sent, tt.shutdownDs)
			}
		})
	}
}
