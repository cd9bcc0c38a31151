package config

import (
	"strings"
	"testing"
	"time"
)

type envInner struct {
	Address string        `yaml:"listen_address"`
	Timeout time.Duration `yaml:"timeout"`
}

type envOuter struct {
	Name    string   `yaml:"name"`
	Count   int      `yaml:"count"`
	Size    uint32   `yaml:"size"`
	On      bool     `yaml:"on"`
	Ratio   float64  `yaml:"ratio"`
	Files   []string `yaml:"files"`
	Metrics envInner `yaml:"metrics"`
	Ints    []int    `yaml:"ints"`
}

func TestApplyEnv(t *testing.T) {
	env := map[string]string{
		"VIGIL_NAME":                   "node-1",
		"VIGIL_COUNT":                  "0x10",
		"VIGIL_SIZE":                   "4096",
		"VIGIL_ON":                     "true",
		"VIGIL_RATIO":                  "0.5",
		"VIGIL_FILES":                  "a.yaml, b.yaml,,",
		"VIGIL_METRICS_LISTEN_ADDRESS": "127.0.0.1:9",
		"VIGIL_METRICS_TIMEOUT":        "250ms",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var c envOuter
	if err := applyEnv(&c, EnvPrefix, lookup); err != nil {
		t.Fatal(err)
	}
	want := envOuter{Name: "node-1", Count: 16, Size: 4096, On: true, Ratio: 0.5,
		Files: []string{"a.yaml", "b.yaml"}, Metrics: envInner{"127.0.0.1:9", 250 * time.Millisecond}}
	if c.Name != want.Name || c.Count != want.Count || c.Size != want.Size || c.On != want.On ||
		c.Ratio != want.Ratio || strings.Join(c.Files, "|") != "a.yaml|b.yaml" || c.Metrics != want.Metrics {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
}

func TestApplyEnvErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		env, val, wantSub string
	}{
		{"VIGIL_COUNT", "many", "count (from VIGIL_COUNT)"},
		{"VIGIL_METRICS_TIMEOUT", "soon", "metrics.timeout (from VIGIL_METRICS_TIMEOUT)"},
		{"VIGIL_INTS", "1,2", "ints (from VIGIL_INTS)"},
		{"VIGIL_ON", "perhaps", "on (from VIGIL_ON)"},
	}
	for _, tt := range tests {
		var c envOuter
		err := applyEnv(&c, EnvPrefix, func(k string) (string, bool) {
			if k == tt.env {
				return tt.val, true
			}
			return "", false
		})
		if err == nil || !strings.Contains(err.Error(), tt.wantSub) {
			t.Errorf("%s=%s: err = %v, want it to contain %q", tt.env, tt.val, err, tt.wantSub)
		}
	}
	if err := applyEnv(envOuter{}, EnvPrefix, nil); err == nil {
		t.Error("non-pointer accepted")
	}
}

func TestDecodeBytes(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"ok", "name: x\nmetrics:\n  listen_address: ':1'\n", ""},
		{"empty", "", ""},
		{"unknown key", "name: x\nnmae: y\n", "line 2: field nmae not found"},
		{"bad type", "count: lots\n", "line 1: cannot unmarshal"},
		{"syntax", "name: [\n", "config t.yaml: yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c envOuter
			err := decodeBytes("t.yaml", []byte(tt.yaml), &c)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "t.yaml") {
				t.Fatalf("err = %v, want file name and %q", err, tt.wantErr)
			}
		})
	}
}
