package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		{"invalid yaml", "- rule: [\n", "t.yaml:2:1: invalid YAML: did not find expected node content"},
		{"invalid yaml, scanner", "- list: l\n  items: [a]\n- rule: x\n\t- c\n", "t.yaml:3:1: invalid YAML: found a tab character that violates indentation"},
		{"invalid yaml in a later document", "- list: l\n  items: [a]\n---\n- list: m\n  items: [a, b\n- rule: y\n", "t.yaml:5:1: invalid YAML: did not find expected ',' or ']'"},
		{"not a mapping item", "- just a string\n", "t.yaml:1:3: each item must be a mapping, got a scalar"},
		{"single-field exception comp", baseRule + "  exceptions:\n    - name: e\n      fields: proc.name\n      comps: =\n      values: [a]\n",
			`t.yaml:15:14: rule "R": exception "e": with a single field (proc.name), comps must be in, pmatch or intersects, got "="`},
		{"single-field exception list value", baseRule + "  exceptions:\n    - name: e\n      fields: proc.name\n      values: [[a, b]]\n",
			`exception "e": with a single field, each value must be a string`},
		{"append exception fields", baseRule + "  exceptions:\n    - name: e\n      fields: [proc.name]\n      values: [[a]]\n" +
			"- rule: R\n  exceptions:\n    - name: e\n      fields: [fd.name]\n      values: [[/x]]\n  override:\n    exceptions: append\n",
			`t.yaml:18:7: rule "R": exception "e": can only append values to an existing exception, not fields (fd.name differ from proc.name)`},
		{"append exception single field to list", baseRule + "  exceptions:\n    - name: e\n      fields: [proc.name]\n      values: [[a]]\n" +
			"- rule: R\n  exceptions:\n    - name: e\n      fields: proc.name\n      values: [b]\n  append: true\n",
			`exception "e": can only append values to an existing exception, not fields`},
		{"append exception comps", baseRule + "  exceptions:\n    - name: e\n      fields: [proc.name]\n      values: [[a]]\n" +
			"- rule: R\n  exceptions:\n    - name: e\n      comps: [startswith]\n      values: [[b]]\n  override:\n    exceptions: append\n",
			`exception "e": can only append values to an existing exception, not comps (startswith differ from =)`},
		{"append exception row length", baseRule + "  exceptions:\n    - name: e\n      fields: [proc.name, fd.name]\n      values: [[a, /x]]\n" +
			"- rule: R\n  exceptions:\n    - name: e\n      values: [[b]]\n  override:\n    exceptions: append\n",
			`t.yaml:19:16: rule "R": exception "e": fields and values lists must have equal length (2 fields, 1 values)`},
		{"append nothing", baseRule + "- rule: R\n  desc: more\n  append: true\n", `t.yaml:12:3: rule "R": appended rule must have a condition or exceptions`},
		{"capture not a bool", baseRule + "  capture: sometimes\n", `t.yaml:12:12: rule "R": value of "capture" must be true or false, got "sometimes"`},
		{"capture_duration unit", baseRule + "  capture_duration: 5s\n", `t.yaml:12:21: rule "R": value of "capture_duration" must be a non-negative integer number of milliseconds, got "5s"`},
		{"capture_duration negative", baseRule + "  capture_duration: -1\n", `value of "capture_duration" must be a non-negative integer number of milliseconds, got "-1"`},
		{"capture_duration list", baseRule + "  capture_duration: [1]\n", `value of "capture_duration" must be a non-negative integer number of milliseconds, got a sequence`},
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

