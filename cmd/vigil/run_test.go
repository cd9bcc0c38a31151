package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBuildConfigPrecedence checks the order vigil run applies: defaults,
// then the file, then VIGIL_* variables, then flags, then Validate, whose
// error names the key.
func TestBuildConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte(`
log:
  level: error
rules:
  files: [/from/file.yaml]
metrics:
  listen_address: "127.0.0.1:1111"
outputs:
  webhook:
    url: http://file.example/
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		flags   runFlags
		level   string
		rules   []string
		metrics string
		webhook string
		stdout  string // stdout output format
		wantErr string // substring of the error, naming the key
	}{
		{name: "file", level: "error", rules: []string{"/from/file.yaml"}, metrics: "127.0.0.1:1111", webhook: "http://file.example/", stdout: "text"},
		{name: "environment over file",
			env:   map[string]string{"VIGIL_LOG_LEVEL": "warn", "VIGIL_RULES_FILES": "/env/a.yaml,/env/b.yaml", "VIGIL_METRICS_LISTEN_ADDRESS": "127.0.0.1:2222"},
			level: "warn", rules: []string{"/env/a.yaml", "/env/b.yaml"}, metrics: "127.0.0.1:2222", webhook: "http://file.example/", stdout: "text"},
		{name: "flags over environment",
			env:   map[string]string{"VIGIL_LOG_LEVEL": "warn", "VIGIL_RULES_FILES": "/env/a.yaml", "VIGIL_METRICS_LISTEN_ADDRESS": "127.0.0.1:2222"},
			flags: runFlags{logLevel: "debug", rulesFiles: []string{"/flag/1.yaml", "/flag/2"}, metricsAddr: "127.0.0.1:3333", webhook: "http://flag.example/", asJSON: true},
			level: "debug", rules: []string{"/flag/1.yaml", "/flag/2"}, metrics: "127.0.0.1:3333", webhook: "http://flag.example/", stdout: "json"},
		{name: "an invalid environment value fixed by a flag",
			env:   map[string]string{"VIGIL_LOG_LEVEL": "verbose"},
			flags: runFlags{logLevel: "info"},
			level: "info", rules: []string{"/from/file.yaml"}, metrics: "127.0.0.1:1111", webhook: "http://file.example/", stdout: "text"},
		{name: "a flag validated after the environment",
			env:     map[string]string{"VIGIL_LOG_LEVEL": "warn"},
			flags:   runFlags{logLevel: "verbose"},
			wantErr: `log.level: "verbose"`},
		{name: "an invalid environment value",
			env:     map[string]string{"VIGIL_SHUTDOWN_TIMEOUT": "0s"},
			wantErr: "shutdown_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			f := tc.flags
			f.configPath = file
			cfg, err := buildConfig(f)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Log.Level != tc.level {
				t.Errorf("log.level = %q, want %q", cfg.Log.Level, tc.level)
			}
			if !slices.Equal(cfg.Rules.Files, tc.rules) {
				t.Errorf("rules.files = %v, want %v", cfg.Rules.Files, tc.rules)
			}
			if cfg.Metrics.ListenAddress != tc.metrics {
				t.Errorf("metrics.listen_address = %q, want %q", cfg.Metrics.ListenAddress, tc.metrics)
			}
			if cfg.Outputs.Webhook.URL != tc.webhook {
				t.Errorf("outputs.webhook.url = %q, want %q", cfg.Outputs.Webhook.URL, tc.webhook)
			}
			if cfg.Outputs.Stdout.Format != tc.stdout {
				t.Errorf("outputs.stdout.format = %q, want %q", cfg.Outputs.Stdout.Format, tc.stdout)
			}
		})
	}
}

// TestBuildConfigMissingFile checks that a named config file must exist.
func TestBuildConfigMissingFile(t *testing.T) {
	_, err := buildConfig(runFlags{configPath: filepath.Join(t.TempDir(), "absent.yaml")})
	if err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Fatalf("err = %v, want one naming the file", err)
	}
}
