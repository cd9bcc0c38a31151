package enrich

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigilsec/vigil/pkg/enrich/tenant"
)

func TestConfigYAML(t *testing.T) {
	const doc = `
cgroup_root: /sys/fs/cgroup
cri_sockets: [/run/containerd/containerd.sock]
kubernetes: "off"
cluster_name: prod-eu
tenant_labels: [example.com/team]
static_tenants:
  - {namespace: "team-a-*", tenant: a}
  - {namespace: payments, tenant: finance}
cache_size: 100
cache_ttl: 1m
wait_timeout: 250ms
side_queue: 10
`
	cfg := DefaultConfig()
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.CgroupRoot = "/sys/fs/cgroup"
	want.CRISockets = []string{"/run/containerd/containerd.sock"}
	want.Kubernetes = KubeOff
	want.ClusterName = "prod-eu"
	want.TenantLabels = []string{"example.com/team"}
	want.StaticTenants = []tenant.Mapping{{Namespace: "team-a-*", Tenant: "a"}, {Namespace: "payments", Tenant: "finance"}}
	want.CacheSize, want.CacheTTL, want.WaitTimeout, want.SideQueue = 100, time.Minute, 250*time.Millisecond, 10
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", cfg, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		key    string
	}{
		{"kubernetes mode", func(c *Config) { c.Kubernetes = "maybe" }, "kubernetes"},
		{"wait timeout", func(c *Config) { c.WaitTimeout = 0 }, "wait_timeout"},
		{"side queue", func(c *Config) { c.SideQueue = -1 }, "side_queue"},
		{"cache size", func(c *Config) { c.CacheSize = 0 }, "cache_size"},
		{"workers", func(c *Config) { c.Workers = 0 }, "workers"},
		{"bad glob", func(c *Config) { c.StaticTenants = []tenant.Mapping{{Namespace: "a[", Tenant: "t"}} }, "static_tenants"},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		tt.mutate(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tt.key+":") {
			t.Errorf("%s: Validate = %v, want an error naming %s", tt.name, err, tt.key)
		}
	}
}
