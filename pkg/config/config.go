// Package config is the agent's typed configuration: defaults, then the YAML
// file, then VIGIL_* environment variables, then command-line flags, then
// Validate — one function, one value, errors that name the key.
package config

import (
	"fmt"
	"os"
	"time"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/enrich"
	"github.com/vigilsec/vigil/pkg/metrics"
	"github.com/vigilsec/vigil/pkg/output"
	"github.com/vigilsec/vigil/pkg/probe"
)

// DefaultPath is where the agent looks for its config file when none is named.
const DefaultPath = "/etc/vigil/config.yaml"

// Config is the whole agent configuration.
type Config struct {
	// Rules selects the rules files and how they are evaluated.
	Rules Rules `yaml:"rules"`
	// Probe configures the kernel probes and the ring buffer.
	Probe probe.Config `yaml:"probe"`
	// Enrich configures container, pod, namespace and tenant metadata.
	Enrich enrich.Config `yaml:"enrich"`
	// Alerts configures rate limiting and suppression summaries.
	Alerts alert.Config `yaml:"alerts"`
	// Outputs configures where alerts go.
	Outputs output.Config `yaml:"outputs"`
	// Metrics configures the /metrics, /healthz and /readyz server.
	Metrics metrics.Config `yaml:"metrics"`
	// Log configures the agent's own logs.
	Log Log `yaml:"log"`
	// SelfAlerts configures the agent's alerts about itself.
	SelfAlerts SelfAlerts `yaml:"self_alerts"`
	// Hostname is reported in every alert; empty uses the node name, then
	// the host name.
	Hostname string `yaml:"hostname"`
	// ShutdownTimeout bounds the flush of queued alerts on SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Rules selects the rules.
type Rules struct {
	// Files are rules files and directories, loaded in order; a
	// directory's *.yaml files load in lexical order. Empty loads the
	// default rules built into the binary.
	Files []string `yaml:"files"`
	// Matching is "first" (Falco's default: only the first matching rule
	// fires per event) or "all".
	Matching string `yaml:"matching"`
	// Watch reloads the rules when a rules file or directory changes
	// (SIGHUP always reloads). The config file is watched whatever Watch
	// says, since it names the rules files and Watch itself.
	Watch bool `yaml:"watch"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is json, console, or auto (console on a terminal, else json).
	Format string `yaml:"format"`
}

// SelfAlerts configures the agent's own alerts.
type SelfAlerts struct {
	// DropThreshold is how many dropped events between two checks raise a
	// "Vigil event drops" alert; 0 disables it.
	DropThreshold uint64 `yaml:"drop_threshold"`
	// Interval is how often drops are checked, and the least time between
	// two such alerts.
	Interval time.Duration `yaml:"interval"`
}

// Default returns the configuration used when nothing else is said.
func Default() Config {
	return Config{
		Rules:           Rules{Matching: "first", Watch: true},
		Probe:           probe.DefaultConfig(),
		Enrich:          enrich.DefaultConfig(),
		Alerts:          alert.DefaultConfig(),
		Outputs:         output.DefaultConfig(),
		Metrics:         metrics.DefaultConfig(),
		Log:             Log{Level: "info", Format: "auto"},
		SelfAlerts:      SelfAlerts{DropThreshold: 1, Interval: 10 * time.Second},
		ShutdownTimeout: 5 * time.Second,
	}
}

// Load builds the configuration: defaults, then the file at path (a missing
// file is an error unless path is DefaultPath or empty), then VIGIL_*
// environment variables. Flags are applied by the caller afterwards, then
// Validate.
func Load(path string) (Config, error) {
	c := Default()
	optional := path == "" || path == DefaultPath
	if path == "" {
		path = DefaultPath
	}
	if err := decodeFile(path, &c, optional); err != nil {
		return c, err
	}
	if err := applyEnv(&c, EnvPrefix, os.LookupEnv); err != nil {
		return c, fmt.Errorf("config: environment: %w", err)
	}
	return c, nil
}

// Validate reports the first invalid setting, naming its key.
func (c Config) Validate() error {
	switch c.Rules.Matching {
	case "first", "all":
	default:
		return fmt.Errorf("rules.matching: %q is neither \"first\" nor \"all\"", c.Rules.Matching)
	}
	if err := c.Probe.Validate(); err != nil {
		return fmt.Errorf("probe.%w", err)
	}
	if err := c.Enrich.Validate(); err != nil {
		return fmt.Errorf("enrich.%w", err)
	}
	if err := c.Alerts.Validate(); err != nil {
		return fmt.Errorf("alerts.%w", err)
	}
	if err := c.Outputs.Validate(); err != nil {
		return fmt.Errorf("outputs.%w", err)
	}
	if err := c.Metrics.Validate(); err != nil {
		return err // already names metrics.*
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "console", "auto":
	default:
		return fmt.Errorf("log.format: %q is not one of json, console, auto", c.Log.Format)
	}
	if c.SelfAlerts.DropThreshold > 0 && c.SelfAlerts.Interval <= 0 {
		return fmt.Errorf("self_alerts.interval: must be > 0, got %v", c.SelfAlerts.Interval)
	}
	if c.ShutdownTimeout <= 0 {
		return fmt.Errorf("shutdown_timeout: must be > 0, got %v", c.ShutdownTimeout)
	}
	return nil
}
