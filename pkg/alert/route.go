package alert

import (
	"fmt"
	"time"
)

// HostTenant names "no tenant" (host processes, namespaces without a
// tenant) in tenant allow-lists, stats and NATS subjects.
const HostTenant = "_host"

// TenantKey returns the tenant's name, or HostTenant when it has none.
func (a *Alert) TenantKey() string {
	if a.Tenant == "" {
		return HostTenant
	}
	return a.Tenant
}

// Route selects the alerts that reach a destination. Every condition must
// hold; an empty list does not filter.
type Route struct {
	// MinPriority is the least severe priority delivered (default "debug":
	// everything).
	MinPriority string `yaml:"min_priority"`
	// Tenants is the tenant allow-list; HostTenant ("_host") stands for
	// alerts without a tenant.
	Tenants []string `yaml:"tenants"`
	// Rules delivers only the rules named here.
	Rules []string `yaml:"rules"`
	// ExcludeRules never delivers the rules named here.
	ExcludeRules []string `yaml:"exclude_rules"`
	// Tags delivers only alerts that have at least one of these tags.
	Tags []string `yaml:"tags"`
	// ExcludeTags never delivers alerts that have one of these tags.
	ExcludeTags []string `yaml:"exclude_tags"`
}

// Validate checks the route; errors name the key.
func (r Route) Validate() error {
	if r.MinPriority != "" {
		if _, err := ParsePriority(r.MinPriority); err != nil {
			return fmt.Errorf("min_priority: %w", err)
		}
	}
	lists := []struct {
		key  string
		list []string
	}{{"tenants", r.Tenants}, {"rules", r.Rules}, {"exclude_rules", r.ExcludeRules}, {"tags", r.Tags}, {"exclude_tags", r.ExcludeTags}}
	for _, l := range lists {
		for i, s := range l.list {
			if s == "" {
				return fmt.Errorf("%s[%d]: empty name", l.key, i)
			}
		}
	}
	return nil
}

// Delivery sets a destination's queue and retries. Zero values take the
// defaults, so a partly written config still works.
type Delivery struct {
	// QueueSize bounds the alerts waiting for this destination (default
	// 1024). Each tenant's alerts wait in a FIFO of their own, served in
	// turn, and a tenant may hold at most QueueSize/(n+1) of the queue, n
	// being the tenants with alerts waiting, itself included (half the
	// queue when alone): beyond its share an alert is dropped with reason
	// DropTenantShare, and when the whole queue is full with DropQueueFull.
	QueueSize int `yaml:"queue_size"`
	// Workers is the number of goroutines sending (default 1).
	Workers int `yaml:"workers"`
	// MaxAttempts is the retry budget: attempts per alert, the first
	// included (default 1: no retry). After the last
	// failure the alert is dropped with reason DropRetriesExhausted.
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff is the wait before the first retry (default 200ms); it
	// doubles at each retry up to MaxBackoff (default 5s), which also caps
	// the first.
	Backoff    time.Duration `yaml:"backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
}

// Delivery defaults.
const (
	DefaultQueueSize  = 1024
	DefaultBackoff    = 200 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
)

// WithDefaults returns d with zero values replaced by the defaults.
func (d Delivery) WithDefaults() Delivery {
	if d.QueueSize == 0 {
		d.QueueSize = DefaultQueueSize
	}
	if d.Workers == 0 {
		d.Workers = 1
	}
	if d.MaxAttempts == 0 {
		d.MaxAttempts = 1
	}
	if d.Backoff == 0 {
		d.Backoff = DefaultBackoff
	}
	if d.MaxBackoff == 0 {
		d.MaxBackoff = DefaultMaxBackoff
	}
	return d
}

// Validate checks the delivery settings; errors name the key.
func (d Delivery) Validate() error {
	switch {
	case d.QueueSize < 0:
		return fmt.Errorf("queue_size: %d is negative", d.QueueSize)
	case d.Workers < 0 || d.Workers > 64:
		return fmt.Errorf("workers: %d is outside 0..64", d.Workers)
	case d.MaxAttempts < 0:
		return fmt.Errorf("max_attempts: %d is negative", d.MaxAttempts)
	case d.Backoff < 0:
		return fmt.Errorf("backoff: %v is negative", d.Backoff)
	case d.MaxBackoff < 0:
		return fmt.Errorf("max_backoff: %v is negative", d.MaxBackoff)
	}
	return nil
}

// filter is a compiled Route: lookups only, no allocation per alert.
type filter struct {
	min                     Priority
	tenants                 set
	rules, excludeRules     set
	tags, excludeTags       set
	anyTags, anyExcludeTags bool
}

type set map[string]struct{}

func newSet(list []string) set {
	if len(list) == 0 {
		return nil
	}
	s := make(set, len(list))
	for _, v := range list {
		s[v] = struct{}{}
	}
	return s
}

func (s set) has(v string) bool { _, ok := s[v]; return ok }

func compileRoute(r Route) (filter, error) {
	if err := r.Validate(); err != nil {
		return filter{}, err
	}
	f := filter{
		min:          PriorityDebug,
		tenants:      newSet(r.Tenants),
		rules:        newSet(r.Rules),
		excludeRules: newSet(r.ExcludeRules),
		tags:         newSet(r.Tags),
		excludeTags:  newSet(r.ExcludeTags),
	}
	if r.MinPriority != "" {
		f.min, _ = ParsePriority(r.MinPriority)
	}
	f.anyTags, f.anyExcludeTags = f.tags != nil, f.excludeTags != nil
	return f, nil
}

// match reports whether a passes the filter; tenant is a.TenantKey().
func (f *filter) match(a *Alert, tenant string) bool {
	if !a.Priority.AtLeast(f.min) {
		return false
	}
	if f.tenants != nil && !f.tenants.has(tenant) {
		return false
	}
	if f.rules != nil && !f.rules.has(a.Rule) {
		return false
	}
	if f.excludeRules != nil && f.excludeRules.has(a.Rule) {
		return false
	}
	if f.anyTags || f.anyExcludeTags {
		found := false
		for _, t := range a.Tags {
			if f.anyExcludeTags && f.excludeTags.has(t) {
				return false
			}
			if f.anyTags && f.tags.has(t) {
				found = true
			}
		}
		if f.anyTags && !found {
			return false
		}
	}
	return true
}
