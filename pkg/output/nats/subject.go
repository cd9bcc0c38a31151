package nats

import (
	"fmt"
	"strings"

	"github.com/vigilsec/vigil/pkg/alert"
)

// DefaultSubject routes each tenant's alerts to its own subject tree, so
// that NATS permissions on vigil.alerts.<tenant>.> isolate tenants.
const DefaultSubject = "vigil.alerts.{tenant}.{priority}"

// Template placeholders, each replaced by one subject token:
//
//	{tenant}    the tenant, escaped; "_host" for host alerts (no tenant)
//	{priority}  the priority in lower case ("critical", "informational")
//	{rule}      the rule name, escaped
//	{hostname}  the node's hostname, escaped
//	{namespace} the Kubernetes namespace, escaped; "_" on the host
//	{source}    the event source ("syscall"), escaped
//
// Escaping keeps ASCII letters, digits and '-' as they are, writes '_' as
// "__" and every other byte (dots, spaces, wildcards '*' and '>', non-ASCII
// bytes ...) as '_' and two upper-case hex digits ("team.a" becomes
// "team_2Ea", "team_a" becomes "team__a"); an empty value becomes "_". A
// value can thus never add subject levels or wildcards, so permissions on
// "vigil.alerts.<tenant>.>" hold, and the mapping is reversible: two
// different values never share a token. Host alerts use "_host", which no
// escaped tenant name can produce (a tenant named "_host" becomes
// "__host"), so host alerts never share a subject with a tenant's. Names
// made of letters, digits and '-' only, such as Kubernetes namespace
// names, appear unchanged.
var placeholders = map[string]func(b []byte, a *alert.Alert) []byte{
	"tenant": func(b []byte, a *alert.Alert) []byte {
		if a.Tenant == "" {
			return append(b, alert.HostTenant...)
		}
		return appendToken(b, a.Tenant)
	},
	"priority": func(b []byte, a *alert.Alert) []byte {
		if int(a.Priority) < len(priorityTokens) {
			return append(b, priorityTokens[a.Priority]...)
		}
		return appendToken(b, strings.ToLower(a.Priority.String()))
	},
	"rule":      func(b []byte, a *alert.Alert) []byte { return appendToken(b, a.Rule) },
	"hostname":  func(b []byte, a *alert.Alert) []byte { return appendToken(b, a.Hostname) },
	"namespace": func(b []byte, a *alert.Alert) []byte { return appendToken(b, a.Namespace) },
	"source":    func(b []byte, a *alert.Alert) []byte { return appendToken(b, a.Source) },
}

// priorityTokens are the priorities' names in lower case, by priority.
var priorityTokens = func() (t [8]string) {
	for p := range t {
		t[p] = strings.ToLower(alert.Priority(p).String())
	}
	return t
}()

// template is a parsed subject template: literal text and placeholders.
type template struct {
	parts []part
	src   string
}

type part struct {
	lit string
	val func([]byte, *alert.Alert) []byte // appends the token; nil for a literal
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
		b = p.val(b, a)
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

// appendToken appends v escaped into one subject token (see the
// placeholders).
func appendToken(b []byte, v string) []byte {
	if v == "" {
		return append(b, '_')
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-':
			b = append(b, c)
		case c == '_':
			b = append(b, '_', '_')
		default:
			b = append(b, '_', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return b
}

const hexDigits = "0123456789ABCDEF"
