package alert

import (
	"strings"
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	const s = int64(time.Second)
	tests := []struct {
		name  string
		rate  float64
		burst int
		at    []int64 // times of attempts, ns
		want  string  // one char per attempt: + passed, - refused
	}{
		{"burst then empty", 1, 3, []int64{0, 0, 0, 0, 0}, "+++--"},
		{"refills at rate", 2, 1, []int64{0, 0, s / 4, s / 2, s / 2}, "+--+-"},
		{"refill capped at burst", 10, 2, []int64{0, 0, 0, 10 * s, 10 * s, 10 * s}, "++-++-"},
		{"time going back earns nothing", 1, 1, []int64{5 * s, 4 * s, 5 * s, 6 * s}, "+--+"},
		{"fractional rate", 0.5, 1, []int64{0, s, 2 * s, 3 * s, 4 * s}, "+-+-+"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBucket(tt.rate, tt.burst, tt.at[0])
			var got strings.Builder
			for _, now := range tt.at {
				b.refill(now)
				if b.ready() {
					b.take()
					got.WriteByte('+')
				} else {
					got.WriteByte('-')
				}
			}
			if got.String() != tt.want {
				t.Errorf("got %s, want %s", got.String(), tt.want)
			}
		})
	}
}

func TestTenantAdmit(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type attempt struct {
		rule string
		at   time.Duration
	}
	tests := []struct {
		name  string
		limit Limit
		seq   []attempt
		want  string
	}{
		{"rules have their own buckets", Limit{Rate: 1, Burst: 1},
			[]attempt{{"a", 0}, {"a", 0}, {"b", 0}, {"b", 0}, {"a", time.Second}}, "+-+-+"},
		{"tenant ceiling caps all rules", Limit{Rate: 100, Burst: 100, TenantRate: 1, TenantBurst: 2},
			[]attempt{{"a", 0}, {"b", 0}, {"c", 0}, {"a", time.Second}, {"b", time.Second}}, "++-+-"},
		{"refused by ceiling does not spend the rule token", Limit{Rate: 1, Burst: 1, TenantRate: 1, TenantBurst: 1},
			[]attempt{{"a", 0}, {"b", 0}, {"b", time.Second}}, "+-+"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTenantState("t", 0, tt.limit, base.UnixNano())
			var got strings.Builder
			for _, at := range tt.seq {
				a := &Alert{Rule: at.rule, Time: base.Add(at.at)}
				if ts.admit(a, a.Time.UnixNano()) {
					got.WriteByte('+')
				} else {
					got.WriteByte('-')
				}
			}
			if got.String() != tt.want {
				t.Errorf("got %s, want %s", got.String(), tt.want)
			}
		})
	}
}

func TestLimitOverrides(t *testing.T) {
	r := RateLimit{Enabled: true, Rate: 1, Burst: 2, TenantRate: 10, TenantBurst: 20,
		Tenants: map[string]Limit{"big": {Rate: 50, TenantBurst: 100}}}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := r.limitFor("big"), (Limit{50, 2, 10, 100}); got != want {
		t.Errorf("big = %+v, want %+v", got, want)
	}
	if got, want := r.limitFor("other"), (Limit{1, 2, 10, 20}); got != want {
		t.Errorf("other = %+v, want %+v", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // substring of the error, "" for none
	}{
		{"defaults", func(*Config) {}, ""},
		{"disabled ignores limits", func(c *Config) { c.RateLimit = RateLimit{} }, ""},
		{"rate", func(c *Config) { c.RateLimit.Rate = 0 }, "rate_limit.rate:"},
		{"burst", func(c *Config) { c.RateLimit.Burst = -1 }, "rate_limit.burst:"},
		{"tenant burst", func(c *Config) { c.RateLimit.TenantBurst = 0 }, "rate_limit.tenant_burst:"},
		{"override", func(c *Config) { c.RateLimit.Tenants = map[string]Limit{"a": {Rate: -1}} }, "rate_limit.tenants.a.rate:"},
		{"summary", func(c *Config) { c.SummaryInterval = 0 }, "summary_interval:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
