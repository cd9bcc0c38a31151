package metrics

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

var metricName = regexp.MustCompile(`^vigil_[a-z][a-z0-9_]*$`)

// TestFamilyConventions keeps the catalogue in Prometheus' naming habits:
// unique names, counters ending in _total and gauges not, snake_case labels.
func TestFamilyConventions(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Families() {
		if seen[f.Name] {
			t.Errorf("%s listed twice", f.Name)
		}
		seen[f.Name] = true
		if !metricName.MatchString(f.Name) {
			t.Errorf("%s: not a vigil_ snake_case name", f.Name)
		}
		if total := strings.HasSuffix(f.Name, "_total"); total != (f.Kind == Counter) {
			t.Errorf("%s: kind %d and _total suffix disagree", f.Name, f.Kind)
		}
		if err := checkFamily(f); err != nil {
			t.Error(err)
		}
		for _, l := range f.Labels {
			if !regexp.MustCompile(`^[a-z][a-z_]*$`).MatchString(l) {
				t.Errorf("%s: label %q", f.Name, l)
			}
		}
	}
}

// FuzzConfigValidate feeds arbitrary listen addresses and timeouts to
// Validate: it must never panic, and what it accepts must be bindable text.
func FuzzConfigValidate(f *testing.F) {
	for _, s := range []string{":8765", "127.0.0.1:0", "[::1]:9", "localhost:80", "", ":", "a b:1", ":99999", "[::1", "host:-1"} {
		f.Add(s, int64(time.Second))
	}
	f.Fuzz(func(t *testing.T, addr string, timeout int64) {
		c := Config{Enabled: true, ListenAddress: addr, ShutdownTimeout: time.Duration(timeout)}
		if err := c.Validate(); err == nil {
			if timeout <= 0 || !strings.Contains(addr, ":") {
				t.Fatalf("accepted %q timeout %d", addr, timeout)
			}
		}
	})
}
