package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/testutil"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestExampleConfigLoads keeps deploy/config.example.yaml in step with the
// config types: every key it documents must exist and validate.
func TestExampleConfigLoads(t *testing.T) {
	example := filepath.Join(testutil.RepoRoot(), "deploy", "config.example.yaml")
	c, err := Load(example)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadOrderAndErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	write("rules:\n  matching: all\nmetrics:\n  listen_address: 127.0.0.1:9999\n")
	t.Setenv("VIGIL_METRICS_LISTEN_ADDRESS", "127.0.0.1:7777")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Rules.Matching != "all" {
		t.Errorf("file value lost: matching=%q", c.Rules.Matching)
	}
	if c.Metrics.ListenAddress != "127.0.0.1:7777" {
		t.Errorf("environment does not override the file: %q", c.Metrics.ListenAddress)
	}
	if c.Probe.QueueSize != Default().Probe.QueueSize {
		t.Errorf("default lost: queue_size=%d", c.Probe.QueueSize)
	}

	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "rules:\n  matchng: all\n", "config.yaml: line 2: field matchng not found"},
		{"bad matching", "rules:\n  matching: some\n", "rules.matching"},
		{"bad log level", "log:\n  level: loud\n", "log.level"},
		{"bad ring buffer", "probe:\n  ring_buffer_size: 1000\n", "probe.ring_buffer_size"},
		{"bad nats", "outputs:\n  nats:\n    enabled: true\n    token: t\n    user: u\n", "outputs.nats."},
	}
	t.Setenv("VIGIL_METRICS_LISTEN_ADDRESS", "")
	os.Unsetenv("VIGIL_METRICS_LISTEN_ADDRESS")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			write(tt.yaml)
			c, err := Load(path)
			if err == nil {
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}

	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("a missing named config file is not an error")
	}
}

func TestApplyOutputFlags(t *testing.T) {
	c := Default()
	ApplyOutputFlags(&c, OutputFlags{JSON: true, Webhook: "http://127.0.0.1:1/x", NATS: "nats://127.0.0.1:4222"})
	if !c.Outputs.Stdout.Enabled || c.Outputs.Stdout.Format != "json" {
		t.Errorf("stdout %+v", c.Outputs.Stdout)
	}
	if !c.Outputs.Webhook.Enabled || c.Outputs.Webhook.URL != "http://127.0.0.1:1/x" {
		t.Errorf("webhook %+v", c.Outputs.Webhook)
	}
	if !c.Outputs.NATS.Enabled || c.Outputs.NATS.URL != "nats://127.0.0.1:4222" {
		t.Errorf("nats %+v", c.Outputs.NATS)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	ApplyOutputFlags(&c, OutputFlags{Events: true})
	if c.Outputs.Stdout.Enabled {
		t.Error("events mode with other outputs keeps alerts on stdout")
	}
}

// FuzzDecodeConfig feeds arbitrary YAML to the config decoder: it must
// return an error or a config, never panic.
func FuzzDecodeConfig(f *testing.F) {
	f.Add([]byte("rules:\n  matching: all\n"))
	f.Add([]byte("outputs:\n  nats:\n    enabled: true\n    url: nats://x\n"))
	f.Add([]byte("probe: [1, 2]\n"))
	f.Add([]byte("enrich:\n  static_tenants:\n    - namespace: a*\n      tenant: t\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Default()
		if err := decodeBytes("fuzz.yaml", data, &c); err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		_ = c.Validate()
	})
}
