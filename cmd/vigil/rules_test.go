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

func TestRulesValidateEveryError(t *testing.T) {
	// A structural error (a rule without output) does not hide the
	// compile errors of the other rules.
	path := filepath.Join(t.TempDir(), "r.yaml")
	os.WriteFile(path, []byte("- rule: A\n  desc: d\n  condition: evt.type = openat\n  priority: INFO\n"+
		"- rule: B\n  desc: d\n  condition: evt.type = openat and fd.nam = x\n  output: o\n  priority: INFO\n"+
		"- foo: bar\n"), 0o644)
	var out, errOut bytes.Buffer
	if code := dispatch([]string{"rules", "validate", path}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"error: " + path + `:1:3: rule "A": rule has no "output"`,
		"error: " + path + `:7:36: rule "B": unknown field fd.nam`,
		"warning: " + path + `:10:3: unknown top level item "foo"`,
		"2 error(s)",
	} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}
}

func TestRulesValidateFilesInOrder(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	os.WriteFile(a, []byte("- rule: R\n  desc: d\n  condition: evt.type = openat\n  output: o\n  priority: INFO\n"), 0o644)
	os.WriteFile(b, []byte("- rule: R\n  condition: evt.type = connect\n  priority: ERROR\n  override:\n    condition: replace\n    priority: replace\n"), 0o644)
	cases := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"rules", "validate", a, b}, 0, "ok: 1 rules (1 enabled), 0 warning(s), event types: connect"},
		{[]string{"rules", "validate", b, a}, 1, b + `:1:3: rule "R": rule has 'append' key or an override but no rule by that name already exists`},
		{[]string{"rules", "list", a, b}, 0, "R     Error     connect"},
	}
	for _, tc := range cases {
		var out, errOut bytes.Buffer
		code := dispatch(tc.args, &out, &errOut)
		if code != tc.code || !strings.Contains(out.String()+errOut.String(), tc.out) {
			t.Errorf("%v: exit %d, output\n%s%s\nwant exit %d and %q", tc.args[1:], code, out.String(), errOut.String(), tc.code, tc.out)
		}
	}
}
