package alert

import (
	"fmt"
	"time"
)

// Config is the alert stage's config: rate limiting and summaries. The
// destinations come from the outputs' config (package output).
type Config struct {
	RateLimit RateLimit `yaml:"rate_limit"`
	// SummaryInterval is how often suppressed alerts are reported by
	// summary alerts (one per tenant and rule that suppressed any).
	SummaryInterval time.Duration `yaml:"summary_interval"`
}

// DefaultConfig returns the defaults: per (tenant, rule) 10 alerts/s with a
// burst of 50, per tenant at most 100 alerts/s with a burst of 500, a
// summary every 30 s.
func DefaultConfig() Config {
	return Config{
		RateLimit: RateLimit{
			Enabled:     true,
			Rate:        10,
			Burst:       50,
			TenantRate:  100,
			TenantBurst: 500,
		},
		SummaryInterval: 30 * time.Second,
	}
}

// Validate checks the config; errors name the key.
func (c Config) Validate() error {
	if err := c.RateLimit.Validate(); err != nil {
		return fmt.Errorf("rate_limit.%w", err)
	}
	if c.RateLimit.Enabled && c.SummaryInterval <= 0 {
		return fmt.Errorf("summary_interval: must be > 0 when rate_limit is enabled, got %v", c.SummaryInterval)
	}
	return nil
}
