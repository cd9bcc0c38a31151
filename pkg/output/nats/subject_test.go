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
		{DefaultSubject, evil, "vigil.alerts.b_2E_3E_2E_2A.error"},
		{"x.{rule}.{hostname}", a, "x.Terminal_20shell_20in_20container.node-1_2Eexample_2Ecom"},
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

// TestTokenCollisions: values that the escaping could confuse get
// different tokens, and names of letters, digits and '-' stay as they are.
func TestTokenCollisions(t *testing.T) {
	tests := []struct {
		a, b           string
		tokenA, tokenB string
	}{
		{"team.a", "team_a", "team_2Ea", "team__a"},
		{"team a", "team_a", "team_20a", "team__a"},
		{"a.b", "a_2Eb", "a_2Eb", "a__2Eb"},
		{"", "_", "_", "__"},
		{"_", "__", "__", "____"},
		{"*", ">", "_2A", "_3E"},
		{"é", "_C3_A9", "_C3_A9", "__C3__A9"},
		{"Team-A", "team-a", "Team-A", "team-a"},
		{"x\x00", "x", "x_00", "x"},
	}
	for _, tt := range tests {
		ta, tb := string(appendToken(nil, tt.a)), string(appendToken(nil, tt.b))
		if ta != tt.tokenA || tb != tt.tokenB {
			t.Errorf("tokens of %q, %q = %q, %q; want %q, %q", tt.a, tt.b, ta, tb, tt.tokenA, tt.tokenB)
		}
		if ta == tb {
			t.Errorf("%q and %q share the token %q", tt.a, tt.b, ta)
		}
		for _, v := range []string{tt.a, tt.b} {
			if back, ok := unescape(string(appendToken(nil, v))); !ok || back != v {
				t.Errorf("token of %q reads back as %q, %v", v, back, ok)
			}
		}
	}
}

// TestHostSubjectIsNoTenants: host alerts and the tenants whose names
// come closest ("_host", "_", "host") get different subjects.
func TestHostSubjectIsNoTenants(t *testing.T) {
	tp, err := parseTemplate(DefaultSubject)
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[string]string{}
	for _, tenant := range []string{"", alert.HostTenant, "_", "host", "__host", "_5Fhost"} {
		subj := string(tp.render(&alert.Alert{Tenant: tenant, Priority: alert.PriorityError}, nil))
		if other, dup := subjects[subj]; dup {
			t.Errorf("tenants %q and %q share %s", other, tenant, subj)
		}
		subjects[subj] = tenant
	}
	if subjects["vigil.alerts._host.error"] != "" {
		t.Errorf("host alerts are not on vigil.alerts._host.error: %v", subjects)
	}
}

// unescape reverses appendToken, reporting false for text it cannot have
// produced; "_" alone is the empty value.
func unescape(tok string) (string, bool) {
	if tok == "_" {
		return "", true
	}
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c != '_':
			b.WriteByte(c)
		case i+1 < len(tok) && tok[i+1] == '_':
			b.WriteByte('_')
			i++
		case i+2 < len(tok):
			hi, lo := strings.IndexByte(hexDigits, tok[i+1]), strings.IndexByte(hexDigits, tok[i+2])
			if hi < 0 || lo < 0 {
				return "", false
			}
			b.WriteByte(byte(hi<<4 | lo))
			i += 2
		default:
			return "", false
		}
	}
	return b.String(), true
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

// FuzzToken: every value escapes to one valid token that reads back as
// the value, so no two values share a token.
func FuzzToken(f *testing.F) {
	for _, v := range []string{"", "_", "team.a", "team_a", "_host", "a b>*", "é"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok := string(appendToken(nil, v))
		if tok == "" || strings.ContainsAny(tok, ". \t\r\n*>") {
			t.Fatalf("%q escaped to the invalid token %q", v, tok)
		}
		if back, ok := unescape(tok); !ok || back != v {
			t.Fatalf("%q escaped to %q, which reads back as %q, %v", v, tok, back, ok)
		}
	})
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
