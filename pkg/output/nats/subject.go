package nats

import (
	"fmt"
	"strings"

	"github.com/vigilsec/vigil/pkg/alert"
)

// DefaultSubject routes each tenant's alerts to its own subject tree, so
// that NATS permissions on vigil.alerts.<tenant>.> isolate tenants.
const DefaultSubject = "vigil.alerts.{tenant}.{priority}"

// Template placeholders, each replaced by one sanitised subject token:
//
//	{tenant}    the tenant, alert.HostTenant ("_host") when none
//	{priority}  the priority in lower case ("critical", "informational")
//	{rule}      the rule name
//	{hostname}  the node's hostname
//	{namespace} the Kubernetes namespace, "_" on the host
//	{source}    the event source ("syscall")
//
// Sanitising keeps ASCII letters, digits, '-' and '_' and replaces every
// other byte (dots, spaces, wildcards '*' and '>' included) with '_'; an
// empty value becomes "_". A value can thus never add subject levels or
// wildcards, and permissions on "vigil.alerts.<tenant>.>" hold.
var placeholders = map[string]func(*alert.Alert) string{
	"tenant":    func(a *alert.Alert) string { return a.TenantKey() },
	"priority":  func(a *alert.Alert) string { return strings.ToLower(a.Priority.String()) },
	"rule":      func(a *alert.Alert) string { return a.Rule },
	"hostname":  func(a *alert.Alert) string { return a.Hostname },
	"namespace": func(a *alert.Alert) string { return a.Namespace },
	"source":    func(a *alert.Alert) string { return a.Source },
}

// template is a parsed subject template: literal text and placeholders.
type template struct {
	parts []part
	src   string
}

type part struct {
	lit string
	val func(*alert.Alert) string // nil for a literal
}

// parseTemplate parses and checks a subject template: placeholders must be
// known and the literal parts must make a valid subject without wildcards.
func parseTemplate(s string) (template, error) {
	t := template{src: s}
	if s == "" {
		return t, fmt.Errorf("empty subject")
	}
	rest := s
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			t.parts = append(t.parts, part{lit: rest})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, part{lit: rest[:i]})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return t, fmt.Errorf("%q: unclosed {", s)
		}
		name := rest[i+1 : i+j]
		f, ok := placeholders[name]
		if !ok {
			return t, fmt.Errorf("%q: unknown placeholder {%s} (want tenant, priority, rule, hostname, namespace or source)", s, name)
		}
		t.parts = append(t.parts, part{val: f})
		rest = rest[i+j+1:]
	}
	// check the shape with every placeholder as a plain token
	sample := t.render(&alert.Alert{Tenant: "t", Rule: "r", Hostname: "h", Namespace: "n", Source: "s"}, nil)
	for _, tok := range strings.Split(string(sample), ".") {
		if tok == "" || strings.ContainsAny(tok, " \t\r\n*>{}") {
			return t, fmt.Errorf("%q: not a valid subject (empty token, whitespace or wildcard)", s)
		}
	}
	return t, nil
}

// render appends the subject for a to b.
func (t template) render(a *alert.Alert, b []byte) []byte {
	for _, p := range t.parts {
		if p.val == nil {
			b = append(b, p.lit...)
			continue
		}
		b = appendToken(b, p.val(a))
	}
	return b
}

// wildcard returns the template with every placeholder as '*', for a
// stream's subject filter; a placeholder sharing a token with literal text
// makes that token and the rest '>'.
func (t template) wildcard() string {
	var b strings.Builder
	for i, p := range t.parts {
		if p.val == nil {
			b.WriteString(p.lit)
			continue
		}
		prevDot := i == 0 || strings.HasSuffix(t.parts[i-1].lit, ".")
		nextDot := i == len(t.parts)-1 || strings.HasPrefix(t.parts[i+1].lit, ".")
		if !prevDot || !nextDot {
			s := b.String()
			return s[:strings.LastIndexByte(s, '.')+1] + ">"
		}
		b.WriteByte('*')
	}
	return b.String()
}

// appendToken appends v sanitised to one subject token.
func appendToken(b []byte, v string) []byte {
	if v == "" {
		return append(b, '_')
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	return b
}
