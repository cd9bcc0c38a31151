package alert

import (
	"fmt"
	"sort"
	"time"
)

// RateLimit configures the token buckets that keep one noisy tenant or rule
// from drowning the others. Each (tenant, rule) pair has a bucket of Rate
// alerts per second with Burst capacity, and each tenant a ceiling bucket
// of TenantRate/TenantBurst over all its rules. An alert passes when both
// buckets hold a token; otherwise it is suppressed, counted, and reported
// later by a summary alert. Host alerts form the tenant HostTenant.
type RateLimit struct {
	// Enabled turns rate limiting on.
	Enabled bool `yaml:"enabled"`
	// Rate and Burst size the bucket of each (tenant, rule) pair.
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
	// TenantRate and TenantBurst size each tenant's ceiling; 0 means no
	// ceiling.
	TenantRate  float64 `yaml:"tenant_rate"`
	TenantBurst int     `yaml:"tenant_burst"`
	// Tenants overrides the four limits above for the tenants named here
	// (HostTenant for host alerts); zero fields keep the global value.
	Tenants map[string]Limit `yaml:"tenants"`
}

// Limit is one tenant's override of the rate limits.
type Limit struct {
	Rate        float64 `yaml:"rate"`
	Burst       int     `yaml:"burst"`
	TenantRate  float64 `yaml:"tenant_rate"`
	TenantBurst int     `yaml:"tenant_burst"`
}

func (r RateLimit) limitFor(tenant string) Limit {
	l := Limit{Rate: r.Rate, Burst: r.Burst, TenantRate: r.TenantRate, TenantBurst: r.TenantBurst}
	if o, ok := r.Tenants[tenant]; ok {
		if o.Rate != 0 {
			l.Rate = o.Rate
		}
		if o.Burst != 0 {
			l.Burst = o.Burst
		}
		if o.TenantRate != 0 {
			l.TenantRate = o.TenantRate
		}
		if o.TenantBurst != 0 {
			l.TenantBurst = o.TenantBurst
		}
	}
	return l
}

// Validate checks the limits; errors name the key.
func (r RateLimit) Validate() error {
	if !r.Enabled {
		return nil
	}
	check := func(prefix string, l Limit, override bool) error {
		switch {
		case l.Rate < 0 || (!override && l.Rate == 0):
			return fmt.Errorf("%srate: must be > 0 alerts/s, got %v", prefix, l.Rate)
		case l.Burst < 0 || (!override && l.Burst == 0):
			return fmt.Errorf("%sburst: must be at least 1, got %d", prefix, l.Burst)
		case l.TenantRate < 0:
			return fmt.Errorf("%stenant_rate: must not be negative, got %v", prefix, l.TenantRate)
		case l.TenantBurst < 0:
			return fmt.Errorf("%stenant_burst: must not be negative, got %d", prefix, l.TenantBurst)
		case !override && l.TenantRate > 0 && l.TenantBurst == 0:
			return fmt.Errorf("%stenant_burst: must be at least 1 when tenant_rate is set", prefix)
		}
		return nil
	}
	if err := check("", Limit{r.Rate, r.Burst, r.TenantRate, r.TenantBurst}, false); err != nil {
		return err
	}
	names := make([]string, 0, len(r.Tenants))
	for t := range r.Tenants {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		if err := check("tenants."+t+".", r.Tenants[t], true); err != nil {
			return err
		}
		if l := r.limitFor(t); l.TenantRate > 0 && l.TenantBurst == 0 {
			return fmt.Errorf("tenants.%s.tenant_burst: must be at least 1 when tenant_rate is set", t)
		}
	}
	return nil
}

// bucket is a token bucket driven by the caller's clock (nanoseconds).
type bucket struct {
	rate   float64 // tokens per nanosecond; 0: unlimited
	burst  float64
	tokens float64
	last   int64
}

func newBucket(perSecond float64, burst int, now int64) bucket {
	return bucket{rate: perSecond / 1e9, burst: float64(burst), tokens: float64(burst), last: now}
}

