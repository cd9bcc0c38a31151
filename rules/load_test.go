package rules_test

import (
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
	vrules "github.com/vigilsec/vigil/pkg/rules"
	"github.com/vigilsec/vigil/rules"
)

// TestDefaultsLoad loads the default rules with the real loader: no error,
// every rule enabled with at least one event type, and the kernel's event
// set limited to types the probes can emit.
func TestDefaultsLoad(t *testing.T) {
	rs, warns, err := vrules.Load(rules.DefaultFiles()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warns {
		t.Errorf("warning: %s", w.String())
	}
	if len(rs.Rules()) != len(rs.AllRules()) {
		t.Errorf("%d of %d default rules disabled", len(rs.AllRules())-len(rs.Rules()), len(rs.AllRules()))
	}
	for _, r := range rs.AllRules() {
		if len(r.EventTypes()) == 0 {
			t.Errorf("%s: no event types: it would run on every event", r.Name)
		}
		if len(r.EventTypes()) > 4 {
			t.Errorf("%s: %d event types %v", r.Name, len(r.EventTypes()), r.EventTypes())
		}
		if r.Desc == "" || len(r.Tags) == 0 {
			t.Errorf("%s: desc or tags missing after load", r.Name)
		}
	}
	for _, typ := range rs.EventTypes() {
		if typ == event.TypeUnknown {
			t.Error("event set contains the unknown type")
		}
	}
	t.Logf("%d rules, kernel event set %v", len(rs.Rules()), rs.EventTypes())
}

// TestTenantOverridesLoad loads the example on top of the defaults and
// checks each of its effects.
func TestTenantOverridesLoad(t *testing.T) {
	files := append(rules.DefaultFiles(), "tenant-overrides.example.yaml")
	rs, warns, err := vrules.Load(files...)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warns {
		t.Errorf("warning: %s", w.String())
	}
	byName := map[string]*vrules.Rule{}
	for _, r := range rs.AllRules() {
		byName[r.Name] = r
	}
	tests := []struct {
		rule    string
		enabled bool
		contain []string
	}{
		{"Packet socket opened in container", false, nil},
		{"Interactive shell in container", true, []string{"tenant.name = platform"}},
		{"Connection to another tenant's pod", true, []string{"acme", "platform", "globex"}},
		{"Dropped binary executed in container", true, []string{"acme-ci"}},
		// Macro and list overrides change what the condition's names
		// expand to, not its text.
		{"Host path access to another pod's volumes", true, nil},
		{"Shell spawned by a server process", true, nil},
		{"Shell in globex production", true, []string{"globex-prod"}},
	}
	for _, tt := range tests {
		r, ok := byName[tt.rule]
		if !ok {
			t.Errorf("%s: missing", tt.rule)
			continue
		}
		if r.Enabled != tt.enabled {
			t.Errorf("%s: enabled = %v, want %v", tt.rule, r.Enabled, tt.enabled)
		}
		for _, c := range tt.contain {
			if !strings.Contains(r.Condition, c) {
				t.Errorf("%s: compiled condition lacks %q:\n%s", tt.rule, c, r.Condition)
			}
		}
	}
}
