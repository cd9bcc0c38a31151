package metrics

// Kind says how Prometheus should treat a family's values.
type Kind uint8

// Family kinds.
const (
	// Counter is a cumulative count that only grows (it may reset when the
	// stage that owns it restarts).
	Counter Kind = iota
	// Gauge is a value that goes up and down (a table size).
	Gauge
)

// Family describes one metric family: its full name, help text, kind and
// label names. Stages report values for a family through Metrics.Source.
type Family struct {
	Name   string
	Help   string
	Kind   Kind
	Labels []string
}

// The families every stage reports. Label values are free-form but must be
// unique within one family across all of its sources (two sources reporting
// the same label values for one family is a scrape error).
var (
	// EventsByType counts events read from the kernel, by event type
	// (evt.type name). Source: probe/decode.
	EventsByType = Family{"vigil_events_total", "Events received from the kernel, by event type.", Counter, []string{"type"}}
	// KernelDrops counts records the kernel could not put in the ring
	// buffer (ring full), summed over CPUs. Source: probe.
	KernelDrops = Family{"vigil_kernel_drops_total", "Kernel records lost because the ring buffer was full.", Counter, nil}
	// QueueDrops counts events dropped by a bounded user-space queue, by
	// queue name (e.g. "events", "enrich_wait", "alerts"). Source: every
	// stage with a queue.
	QueueDrops = Family{"vigil_queue_drops_total", "Events or alerts dropped by a full user-space queue, by queue.", Counter, []string{"queue"}}
	// DecodeErrors counts records that could not be decoded, by reason.
	// Source: event decoding.
	DecodeErrors = Family{"vigil_decode_errors_total", "Kernel records that could not be decoded, by reason.", Counter, []string{"reason"}}
	// RuleEvaluations counts condition evaluations per rule. Source: engine.
	RuleEvaluations = Family{"vigil_rule_evaluations_total", "Condition evaluations, by rule.", Counter, []string{"rule"}}
	// RuleMatches counts matches per rule and priority. Source: engine.
	RuleMatches = Family{"vigil_rule_matches_total", "Rule matches, by rule and priority.", Counter, []string{"rule", "priority"}}
	// OutputAlerts counts alerts per output by result: "sent", "failed"
	// (delivery gave up after retries) or "dropped" (queue full or rate
	// limited at the output). Source: outputs.
	OutputAlerts = Family{"vigil_output_alerts_total", "Alerts handled by each output, by result (sent, failed, dropped).", Counter, []string{"output", "result"}}
	// TenantEvents counts events per tenant ("" for the host and
	// namespaces without a tenant), for chargeback. Source: enrich or engine.
	TenantEvents = Family{"vigil_tenant_events_total", "Events per tenant (empty tenant: host and untenanted namespaces).", Counter, []string{"tenant"}}
	// TenantAlerts counts alerts per tenant and outcome: "emitted" or
	// "suppressed" (over the tenant's rate limit). Source: alert routing.
	TenantAlerts = Family{"vigil_tenant_alerts_total", "Alerts per tenant, by outcome (emitted, suppressed).", Counter, []string{"tenant", "outcome"}}
	// ProcessTableSize is the number of entries of the state tables, by
	// table ("processes", "fds"). Source: state.
	ProcessTableSize = Family{"vigil_state_table_entries", "Entries in the process-state tables, by table.", Gauge, []string{"table"}}
	// EnrichCacheHits and EnrichCacheMisses count metadata lookups by
	// cache ("container", "pod", "namespace", "peer"). Source: enrich.
	EnrichCacheHits   = Family{"vigil_enrich_cache_hits_total", "Enrichment cache hits, by cache.", Counter, []string{"cache"}}
	EnrichCacheMisses = Family{"vigil_enrich_cache_misses_total", "Enrichment cache misses, by cache.", Counter, []string{"cache"}}
	// EnrichWaits counts events held back until their container's metadata
	// arrived, by result ("completed", "timeout"). Source: enrich.
	EnrichWaits = Family{"vigil_enrich_waits_total", "Events held until their metadata arrived, by result (completed, timeout).", Counter, []string{"result"}}
	// RulesLoaded is the number of enabled rules in the running ruleset.
	// Source: agent.
	RulesLoaded = Family{"vigil_rules_loaded", "Enabled rules in the running ruleset.", Gauge, nil}
)
