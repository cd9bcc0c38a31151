package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRulesListKernelFilters(t *testing.T) {
	file := filepath.Join(t.TempDir(), "r.yaml")
	os.WriteFile(file, []byte(`- rule: shadow
  desc: d
  condition: evt.type = openat and fd.name = /etc/shadow
  output: o
  priority: INFO
- rule: modules
  desc: d
  condition: evt.type = init_module and proc.name != insmod
  output: o
  priority: INFO
`), 0o644)
	var out, errOut bytes.Buffer
	if code := dispatch([]string{"rules", "list", "--kernel-filters", file}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut.String())
	}
	for _, want := range []string{
		"openat: filtered, 1 clauses (1 rules)",
		"  path = (/etc/shadow)\n    from: \"shadow\"",
		"init_module: unfiltered (1 rules)\n  kept by rule \"modules\": no bound the kernel can check on init_module",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
