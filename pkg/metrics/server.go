package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server is the running metrics and health HTTP server.
type Server struct {
	srv     *http.Server
	ln      net.Listener
	timeout time.Duration
	done    chan struct{}
	err     error // what Serve returned, set before done is closed
}

// Start validates cfg, binds cfg.ListenAddress (so that a port in use fails
// the agent's start, not a goroutine later) and serves h in the background
// until Shutdown. With cfg.Enabled false it returns nil, nil.
func Start(cfg Config, h http.Handler) (*Server, error) {
	if !cfg.Enabled {
		return nil, nil
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddress)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s: %w", cfg.ListenAddress, err)
	}
	s := &Server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 5 * time.Second,
			IdleTimeout:       60 * time.Second,
		},
		ln:      ln,
		timeout: cfg.ShutdownTimeout,
		done:    make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
	}()
	return s, nil
}

// Addr returns the address the server listens on (with the real port when
// the configured one was 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Done is closed when the server has stopped serving.
func (s *Server) Done() <-chan struct{} { return s.done }

// Shutdown stops accepting connections and waits for in-flight requests,
// for at most the configured shutdown timeout or until ctx ends; then it
// closes whatever is left. It returns the serve error, if serving failed,
// or the shutdown error.
func (s *Server) Shutdown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	<-s.done
	if s.err != nil {
		return fmt.Errorf("metrics: serve: %w", s.err)
	}
	if err != nil {
		return fmt.Errorf("metrics: shutdown: %w", err)
	}
	return nil
}
