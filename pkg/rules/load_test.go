package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustLoad(t *testing.T, doc string) *Ruleset {
	t.Helper()
	rs, _, err := LoadBytes("t.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return rs
}

func ruleByName(rs *Ruleset, name string) *Rule {
	for _, r := range rs.AllRules() {
		if r.Name == name {
			return r
		}
	}
	return nil
}

const baseRule = `
- list: shells
  items: [bash, sh]
- macro: opened
  condition: evt.type = openat
- rule: R
  desc: d
  condition: opened and proc.name in (shells)
  output: "%proc.name opened %fd.name"
  priority: warning
  tags: [b, a]
`

func TestExceptionsCompile(t *testing.T) {
	cases := []struct{ name, exc, want string }{
		{"fields list", `
  exceptions:
    - name: known
      fields: [proc.name, fd.directory]
      comps: [=, in]
      values:
        - [apk, [/usr/lib, /lib]]
        - [dpkg, /var/lib]`,
			"(opened and proc.name in (shells)) and not (( proc.name = apk and  fd.directory in (/usr/lib, /lib)) or ( proc.name = dpkg and  fd.directory in (/var/lib)))"},
		{"single field", `
  exceptions:
    - name: known
      fields: proc.name
      values: [apk, "my tool"]`,
			`(opened and proc.name in (shells)) and not (proc.name in (apk, "my tool"))`},
		{"default comps and no values", `
  exceptions:
    - name: none
      fields: [proc.name]
    - name: one
      fields: [proc.name, fd.name]
      values:
        - [apk, /x]`,
			"(opened and proc.name in (shells)) and not (( proc.name = apk and  fd.name = /x))"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := mustLoad(t, baseRule+tc.exc+"\n")
			if got := ruleByName(rs, "R").Condition; got != tc.want {
				t.Errorf("condition\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestAppendAndOverride(t *testing.T) {
	rs := mustLoad(t, baseRule+`
- list: shells
  items: [zsh]
  override:
    items: append
- macro: opened
  condition: or evt.type = open
  append: true
- rule: R
  condition: and fd.name startswith /etc
  output: "(appended)"
  tags: [c]
  override:
    condition: append
    output: append
    tags: append
- rule: R
  priority: ERROR
  enabled: false
  override:
    priority: replace
    enabled: replace
`)
	r := ruleByName(rs, "R")
	if r.Condition != "opened and proc.name in (shells) and fd.name startswith /etc" {
		t.Errorf("condition %q", r.Condition)
	}
	if r.Output != "%proc.name opened %fd.name (appended)" {
		t.Errorf("output %q", r.Output)
	}
	if strings.Join(r.Tags, ",") != "a,b,c" || r.Priority.String() != "Error" || r.Enabled {
		t.Errorf("tags %v priority %v enabled %v", r.Tags, r.Priority, r.Enabled)
	}
	if len(rs.Rules()) != 0 {
		t.Errorf("disabled rule is among the enabled ones")
	}
	if got := r.EventTypes(); len(got) != 2 {
		t.Errorf("event types %v, want open and openat", got)
	}
	rs = mustLoad(t, baseRule+"- rule: R\n  enabled: false\n")
	if ruleByName(rs, "R").Enabled {
		t.Error("enabled-only item did not disable the rule")
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"append to nothing", "- list: l\n  items: [a]\n  append: true\n", `t.yaml:1:3: list "l": list has 'append' key or an append override but no list by that name already exists`},
		{"override of undefined key", baseRule + "- rule: R\n  override:\n    condition: append\n", `an override for "condition" was specified but "condition" is not defined`},
		{"key without override", baseRule + "- rule: R\n  condition: x\n  desc: y\n  override:\n    condition: append\n", `unexpected key "desc": no corresponding entry under "override" is defined`},
		{"priority cannot be appended", baseRule + "- rule: R\n  priority: INFO\n  override:\n    priority: append\n", `key "priority" cannot be appended to`},
		{"override rule not defined", "- rule: X\n  condition: a\n  override:\n    condition: append\n", "no rule by that name already exists"},
		{"append and override", baseRule + "- rule: R\n  condition: a\n  append: true\n  override:\n    condition: append\n", "keys append and override cannot be used together"},
		{"missing keys", "- rule: X\n  desc: d\n  condition: evt.type = open\n", `rule has no "output"`},
		{"bad priority", "- rule: X\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: LOUD\n", `t.yaml:5:13: rule "X": unknown priority "LOUD"`},
		{"engine version", "- required_engine_version: 99.0.0\n", "rules require engine version 99.0.0, Vigil implements 0.57.0"},
		{"engine version syntax", "- required_engine_version: x.y\n", "cannot parse engine version"},
		{"undefined macro", "- rule: X\n  desc: d\n  condition: evt.type = open and nope\n  output: o\n  priority: INFO\n", `t.yaml:3:34: rule "X": undefined macro "nope"`},
		{"error inside a macro", "- macro: m\n  condition: proc.nam = a\n- rule: X\n  desc: d\n  condition: m\n  output: o\n  priority: INFO\n", `t.yaml:2:14: macro "m" (used by rule "X"): unknown field proc.nam`},
		{"macro cycle", "- macro: a\n  condition: b\n- macro: b\n  condition: a\n- rule: X\n  desc: d\n  condition: a\n  output: o\n  priority: INFO\n", "refers to itself"},
		{"unknown output field", "- rule: X\n  desc: d\n  condition: evt.type = open\n  output: hi %proc.nme\n  priority: INFO\n", `t.yaml:4:14: rule "X": output: unknown field proc.nme`},
		{"exception field count", baseRule + "  exceptions:\n    - name: e\n      fields: [proc.name, fd.name]\n      values:\n        - [a]\n", "fields and values lists must have equal length"},
		{"exception bad comp", baseRule + "  exceptions:\n    - name: e\n      fields: [proc.name]\n      comps: [like]\n", `invalid comparison operator "like"`},
		{"exception unknown field", baseRule + "  exceptions:\n    - name: e\n      fields: [proc.nope]\n", "unknown field proc.nope"},
		{"not a sequence", "rule: x\n", "rules file must be a sequence of items"},
		{"unknown item", "- foo: bar\n", `unknown item "foo"`},
		{"invalid yaml", "- rule: [\n", "invalid YAML"},
		{"folded condition position", "- rule: X\n  desc: d\n  condition: >\n    evt.type = open\n    and proc.nme = a\n  output: o\n  priority: INFO\n", `t.yaml:5:9: rule "X": unknown field proc.nme`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := LoadBytes("t.yaml", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadWarnings(t *testing.T) {
	_, warns, err := LoadBytes("t.yaml", []byte(baseRule+`  foo: 1
- list: unused
  items: []
- rule: Any
  desc: d
  condition: proc.name = x
  output: o
  priority: INFO
- rule: Never
  desc: d
  condition: evt.type = userfaultfd
  output: o
  priority: INFO
- rule: Audit
  desc: d
  condition: ka.verb = create
  output: o
  priority: INFO
  source: k8s_audit
`))
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, w := range warns {
		all = append(all, w.String())
	}
	text := strings.Join(all, "\n")
	for _, want := range []string{`unknown key "foo"`, `list "unused": list not referred to`, `rule "Any": rule matches too many evt.type values`,
		`unknown event type "userfaultfd"`, `rule "Never": rule matches no event type`, `source "k8s_audit" is not supported`} {
		if !strings.Contains(text, want) {
			t.Errorf("warnings lack %q:\n%s", want, text)
		}
	}
}

func TestLoadDirectoryOrder(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "10-base.yaml"), []byte(baseRule), 0o644)
	os.WriteFile(filepath.Join(dir, "20-tune.yaml"), []byte("- list: shells\n  items: [zsh]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not rules"), 0o644)
	rs, _, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ev := testEvent()
	e := NewEvaluator(EvalOptions{})
	e.Begin(rs, ev)
	if ok, _ := e.Match(rs.Rules()[0]); ok {
		t.Error("bash matched after the list was redefined to [zsh]")
	}
	if _, _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("loading a missing file succeeded")
	}
}

func TestOutputFormat(t *testing.T) {
	rs := mustLoad(t, `
- rule: O
  desc: d
  condition: evt.type = openat
  output: "100% sure: %proc.name (%proc.pid) ancestors %proc.aname[1]/%proc.aname[5] flags=%evt.arg.flags %tolower(proc.name) ip=%fd.sip tenant=%tenant.name"
  priority: INFO
`)
	r := rs.Rules()[0]
	e := NewEvaluator(EvalOptions{})
	text, fields := e.Format(r, testEvent())
	const want = "100% sure: bash (20) ancestors sshd/<NA> flags=O_WRONLY|O_CREAT|O_TRUNC bash ip=<NA> tenant=acme"
	if text != want {
		t.Errorf("text\n got %s\nwant %s", text, want)
	}
	wantFields := map[string]any{"proc.name": "bash", "proc.pid": int64(20), "proc.aname[1]": "sshd", "proc.aname[5]": nil,
		"evt.arg.flags": "O_WRONLY|O_CREAT|O_TRUNC", "tolower(proc.name)": "bash", "fd.sip": nil, "tenant.name": "acme"}
	if len(fields) != len(wantFields) {
		t.Errorf("fields %v", fields)
	}
	for k, v := range wantFields {
		if got, ok := fields[k]; !ok || got != v {
			t.Errorf("field %s = %#v, want %#v", k, got, v)
		}
	}
	if strings.Join(r.Format().Tokens, " ") != "proc.name proc.pid proc.aname[1] proc.aname[5] evt.arg.flags tolower(proc.name) fd.sip tenant.name" {
		t.Errorf("tokens %v", r.Format().Tokens)
	}
}

func TestFieldsRegistry(t *testing.T) {
	fs := Fields()
	names := map[string]bool{}
	for _, f := range fs {
		if f.Desc == "" {
			t.Errorf("field %s has no description", f.Name)
		}
		names[f.Name] = true
	}
	for _, n := range []string{"evt.type", "proc.aname", "fd.name", "container.id", "k8s.ns.name", "k8s.ns.label", "tenant.name", "fd.rip.tenant", "k8s.node.name"} {
		if !names[n] {
			t.Errorf("field %s not registered", n)
		}
	}
}

func TestExceptionOverrides(t *testing.T) {
	base := baseRule + `  exceptions:
    - name: known
      fields: [proc.name]
      values:
        - [apk]
`
	rs := mustLoad(t, base+`
- rule: R
  exceptions:
    - name: known
      values:
        - [dpkg]
    - name: extra
      fields: fd.name
      values: [/x]
  override:
    exceptions: append
`)
	want := "(opened and proc.name in (shells)) and not (( proc.name = apk) or ( proc.name = dpkg)) and not (fd.name in (/x))"
	if got := ruleByName(rs, "R").Condition; got != want {
		t.Errorf("appended exceptions\n got %s\nwant %s", got, want)
	}
	rs = mustLoad(t, base+`
- rule: R
  exceptions:
    - name: other
      fields: [fd.name]
      values:
        - [/y]
  override:
    exceptions: replace
`)
	want = "(opened and proc.name in (shells)) and not (( fd.name = /y))"
	if got := ruleByName(rs, "R").Condition; got != want {
		t.Errorf("replaced exceptions\n got %s\nwant %s", got, want)
	}
}

func TestSkipIfUnknownFilter(t *testing.T) {
	rs, warns, err := LoadBytes("t.yaml", []byte(`
- rule: Plugin
  desc: d
  condition: evt.type = openat and k8saudit.verb = create
  output: o
  priority: INFO
  skip-if-unknown-filter: true
- rule: Kept
  desc: d
  condition: evt.type = openat
  output: o
  priority: INFO
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.AllRules()) != 1 || rs.AllRules()[0].Name != "Kept" {
		t.Errorf("rules %v, want only Kept", rs.AllRules())
	}
	found := false
	for _, w := range warns {
		found = found || strings.Contains(w.String(), "unknown field k8saudit.verb; rule skipped")
	}
	if !found {
		t.Errorf("no skip warning in %v", warns)
	}
}
