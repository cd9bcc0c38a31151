// Package stdout writes alerts to the agent's standard output, one per
// line, as Falco's text line or as Falco's JSON object.
package stdout

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/vigilsec/vigil/pkg/alert"
)

// Config configures the stdout output.
type Config struct {
	Enabled bool `yaml:"enabled"`
	// Format is "text" (Falco's "<time>: <Priority> <output>") or "json".
	Format string `yaml:"format"`

	alert.Route    `yaml:",inline"`
	alert.Delivery `yaml:",inline"`
}

// DefaultConfig returns the defaults: enabled, text lines.
func DefaultConfig() Config {
	return Config{Enabled: true, Format: "text"}
}

// Validate checks an enabled config; errors name the key.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	if err := checkFormat(c.Format); err != nil {
		return err
	}
	if err := c.Route.Validate(); err != nil {
		return err
	}
	return c.Delivery.Validate()
}

func checkFormat(f string) error {
	switch f {
	case "", "text", "json":
		return nil
	}
	return fmt.Errorf("format: want text or json, got %q", f)
}

// Output writes alert lines to a writer. It is safe for concurrent use:
// each line is written whole, with one Write.
type Output struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
	f    alert.Format
	buf  []byte
}

// New returns the output writing to w (os.Stdout in the agent); f sets
// the time layout of the lines.
func New(cfg Config, w io.Writer, f alert.Format) *Output {
	return &Output{w: w, json: cfg.Format == "json", f: f}
}

// Send writes a's line.
func (o *Output) Send(_ context.Context, a *alert.Alert) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.json {
		o.buf = o.f.AppendJSON(o.buf[:0], a)
	} else {
		o.buf = o.f.AppendText(o.buf[:0], a)
	}
	o.buf = append(o.buf, '\n')
	_, err := o.w.Write(o.buf)
	return err
}

// Close does nothing: the writer belongs to the caller.
func (o *Output) Close(context.Context) error { return nil }
