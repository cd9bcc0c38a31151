package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRulesValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("- rule: R\n  desc: d\n  condition: evt.type = openat and fd.name = /etc/shadow\n  output: o %fd.name\n  priority: INFO\n"), 0o644)
	os.WriteFile(bad, []byte("- rule: R\n  desc: d\n  condition: evt.type = openat and fd.nam = /etc/shadow\n  output: o\n  priority: INFO\n- macro: m\n  condition: undefined_macro and\n"), 0o644)

	var out, errOut bytes.Buffer
	if code := dispatch([]string{"rules", "validate", good}, &out, &errOut); code != 0 {
		t.Fatalf("good file: exit %d, stderr %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "ok: 1 rules") || !strings.Contains(out.String(), "openat") {
		t.Errorf("good file output %q", out.String())
	}
	out.Reset()
	errOut.Reset()
	if code := dispatch([]string{"rules", "validate", bad}, &out, &errOut); code != 1 {
		t.Fatalf("bad file: exit %d, want 1", code)
	}
	for _, want := range []string{bad + ":3:36: rule \"R\": unknown field fd.nam", bad + ":7:33: macro \"m\": syntax error", "2 error(s)"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}

	out.Reset()
	if code := dispatch([]string{"rules", "list", good}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "R ") || !strings.Contains(out.String(), "Informational") {
		t.Errorf("rules list: exit %d, output %q", code, out.String())
	}
	out.Reset()
	if code := dispatch([]string{"fields"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "proc.aname [n] (optional)") || !strings.Contains(out.String(), "tenant.name") {
		t.Errorf("fields: exit %d, output lacks proc.aname or tenant.name", code)
	}
}
