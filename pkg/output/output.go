// Package output builds the configured alert outputs: it holds the
// aggregate config of every sink (stdout, file, nats, webhook, slack, plus
// per-tenant Slack and webhook destinations) and turns it into the
// alert.Destinations the alert.Dispatcher delivers to.
package output

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/output/file"
	"github.com/vigilsec/vigil/pkg/output/nats"
	"github.com/vigilsec/vigil/pkg/output/slack"
	"github.com/vigilsec/vigil/pkg/output/stdout"
	"github.com/vigilsec/vigil/pkg/output/webhook"
)

// Output is one sink; every output package's *Output implements it, and
// it is the alert.Sink the Dispatcher drives.
type Output interface {
	alert.Sink
}

// Config is the outputs section of the agent's config.
type Config struct {
	Stdout  stdout.Config  `yaml:"stdout"`
	File    file.Config    `yaml:"file"`
	NATS    nats.Config    `yaml:"nats"`
	Webhook webhook.Config `yaml:"webhook"`
	Slack   slack.Config   `yaml:"slack"`
	// Tenants gives tenants their own destinations, which receive that
	// tenant's alerts only (their routes' tenants list is ignored); the
	// global outputs above still get them per their own routes. A
	// tenant's NATS subject is set in nats.tenant_subjects.
	Tenants map[string]TenantConfig `yaml:"tenants"`
	// TimeFormat: "local" (Falco's default: the host's time zone), "utc",
	// or "iso8601" (ISO 8601 dates in UTC, Falco's time_format_iso_8601),
	// for the time in text lines and in the JSON "output" string.
	TimeFormat string `yaml:"time_format"`
}

// TenantConfig holds one tenant's own destinations; unset fields take the
// sink's defaults.
type TenantConfig struct {
	Slack   *slack.Config   `yaml:"slack"`
	Webhook *webhook.Config `yaml:"webhook"`
}

// DefaultConfig returns the defaults: Falco text lines on stdout, every
// other output disabled.
func DefaultConfig() Config {
	return Config{
		Stdout:     stdout.DefaultConfig(),
		File:       file.DefaultConfig(),
		NATS:       nats.DefaultConfig(),
		Webhook:    webhook.DefaultConfig(),
		Slack:      slack.DefaultConfig(),
		TimeFormat: "local",
	}
}

// Validate checks every enabled output; errors name the key from the
// outputs section down (e.g. "nats.subject: ...").
func (c Config) Validate() error {
	checks := []struct {
		key string
		err error
	}{
		{"stdout", c.Stdout.Validate()},
		{"file", c.File.Validate()},
		{"nats", c.NATS.Validate()},
		{"webhook", c.Webhook.Validate()},
		{"slack", c.Slack.Validate()},
	}
	for _, ch := range checks {
		if ch.err != nil {
			return fmt.Errorf("%s.%w", ch.key, ch.err)
		}
	}
	if _, err := c.format(); err != nil {
		return err
	}
	for _, t := range c.tenantNames() {
		if t == "" {
			return errors.New("tenants: empty tenant name")
		}
		tc := c.Tenants[t]
		if tc.Slack != nil {
			if err := tc.Slack.Validate(); err != nil {
				return fmt.Errorf("tenants.%s.slack.%w", t, err)
			}
		}
		if tc.Webhook != nil {
			if err := tc.Webhook.Validate(); err != nil {
				return fmt.Errorf("tenants.%s.webhook.%w", t, err)
			}
		}
	}
	return nil
}

func (c Config) tenantNames() []string {
	names := make([]string, 0, len(c.Tenants))
	for t := range c.Tenants {
		names = append(names, t)
	}
	sort.Strings(names)
	return names
}

func (c Config) format() (alert.Format, error) {
	switch c.TimeFormat {
	case "", "local":
		return alert.Format{Location: time.Local}, nil
	case "utc":
		return alert.Format{Location: time.UTC}, nil
	case "iso8601":
		return alert.Format{ISO8601: true}, nil
	}
	return alert.Format{}, fmt.Errorf("time_format: want local, utc or iso8601, got %q", c.TimeFormat)
}

// Options are what Build needs besides the config.
type Options struct {
	// Stdout receives the stdout output's lines (os.Stdout when nil).
	Stdout io.Writer
	// Logger receives connection events (NATS) and the outputs that could
	// not be started; nil discards them.
	Logger *zap.Logger
}

// Build validates c and starts every enabled output it can, named
// "stdout", "file", "nats", "webhook", "slack", and "slack/<tenant>",
// "webhook/<tenant>" for tenants' own destinations.
//
// An invalid config (a mistake in the YAML: unknown placeholder in a NATS
// subject, bad URL, ...) starts nothing and returns the error, naming the
// key. An output that is valid but cannot be created (a file path that
// cannot be opened, an unreadable TLS or nkey file) is left out and logged
// as an error naming it, and the others start: one output failing never
// stops the others. Only when every enabled output failed does Build
// return an error (joining theirs), as no alert could be delivered.
// Nothing waits for the network: NATS connects and creates its JetStream
// stream in the background, so ctx bounds nothing today.
func Build(_ context.Context, c Config, opts Options) ([]alert.Destination, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	f, _ := c.format()
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	var dests []alert.Destination
	var failed []error
	add := func(name string, r alert.Route, d alert.Delivery, o Output, err error) {
		if err != nil {
			log.Error("output not started", zap.String("output", name), zap.Error(err))
			failed = append(failed, fmt.Errorf("%s: %w", name, err))
			return
		}
		dests = append(dests, alert.Destination{Name: name, Route: r, Delivery: d, Sink: o})
	}
	if c.Stdout.Enabled {
		add("stdout", c.Stdout.Route, c.Stdout.Delivery, stdout.New(c.Stdout, opts.Stdout, f), nil)
	}
	if c.File.Enabled {
		o, err := file.New(c.File, f)
		add("file", c.File.Route, c.File.Delivery, o, err)
	}
	if c.NATS.Enabled {
		cfg := c.NATS.WithDefaults()
		o, err := nats.New(cfg, f, opts.Logger)
		add("nats", cfg.Route, cfg.Delivery, o, err)
	}
	addWebhook := func(name string, cfg webhook.Config, r alert.Route) {
		cfg = cfg.WithDefaults()
		o, err := webhook.New(cfg, f)
		add(name, r, cfg.Delivery, o, err)
	}
	addSlack := func(name string, cfg slack.Config, r alert.Route) {
		cfg = cfg.WithDefaults()
		o, err := slack.New(cfg, f)
		add(name, r, cfg.Delivery, o, err)
	}
	if c.Webhook.Enabled {
		addWebhook("webhook", c.Webhook, c.Webhook.Route)
	}
	if c.Slack.Enabled {
		addSlack("slack", c.Slack, c.Slack.Route)
	}
	for _, t := range c.tenantNames() {
		tc := c.Tenants[t]
		if tc.Slack != nil && tc.Slack.Enabled {
			r := tc.Slack.Route
			r.Tenants = []string{t}
			addSlack("slack/"+t, *tc.Slack, r)
		}
		if tc.Webhook != nil && tc.Webhook.Enabled {
			r := tc.Webhook.Route
			r.Tenants = []string{t}
			addWebhook("webhook/"+t, *tc.Webhook, r)
		}
	}
	if len(dests) == 0 && len(failed) > 0 {
		return nil, fmt.Errorf("no output could be started: %w", errors.Join(failed...))
	}
	return dests, nil
}
