package nats

import (
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/alert"
)

func TestSubjects(t *testing.T) {
	a := &alert.Alert{Tenant: "tenant-a", Priority: alert.PriorityInformational, Rule: "Terminal shell in container",
		Hostname: "node-1.example.com", Namespace: "team-a", Source: "syscall"}
	host := &alert.Alert{Priority: alert.PriorityCritical, Rule: "r"}
	evil := &alert.Alert{Tenant: "b.>.*", Priority: alert.PriorityError}
	tests := []struct {
		tmpl string
		in   *alert.Alert
		want string
	}{
		{DefaultSubject, a, "vigil.alerts.tenant-a.informational"},
		{DefaultSubject, host, "vigil.alerts._host.critical"},
		{DefaultSubject, evil, "vigil.alerts.b____.error"},
		{"x.{rule}.{hostname}", a, "x.Terminal_shell_in_container.node-1_example_com"},
		{"x.{namespace}.{source}", host, "x._._"},
		{"pre-{tenant}-post.{priority}", a, "pre-tenant-a-post.informational"},
	}
	for _, tt := range tests {
		tp, err := parseTemplate(tt.tmpl)
		if err != nil {
			t.Fatalf("%s: %v", tt.tmpl, err)
		}
		if got := string(tp.render(tt.in, nil)); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.tmpl, got, tt.want)
		}
	}
}

func TestTemplateErrors(t *testing.T) {
	for tmpl, want := range map[string]string{
		"":                     "empty",
		"a.{tenant":            "unclosed",
		"a.{team}":             "unknown placeholder {team}",
		"a..{tenant}":          "not a valid subject",
		"a.*.{tenant}":         "not a valid subject",
		"a.>":                  "not a valid subject",
		"a b.{tenant}":         "not a valid subject",
		"vigil.{tenant}.":      "not a valid subject",
		"{tenant}}.{priority}": "not a valid subject",
	} {
		if _, err := parseTemplate(tmpl); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseTemplate(%q) = %v, want %q", tmpl, err, want)
		}
	}
}

func TestWildcard(t *testing.T) {
	for tmpl, want := range map[string]string{
		DefaultSubject:               "vigil.alerts.*.*",
		"team-a.security.{priority}": "team-a.security.*",
		"x.pre-{tenant}.{priority}":  "x.>",
		"{tenant}.alerts":            "*.alerts",
		"static.subject":             "static.subject",
	} {
		tp, err := parseTemplate(tmpl)
		if err != nil {
			t.Fatal(err)
		}
		if got := tp.wildcard(); got != want {
			t.Errorf("wildcard(%q) = %q, want %q", tmpl, got, want)
		}
	}
}

// FuzzTemplate: any template that parses renders, for any alert, a subject
// with no empty token, no wildcard and no whitespace, matched by the
// template's wildcard form.
func FuzzTemplate(f *testing.F) {
	f.Add(DefaultSubject, "tenant-a", "rule name")
	f.Add("a.{rule}x.{hostname}", "b.>", "*")
	f.Fuzz(func(t *testing.T, tmpl, tenant, rule string) {
		tp, err := parseTemplate(tmpl)
		if err != nil {
			return
		}
		subj := string(tp.render(&alert.Alert{Tenant: tenant, Rule: rule, Hostname: rule, Namespace: tenant}, nil))
		toks := strings.Split(subj, ".")
		for _, tok := range toks {
			if tok == "" || strings.ContainsAny(tok, " \t\r\n*>") {
				t.Fatalf("template %q rendered invalid subject %q", tmpl, subj)
			}
		}
		if !subjectMatches(tp.wildcard(), subj) {
			t.Fatalf("wildcard %q does not match %q", tp.wildcard(), subj)
		}
	})
}

// subjectMatches implements NATS subject matching for the fuzz check.
func subjectMatches(pattern, subj string) bool {
	p, s := strings.Split(pattern, "."), strings.Split(subj, ".")
	for i, tok := range p {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(p) == len(s)
}