func TestRulesYAMLDocuments(t *testing.T) {
	// Each document is read in order; positions count lines from the top
	// of the file.
	doc := "- list: shells\n  items: [bash]\n---\n- macro: opened\n  condition: evt.type = openat\n---\n# nothing\n---\n" +
		"- rule: R\n  desc: d\n  condition: opened and proc.name in (shells)\n  output: o\n  priority: INFO\n"
	rs, warns, err := LoadBytes("t.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings %v", warns)
	}
	r := ruleByName(rs, "R")
	if r == nil || r.Pos.String() != "t.yaml:9:3" {
		t.Fatalf("rule R %+v", r)
	}
	e := NewEvaluator(EvalOptions{})
	ev := testEvent()
	e.Begin(rs, ev)
	if ok, err := e.Match(r); !ok || err != nil {
		t.Errorf("R = %v, %v on bash opening a file: the list and macro of the earlier documents are lost", ok, err)
	}
	_, _, err = LoadBytes("t.yaml", []byte(strings.Replace(doc, "proc.name in", "proc.nme in", 1)))
	if err == nil || !strings.Contains(err.Error(), `t.yaml:11:25: rule "R": unknown field proc.nme`) {
		t.Errorf("error %v, want it at t.yaml:11:25", err)
	}
}

