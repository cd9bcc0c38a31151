package deploy

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/vigilsec/vigil/pkg/config"
)

// TestConfigExample loads deploy/config.example.yaml with the agent's own
// loader (strict: unknown keys fail) and checks that it documents every key
// the agent knows.
func TestConfigExample(t *testing.T) {
	path := filepath.Join(repoRoot, "deploy", "config.example.yaml")
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var example map[string]any
	if err := yaml.Unmarshal(data, &example); err != nil {
		t.Fatal(err)
	}
	defaults, err := yaml.Marshal(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := yaml.Unmarshal(defaults, &want); err != nil {
		t.Fatal(err)
	}
	// The routing and delivery keys every output shares are documented
	// once, above the outputs section.
	shared := map[string]bool{}
	for _, k := range strings.Fields("min_priority tenants rules exclude_rules tags exclude_tags queue_size workers max_attempts backoff max_backoff") {
		shared[k] = true
	}
	var missing []string
	var walk func(prefix string, want, got map[string]any)
	walk = func(prefix string, want, got map[string]any) {
		for k, v := range want {
			key := prefix + k
			if strings.HasPrefix(prefix, "outputs.") && strings.Count(prefix, ".") == 2 && shared[k] {
				continue
			}
			gv, ok := got[k]
			if !ok {
				missing = append(missing, key)
				continue
			}
			if wm, ok := v.(map[string]any); ok && len(wm) > 0 {
				gm, _ := gv.(map[string]any)
				walk(key+".", wm, gm)
			}
		}
	}
	walk("", want, example)
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("keys the agent knows but deploy/config.example.yaml does not document:\n  %s", strings.Join(missing, "\n  "))
	}
}

// TestChartConfigLoads renders the chart's config.yaml for each value set and
// loads it with the agent's loader.
func TestChartConfigLoads(t *testing.T) {
	for name, args := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			cm := find(t, objects(t, render(t, args...)), "ConfigMap", "vigil-config")
			file := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(file, []byte(cm.path("data", "config.yaml").(string)), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := config.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
