// Package tenant decides which tenant a Kubernetes namespace belongs to: from
// a namespace label (Capsule's by default), else from a static mapping of
// namespace names or globs.
package tenant

import (
	"fmt"
	"path"
	"strings"
)

// DefaultLabelKeys are the namespace labels that name a tenant, in order of
// precedence: Capsule's current key, then its newer project domain.
var DefaultLabelKeys = []string{"capsule.clastix.io/tenant", "projectcapsule.dev/tenant"}

// Mapping assigns the namespaces matching Namespace (an exact name or a
// path.Match glob such as "team-a-*") to Tenant.
type Mapping struct {
	// Namespace is a namespace name or glob.
	Namespace string `yaml:"namespace"`
	// Tenant is the tenant those namespaces belong to.
	Tenant string `yaml:"tenant"`
}

// Resolver maps namespaces to tenants. It is immutable and safe for
// concurrent use.
type Resolver struct {
	keys  []string
	exact map[string]string
	globs []Mapping
}

// New returns a Resolver that reads the tenant from the first present label
// of labelKeys, then from the static mappings: exact names first, then globs
// in the order given.
func New(labelKeys []string, static []Mapping) (*Resolver, error) {
	r := &Resolver{keys: append([]string(nil), labelKeys...), exact: map[string]string{}}
	for i, m := range static {
		if m.Namespace == "" || m.Tenant == "" {
			return nil, fmt.Errorf("tenant: mapping %d: namespace and tenant must both be set", i)
		}
		if strings.HasPrefix(m.Tenant, "_") {
			// Routes, rate limits and subjects name host alerts "_host".
			return nil, fmt.Errorf("tenant: mapping %d: tenant %q: names starting with _ are reserved", i, m.Tenant)
		}
		if !strings.ContainsAny(m.Namespace, `*?[\`) {
			if _, dup := r.exact[m.Namespace]; !dup {
				r.exact[m.Namespace] = m.Tenant
			}
			continue
		}
		if _, err := path.Match(m.Namespace, ""); err != nil {
			return nil, fmt.Errorf("tenant: mapping %d: bad glob %q: %w", i, m.Namespace, err)
		}
		r.globs = append(r.globs, m)
	}
	return r, nil
}

// Tenant returns the tenant of the namespace with the given name and labels,
// or "" when it belongs to none.
func (r *Resolver) Tenant(namespace string, labels map[string]string) string {
	if r == nil {
		return ""
	}
	for _, k := range r.keys {
		if v := labels[k]; v != "" {
			return v
		}
	}
	if namespace == "" {
		return ""
	}
	if t, ok := r.exact[namespace]; ok {
		return t
	}
	for _, m := range r.globs {
		if ok, _ := path.Match(m.Namespace, namespace); ok {
			return m.Tenant
		}
	}
	return ""
}
