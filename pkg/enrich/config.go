package enrich

import (
	"fmt"
	"time"

	"github.com/vigilsec/vigil/pkg/enrich/cri"
	"github.com/vigilsec/vigil/pkg/enrich/tenant"
)

// Kubernetes modes for Config.Kubernetes.
const (
	// KubeAuto uses Kubeconfig when set, else the in-cluster service
	// account when present, else runs without Kubernetes.
	KubeAuto = "auto"
	// KubeOff never talks to an API server.
	KubeOff = "off"
)

// Config configures the enrich stage.
type Config struct {
	// CgroupRoot is the cgroup2 mount point; empty finds it in
	// /proc/self/mountinfo.
	CgroupRoot string `yaml:"cgroup_root"`
	// CRISockets are the runtime sockets to try, first answering wins;
	// empty probes containerd's and CRI-O's default paths.
	CRISockets []string `yaml:"cri_sockets"`
	// CRITimeout bounds each runtime call.
	CRITimeout time.Duration `yaml:"cri_timeout"`
	// Kubernetes is "auto" (default) or "off".
	Kubernetes string `yaml:"kubernetes"`
	// Kubeconfig is the kubeconfig file; empty uses the in-cluster config.
	Kubeconfig string `yaml:"kubeconfig"`
	// NodeName is this node's name; empty uses NODE_NAME, then the host
	// name. Only pods of this node are watched.
	NodeName string `yaml:"node_name"`
	// ClusterName is reported as k8s.cluster.name.
	ClusterName string `yaml:"cluster_name"`
	// TenantLabels are the namespace labels naming a tenant, in order of
	// precedence.
	TenantLabels []string `yaml:"tenant_labels"`
	// StaticTenants map namespace names or globs to tenants, for clusters
	// without tenant labels; labels win over them.
	StaticTenants []tenant.Mapping `yaml:"static_tenants"`
	// CacheSize bounds the number of cgroups whose metadata is kept.
	CacheSize int `yaml:"cache_size"`
	// CacheTTL is how long a cgroup's metadata is used before it is
	// fetched again (in the background; the old value serves meanwhile).
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// RetryTTL is how long a failed lookup is kept before it is retried.
	RetryTTL time.Duration `yaml:"retry_ttl"`
	// WaitTimeout is how long an event of a cgroup whose metadata is being
	// fetched may wait before it goes on with what is known.
	WaitTimeout time.Duration `yaml:"wait_timeout"`
	// SideQueue bounds the number of waiting events; beyond it events go
	// on unenriched and are counted as drops.
	SideQueue int `yaml:"side_queue"`
	// Workers is the number of concurrent lookups.
	Workers int `yaml:"workers"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		CRISockets:   append([]string(nil), cri.DefaultSockets...),
		CRITimeout:   2 * time.Second,
		Kubernetes:   KubeAuto,
		TenantLabels: append([]string(nil), tenant.DefaultLabelKeys...),
		CacheSize:    8192,
		CacheTTL:     10 * time.Minute,
		RetryTTL:     5 * time.Second,
		WaitTimeout:  500 * time.Millisecond,
		SideQueue:    4096,
		Workers:      4,
	}
}

// Validate reports the first invalid setting, naming its key (relative to
// the enrich section).
func (c Config) Validate() error {
	if c.Kubernetes != KubeAuto && c.Kubernetes != KubeOff {
		return fmt.Errorf("kubernetes: %q is neither %q nor %q", c.Kubernetes, KubeAuto, KubeOff)
	}
	positive := []struct {
		key string
		v   int64
	}{
		{"cri_timeout", int64(c.CRITimeout)},
		{"cache_size", int64(c.CacheSize)},
		{"cache_ttl", int64(c.CacheTTL)},
		{"retry_ttl", int64(c.RetryTTL)},
		{"wait_timeout", int64(c.WaitTimeout)},
		{"side_queue", int64(c.SideQueue)},
		{"workers", int64(c.Workers)},
	}
	for _, p := range positive {
		if p.v <= 0 {
			return fmt.Errorf("%s: must be positive", p.key)
		}
	}
	if _, err := tenant.New(c.TenantLabels, c.StaticTenants); err != nil {
		return fmt.Errorf("static_tenants: %w", err)
	}
	return nil
}