func TestRulesLoadWarnings(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"unknown top level item", "- foo: bar\n" + baseRule, `t.yaml:1:3: unknown top level item "foo"`},
		{"deprecated append with extra keys", baseRule + "- rule: R\n  condition: and fd.num = 3\n  desc: ignored\n  priority: DEBUG\n  append: true\n",
			`t.yaml:14:3: rule "R": key "desc" is ignored with append: true (only condition and exceptions are appended)`},
		{"deprecated append, priority", baseRule + "- rule: R\n  condition: and fd.num = 3\n  desc: ignored\n  priority: DEBUG\n  append: true\n",
			`t.yaml:15:3: rule "R": key "priority" is ignored with append: true`},
		{"not evt.type", "- rule: N\n  desc: d\n  condition: not evt.type = open and proc.name = x\n  output: o\n  priority: INFO\n",
			`t.yaml:1:3: rule "N": rule matches too many evt.type values`},
		{"evt.type !=", "- rule: N\n  desc: d\n  condition: evt.type != open and proc.name = x\n  output: o\n  priority: INFO\n",
			`t.yaml:1:3: rule "N": rule matches too many evt.type values`},
		{"not evt.type in", "- rule: N\n  desc: d\n  condition: not evt.type in (open, openat, openat2, execve, connect) and proc.name = x\n  output: o\n  priority: INFO\n",
			`t.yaml:1:3: rule "N": rule matches too many evt.type values`},
		{"unused macro with an unknown field", baseRule + "- macro: spare\n  condition: proc.nme = x\n",
			`t.yaml:13:14: macro "spare": unknown field proc.nme (no rule uses the macro)`},
		{"unused macro with an undefined macro", baseRule + "- macro: spare\n  condition: proc.name = x and nowhere\n",
			`t.yaml:13:32: macro "spare": undefined macro "nowhere" (no rule uses the macro)`},
		{"unused macro using a bad macro", baseRule + "- macro: spare\n  condition: inner\n- macro: inner\n  condition: fd.num contains 3\n",
			`t.yaml:15:14: macro "inner" (used by macro "spare"): operator contains cannot be used with field fd.num of type int64 (no rule uses the macro)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, warns, err := LoadBytes("t.yaml", []byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, w := range warns {
				all = append(all, w.String())
			}
			if text := strings.Join(all, "\n"); !strings.Contains(text, tc.want) {
				t.Errorf("warnings lack %q:\n%s", tc.want, text)
			}
		})
	}
	// Rules whose types a negation leaves few, or that ask for no warning,
	// do not warn.
	quiet := []string{
		"- rule: N\n  desc: d\n  condition: evt.type = open and not evt.type = openat\n  output: o\n  priority: INFO\n",
		"- rule: N\n  desc: d\n  condition: evt.type != open and proc.name = x\n  output: o\n  priority: INFO\n  warn_evttypes: false\n",
		"- rule: N\n  desc: d\n  condition: not evt.type in (open, openat) and proc.name = x\n  output: o\n  priority: INFO\n  warn_evttypes: false\n",
		"- rule: N\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: INFO\n  warn_evttypes: false\n",
	}
	for _, doc := range quiet {
		_, warns, err := LoadBytes("t.yaml", []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range warns {
			if strings.Contains(w.Msg, "too many") {
				t.Errorf("%s: unexpected warning %s", doc, w)
			}
		}
	}
}

func TestRulesEmptyItemSkipped(t *testing.T) {
	rs, warns, err := LoadBytes("t.yaml", []byte("-\n"+baseRule+"-\n"))
	if err != nil || len(warns) != 0 {
		t.Fatalf("err %v, warnings %v", err, warns)
	}
	if len(rs.Rules()) != 1 {
		t.Errorf("%d rules, want 1", len(rs.Rules()))
	}
}

func TestRulesDeprecatedAppendIgnoresKeys(t *testing.T) {
	rs := mustLoad(t, baseRule+"- rule: R\n  condition: and fd.num = 3\n  desc: ignored\n  output: ignored\n  priority: DEBUG\n  enabled: false\n  append: true\n")
	r := ruleByName(rs, "R")
	if r.Condition != "opened and proc.name in (shells) and fd.num = 3" {
		t.Errorf("condition %q", r.Condition)
	}
	if r.Desc != "d" || r.Output != "%proc.name opened %fd.name" || r.Priority.String() != "Warning" || !r.Enabled {
		t.Errorf("ignored keys applied: desc %q output %q priority %v enabled %v", r.Desc, r.Output, r.Priority, r.Enabled)
	}
}

func TestRulesCapture(t *testing.T) {
	rs := mustLoad(t, baseRule+"  capture: true\n  capture_duration: 5000\n"+`
- rule: Other
  desc: d
  condition: evt.type = connect
  output: o
  priority: INFO
- rule: Other
  capture: true
  capture_duration: 250
  override:
    capture: replace
    capture_duration: replace
`)
	cases := []struct {
		rule string
		on   bool
		dur  time.Duration
	}{{"R", true, 5 * time.Second}, {"Other", true, 250 * time.Millisecond}}
	for _, tc := range cases {
		r := ruleByName(rs, tc.rule)
		if r.Capture != tc.on || r.CaptureDuration != tc.dur {
			t.Errorf("rule %s: capture %v for %v, want %v for %v", tc.rule, r.Capture, r.CaptureDuration, tc.on, tc.dur)
		}
	}
	if r := mustLoad(t, baseRule); ruleByName(r, "R").Capture {
		t.Error("capture on by default")
	}
}

func TestRulesEveryErrorReported(t *testing.T) {
	// Structural errors (a rule without output, a malformed exception, a
	// macro with a bad key) do not stop the compilation of the other
	// items: their errors come in the same report, and the partially read
	// items are left out without cascading errors.
	doc := `
- macro: broken
  condition: [not, a, string]
- rule: NoOutput
  desc: d
  condition: evt.type = open and proc.nme = x
  priority: INFO
- rule: BadException
  desc: d
  condition: evt.type = open
  output: o
  priority: INFO
  exceptions:
    - name: e
      fields: [proc.name]
      values: [[a, b]]
- rule: UsesBroken
  desc: d
  condition: evt.type = open and broken
  output: o
  priority: INFO
- rule: Compiles
  desc: d
  condition: evt.type = open and fd.nam = x
  output: o
  priority: INFO
- rule: NoOutput
  condition: and proc.name = y
  override:
    condition: append
`
	_, _, err := LoadBytes("t.yaml", []byte(doc))
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("error %v, want a LoadError", err)
	}
	var got []string
	for _, e := range le.Errs {
		got = append(got, e.Error())
	}
	want := []string{
		`t.yaml:3:14: macro "broken": value of "condition" must be a scalar, got a sequence`,
		`t.yaml:4:3: rule "NoOutput": rule has no "output"`,
		`t.yaml:16:16: rule "BadException": exception "e": fields and values lists must have equal length (1 fields, 2 values)`,
		`t.yaml:19:34: rule "UsesBroken": macro "broken" has errors`,
		`t.yaml:24:34: rule "Compiles": unknown field fd.nam`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRulesExceptionListName(t *testing.T) {
	// A list operator whose value is a plain list name expands the list, as
	// in Falco's files (comps: [in], values: [[known_shells]]).
	rs := mustLoad(t, baseRule+`  exceptions:
    - name: known
      fields: [proc.name, fd.directory]
      comps: [in, pmatch]
      values:
        - [shells, [/etc]]
- list: other_shells
  items: [zsh]
- rule: R
  exceptions:
    - name: solo
      fields: proc.pname
      comps: in
      values: [other_shells]
  override:
    exceptions: append
`)
	r := ruleByName(rs, "R")
	const want = "(opened and proc.name in (shells)) and not (( proc.name in (shells) and  fd.directory pmatch (/etc))) and not (proc.pname in (other_shells))"
	if r.Condition != want {
		t.Errorf("condition\n got %s\nwant %s", r.Condition, want)
	}
	e := NewEvaluator(EvalOptions{})
	ev := testEvent() // bash opens /etc/shadow: excepted by the shells list
	e.Begin(rs, ev)
	if ok, _ := e.Match(r); ok {
		t.Error("the exception naming the shells list did not apply")
	}
	ev = testEvent()
	ev.FD.Name, ev.Args.ResolvedPath = "/var/x", "/var/x"
	e.Begin(rs, ev)
	if ok, _ := e.Match(r); !ok {
		t.Error("bash opening /var/x did not match")
	}
	ev.Proc.Parent.Name = "zsh"
	e.Begin(rs, ev)
	if ok, _ := e.Match(r); ok {
		t.Error("the single-field exception naming other_shells did not apply")
	}
}

func TestRulesRedefinedInLaterFile(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	rule := func(name, cond, prio string) string {
		return "- rule: " + name + "\n  desc: d\n  condition: " + cond + "\n  output: o\n  priority: " + prio + "\n"
	}
	os.WriteFile(a, []byte(rule("First", "evt.type = openat", "INFO")+rule("Second", "evt.type = connect", "INFO")+rule("Third", "evt.type = execve", "INFO")), 0o644)
	os.WriteFile(b, []byte("- list: unrelated\n  items: []\n"+rule("First", "evt.type = unlinkat", "CRITICAL")), 0o644)
	rs, _, err := Load(a, b)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rs.AllRules() {
		names = append(names, r.Name)
	}
	if strings.Join(names, ",") != "First,Second,Third" {
		t.Fatalf("order %v: the redefinition moved the rule", names)
	}
	r := rs.AllRules()[0]
	if r.Condition != "evt.type = unlinkat" || r.Priority.String() != "Critical" || r.Pos.String() != b+":3:3" {
		t.Errorf("First: condition %q priority %v at %v, want b's definition", r.Condition, r.Priority, r.Pos)
	}
	if ts := r.EventTypes(); len(ts) != 1 || ts[0].String() != "unlinkat" {
		t.Errorf("First: types %v", ts)
	}
}

func TestRulesRequiredPluginVersions(t *testing.T) {
	cases := []struct {
		name, doc string
		warn, err string
	}{
		{"supported plugins", "- required_plugin_versions:\n  - name: container\n    version: 0.1.0\n  - name: k8smeta\n    version: 0.1.0\n", "", ""},
		{"unknown plugin", "- required_plugin_versions:\n  - name: k8saudit\n    version: 0.7.0\n    alternatives:\n      - name: k8saudit-eks\n        version: 0.4.0\n",
			`t.yaml:2:5: plugin "k8saudit" is not available in Vigil; rules using its fields will not load`, ""},
		{"no name", "- required_plugin_versions:\n  - version: 0.1.0\n", "", "t.yaml:2:5: required plugin has no name"},
		{"no version", "- required_plugin_versions:\n  - name: json\n", `plugin "json" is not available`, `t.yaml:2:5: required plugin "json" has no version`},
		{"not a sequence", "- required_plugin_versions: json\n", "", "t.yaml:1:29: required_plugin_versions must be a sequence"},
		{"not a mapping", "- required_plugin_versions:\n  - json\n", "", "t.yaml:2:5: each required plugin must be a mapping"},
		{"extra key", "- required_plugin_versions: []\n  note: x\n", `t.yaml:2:3: required_plugin_versions: unknown key "note"`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, warns, err := LoadBytes("t.yaml", []byte(tc.doc))
			var ws []string
			for _, w := range warns {
				ws = append(ws, w.String())
			}
			text := strings.Join(ws, "\n")
			if tc.warn == "" && len(warns) > 0 || !strings.Contains(text, tc.warn) {
				t.Errorf("warnings %q, want %q", text, tc.warn)
			}
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
}
