package tenant

import "testing"

func TestTenant(t *testing.T) {
	r, err := New(DefaultLabelKeys, []Mapping{
		{Namespace: "team-a-*", Tenant: "glob-a"},
		{Namespace: "team-a-prod", Tenant: "exact-a"},
		{Namespace: "team-?", Tenant: "short"},
		{Namespace: "team-*", Tenant: "later-glob"},
		{Namespace: "team-a-prod", Tenant: "second-exact-ignored"},
	})
	if err != nil {
		t.Fatal(err)
	}
	capsule := "capsule.clastix.io/tenant"
	project := "projectcapsule.dev/tenant"
	tests := []struct {
		name, ns string
		labels   map[string]string
		want     string
	}{
		{"capsule label", "x", map[string]string{capsule: "acme"}, "acme"},
		{"project label", "x", map[string]string{project: "beta"}, "beta"},
		{"capsule before project", "x", map[string]string{project: "beta", capsule: "acme"}, "acme"},
		{"label beats static", "team-a-prod", map[string]string{capsule: "acme"}, "acme"},
		{"empty label falls through", "team-a-prod", map[string]string{capsule: ""}, "exact-a"},
		{"exact beats earlier glob", "team-a-prod", nil, "exact-a"},
		{"first glob", "team-a-dev", nil, "glob-a"},
		{"single char glob", "team-b", nil, "short"},
		{"later glob", "team-bb", nil, "later-glob"},
		{"unmapped", "kube-system", nil, ""},
		{"no namespace", "", nil, ""},
	}
	for _, tt := range tests {
		if got := r.Tenant(tt.ns, tt.labels); got != tt.want {
			t.Errorf("%s: Tenant(%q, %v) = %q, want %q", tt.name, tt.ns, tt.labels, got, tt.want)
		}
	}
}

func TestCustomKeysAndNil(t *testing.T) {
	r, err := New([]string{"example.com/team"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Tenant("a", map[string]string{"capsule.clastix.io/tenant": "acme"}); got != "" {
		t.Fatalf("default key used although not configured: %q", got)
	}
	if got := r.Tenant("a", map[string]string{"example.com/team": "t1"}); got != "t1" {
		t.Fatalf("custom key = %q", got)
	}
	var none *Resolver
	if got := none.Tenant("a", map[string]string{"example.com/team": "t1"}); got != "" {
		t.Fatalf("nil resolver = %q", got)
	}
}

func TestNewErrors(t *testing.T) {
	for _, m := range [][]Mapping{
		{{Namespace: "", Tenant: "t"}},
		{{Namespace: "a", Tenant: ""}},
		{{Namespace: "team-[", Tenant: "t"}},
		{{Namespace: "a", Tenant: "_host"}},
	} {
		if _, err := New(nil, m); err == nil {
			t.Errorf("New(%v) accepted", m)
		}
	}
}