// refill adds the tokens earned since the last call; time going backwards
// (events from different CPUs slightly out of order) earns nothing.
func (b *bucket) refill(now int64) {
	if b.rate == 0 {
		return
	}
	if dt := now - b.last; dt > 0 {
		b.tokens += float64(dt) * b.rate
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
		b.last = now
	}
}

func (b *bucket) ready() bool { return b.rate == 0 || b.tokens >= 1 }

func (b *bucket) take() {
	if b.rate != 0 {
		b.tokens--
	}
}

// ruleState is one (tenant, rule) pair: its bucket and what it suppressed
// since the last summary.
type ruleState struct {
	bucket     bucket
	suppressed uint64
	worst      Priority // most severe suppressed priority
	hostname   string
}

// tenantState holds a tenant's ceiling, its rules and its counters. It is
// guarded by the Dispatcher's limiter lock.
type tenantState struct {
	name       string
	id         int32 // dense index of the tenant in the destinations' queues
	limit      Limit
	ceiling    bucket
	rules      map[string]*ruleState
	alerts     uint64
	suppressed uint64
}

func newTenantState(name string, id int32, l Limit, now int64) *tenantState {
	ts := &tenantState{name: name, id: id, limit: l, rules: map[string]*ruleState{}}
	if l.TenantRate > 0 {
		ts.ceiling = newBucket(l.TenantRate, l.TenantBurst, now)
	}
	return ts
}

// admit charges the alert to its buckets at time now and reports whether
// it may pass; suppressed alerts are recorded for the summary.
func (ts *tenantState) admit(a *Alert, now int64) bool {
	rs := ts.rules[a.Rule]
	if rs == nil {
		rs = &ruleState{bucket: newBucket(ts.limit.Rate, ts.limit.Burst, now)}
		ts.rules[a.Rule] = rs
	}
	rs.bucket.refill(now)
	ts.ceiling.refill(now)
	if rs.bucket.ready() && ts.ceiling.ready() {
		rs.bucket.take()
		ts.ceiling.take()
		return true
	}
	if rs.suppressed == 0 || a.Priority < rs.worst {
		rs.worst = a.Priority
	}
	rs.suppressed++
	rs.hostname = a.Hostname
	ts.suppressed++
	return false
}

// SummaryRule is the rule name of the alerts that report suppressed alerts.
const SummaryRule = "Vigil alerts suppressed"

// suppression is what one (tenant, rule) pair suppressed since the last
// summary: all a summary alert needs, copied out under the limiter lock.
type suppression struct {
	tenant   string
	id       int32
	rule     string
	n        uint64
	worst    Priority
	hostname string
}

// takeSuppressed appends what each rule suppressed since the last call to
// out and resets those counts.
func (ts *tenantState) takeSuppressed(out []suppression) []suppression {
	for name, rs := range ts.rules {
		if rs.suppressed > 0 {
			out = append(out, suppression{tenant: ts.name, id: ts.id, rule: name, n: rs.suppressed, worst: rs.worst, hostname: rs.hostname})
			rs.suppressed = 0
		}
	}
	return out
}

// summary returns the alert reporting s at time now.
func (s suppression) summary(now time.Time, window time.Duration) *Alert {
	name := s.tenant
	tenant := name
	if tenant == HostTenant {
		tenant = ""
	}
	return &Alert{
		Time:     now,
		Rule:     SummaryRule,
		Priority: s.worst,
		Source:   "internal",
		Output: fmt.Sprintf("%d alerts of rule %q for tenant %s were suppressed by the rate limit in the last %s",
			s.n, s.rule, name, window.Round(time.Millisecond)),
		Tags:     []string{"rate_limit", "vigil"},
		Hostname: s.hostname,
		OutputFields: map[string]any{
			"vigil.rule":       s.rule,
			"vigil.tenant":     name,
			"vigil.suppressed": s.n,
		},
		Tenant: tenant,
	}
}
