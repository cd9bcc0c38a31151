// Package webhook posts each alert as Falco's JSON object to an HTTP
// endpoint, the way Falco's http_output does, so falcosidekick and other
// readers of Falco alerts can consume Vigil's.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/output/internal/httpsend"
	"github.com/vigilsec/vigil/pkg/output/tlsconf"
)

// Config configures the webhook output.
type Config struct {
	Enabled bool `yaml:"enabled"`
	// URL receives one POST per alert (Content-Type: application/json).
	URL string `yaml:"url"`
	// Headers are added to every request (e.g. Authorization).
	Headers map[string]string `yaml:"headers"`
	// Timeout bounds each request (default 5s).
	Timeout time.Duration `yaml:"timeout"`
	TLS     tlsconf.TLS   `yaml:"tls"`

	alert.Route    `yaml:",inline"`
	alert.Delivery `yaml:",inline"`
}

// DefaultConfig returns the defaults: disabled, 5 s timeout, 4 attempts
// with backoff from 500 ms.
func DefaultConfig() Config {
	return Config{}.WithDefaults()
}

// WithDefaults fills the zero fields with the defaults.
func (c Config) WithDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 4
	}
	if c.Backoff == 0 {
		c.Backoff = 500 * time.Millisecond
	}
	c.Delivery = c.Delivery.WithDefaults()
	return c
}

// Validate checks an enabled config; errors name the key.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	if err := validURL(c.URL); err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("timeout: %v is negative", c.Timeout)
	}
	for k := range c.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			return fmt.Errorf("headers: invalid header name %q", k)
		}
	}
	if err := c.TLS.Validate(); err != nil {
		return err
	}
	if err := c.Route.Validate(); err != nil {
		return err
	}
	return c.Delivery.Validate()
}

func validURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return errors.New("want an http:// or https:// URL with a host, got " + s)
	}
	return nil
}

// Output posts alerts to the configured URL. It is safe for concurrent use.
type Output struct {
	client *httpsend.Client
	format alert.Format
}

// New returns the output for cfg (defaults applied); f sets the time zone
// of the "output" text in the JSON.
func New(cfg Config, f alert.Format) (*Output, error) {
	cfg = cfg.WithDefaults()
	c, err := httpsend.New(cfg.URL, cfg.Headers, cfg.Timeout, cfg.TLS)
	if err != nil {
		return nil, err
	}
	return &Output{client: c, format: f}, nil
}

// Send posts a's JSON; 5xx, 408, 429 and transport errors are retryable,
// other refusals permanent.
func (o *Output) Send(ctx context.Context, a *alert.Alert) error {
	return o.client.Post(ctx, o.format.AppendJSON(nil, a))
}

// Close releases the client's connections.
func (o *Output) Close(context.Context) error { return o.client.Close() }
