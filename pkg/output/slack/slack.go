// Package slack posts alerts to a Slack incoming webhook: a text line plus
// one attachment coloured by priority with the rule, priority, tenant,
// workload and output fields. Mattermost and Rocket.Chat accept the same
// payload on their Slack-compatible incoming webhooks.
package slack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/output/internal/httpsend"
	"github.com/vigilsec/vigil/pkg/output/tlsconf"
)

// Config configures the Slack output.
type Config struct {
	Enabled bool `yaml:"enabled"`
	// WebhookURL is the incoming webhook's URL.
	WebhookURL string `yaml:"webhook_url"`
	// Channel, Username and IconURL override the webhook's defaults when
	// set (honoured by Mattermost and Rocket.Chat, ignored by new Slack apps).
	Channel  string `yaml:"channel"`
	Username string `yaml:"username"`
	IconURL  string `yaml:"icon_url"`
	// OutputFields adds a field per output field of the rule (default true).
	OutputFields *bool `yaml:"output_fields"`
	// Timeout bounds each request (default 5s).
	Timeout time.Duration `yaml:"timeout"`
	TLS     tlsconf.TLS   `yaml:"tls"`

	alert.Route    `yaml:",inline"`
	alert.Delivery `yaml:",inline"`
}

// DefaultConfig returns the defaults: disabled, username "Vigil", output
// fields shown, 5 s timeout, 4 attempts with backoff from 1 s.
func DefaultConfig() Config { return Config{}.WithDefaults() }

// WithDefaults fills the zero fields with the defaults.
func (c Config) WithDefaults() Config {
	if c.Username == "" {
		c.Username = "Vigil"
	}
	if c.OutputFields == nil {
		on := true
		c.OutputFields = &on
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 4
	}
	if c.Backoff == 0 {
		c.Backoff = time.Second
	}
	c.Delivery = c.Delivery.WithDefaults()
	return c
}

// Validate checks an enabled config; errors name the key.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	u, err := url.Parse(c.WebhookURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook_url: want an http(s) URL with a host, got %q", c.WebhookURL)
	}
	if c.Timeout < 0 {
		return errors.New("timeout: negative")
	}
	if err := c.TLS.Validate(); err != nil {
		return err
	}
	if err := c.Route.Validate(); err != nil {
		return err
	}
	return c.Delivery.Validate()
}

// Output posts alerts to a Slack-compatible incoming webhook. It is safe
// for concurrent use.
type Output struct {
	cfg    Config
	client *httpsend.Client
	format alert.Format
}

// New returns the output for cfg (defaults applied); f sets the time zone
// of the time shown in the message.
func New(cfg Config, f alert.Format) (*Output, error) {
	cfg = cfg.WithDefaults()
	c, err := httpsend.New(cfg.WebhookURL, nil, cfg.Timeout, cfg.TLS)
	if err != nil {
		return nil, err
	}
	return &Output{cfg: cfg, client: c, format: f}, nil
}

// Send posts the message for a; 5xx, 408, 429 and transport errors are
// retryable, other refusals permanent.
func (o *Output) Send(ctx context.Context, a *alert.Alert) error {
	body, err := o.Payload(a)
	if err != nil {
		return alert.Permanent(err)
	}
	return o.client.Post(ctx, body)
}

// Close releases the client's connections.
func (o *Output) Close(context.Context) error { return o.client.Close() }
