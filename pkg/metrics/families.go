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

// The families every stage reports, shaped after the stages' Stats()
// snapshots. Label values are free-form but must be unique within one family
// across all of its sources (two sources reporting the same label values for
// one family is a scrape error).
var (
	// EventsByType counts decoded events by event type (evt.type name).
	// Source: the pipeline's per-type counters.
	EventsByType = Family{"vigil_events_total", "Events decoded from kernel records, by event type.", Counter, []string{"type"}}
	// KernelDrops counts events the kernel could not record, by reason:
	// "ringbuf_full" (the ring buffer was full), "inflight_full" (the map
	// of syscalls in flight was full) or "scratch_busy" (every record
	// buffer of the CPU was held by preempted programs). Source: probe.
	KernelDrops = Family{"vigil_kernel_drops_total", "Events lost in the kernel, by reason (ringbuf_full, inflight_full, scratch_busy).", Counter, []string{"reason"}}
	// KernelPrefiltered counts records the kernel's rule-derived prefilter
	// kept from user space (no rule could match them). Source: probe.
	KernelPrefiltered = Family{"vigil_kernel_prefiltered_total", "Records the kernel's rule-derived prefilter kept from user space.", Counter, nil}
	// QueueDrops counts events dropped by a full user-space queue, by queue
	// ("probe": ring buffer reader to pipeline; "enrich": metadata side
	// queue). Source: every stage with a queue.
	QueueDrops = Family{"vigil_queue_drops_total", "Events dropped by a full user-space queue, by queue.", Counter, []string{"queue"}}
	// DecodeErrors counts kernel records that could not be decoded.
	// Source: pipeline.
	DecodeErrors = Family{"vigil_decode_errors_total", "Kernel records that could not be decoded.", Counter, nil}
	// RuleEvaluations counts the events each rule's condition ran on.
	// Source: engine.
	RuleEvaluations = Family{"vigil_rule_evaluations_total", "Events each rule's condition was evaluated on, by rule.", Counter, []string{"rule"}}
	// RuleMatches counts the events each rule matched. Source: engine.
	RuleMatches = Family{"vigil_rule_matches_total", "Events each rule matched, by rule.", Counter, []string{"rule"}}
	// OutputAlerts counts delivery results per output: "sent" (delivered)
	// and "failed" (failed attempts, retried or not). Source: alert
	// dispatcher.
	OutputAlerts = Family{"vigil_output_alerts_total", "Alert deliveries per output, by result (sent, failed attempts).", Counter, []string{"output", "result"}}
	// OutputDrops counts alerts an output gave up, by reason
	// ("queue_full", "retries_exhausted", "rejected", "shutdown"). Source:
	// alert dispatcher.
	OutputDrops = Family{"vigil_output_drops_total", "Alerts an output gave up, by output and reason.", Counter, []string{"output", "reason"}}
	// OutputQueued is the number of alerts waiting in each output's queue.
	// Source: alert dispatcher.
	OutputQueued = Family{"vigil_output_queued", "Alerts waiting in each output's queue.", Gauge, []string{"output"}}
	// TenantEvents counts evaluated events per tenant ("" for the host and
	// namespaces without a tenant), for chargeback. Source: pipeline.
	TenantEvents = Family{"vigil_tenant_events_total", "Events evaluated per tenant (empty tenant: host and untenanted namespaces).", Counter, []string{"tenant"}}
	// TenantAlerts counts the alerts raised per tenant, suppressed ones
	// included. Source: alert dispatcher.
	TenantAlerts = Family{"vigil_tenant_alerts_total", "Alerts raised per tenant, suppressed ones included.", Counter, []string{"tenant"}}
	// TenantAlertsSuppressed counts the alerts each tenant's rate limit
	// held back. Source: alert dispatcher.
	TenantAlertsSuppressed = Family{"vigil_tenant_alerts_suppressed_total", "Alerts held back by each tenant's rate limit.", Counter, []string{"tenant"}}
	// ProcessTableSize is the number of entries of the state tables, by
	// table ("processes"). Source: state.
	ProcessTableSize = Family{"vigil_state_table_entries", "Entries in the process-state tables, by table.", Gauge, []string{"table"}}
	// EnrichCacheHits and EnrichCacheMisses count events enriched from the
	// cache and lookups started for unknown cgroups. Source: enrich.
	EnrichCacheHits   = Family{"vigil_enrich_cache_hits_total", "Events enriched straight from the metadata cache.", Counter, nil}
	EnrichCacheMisses = Family{"vigil_enrich_cache_misses_total", "Metadata lookups started for unknown cgroups.", Counter, nil}
	// EnrichWaits counts events held until their metadata arrived, by
	// result: "parked" (all held events) and "timeout" (released by the
	// wait timeout with incomplete metadata). Source: enrich.
	EnrichWaits = Family{"vigil_enrich_waits_total", "Events held for their metadata, by result (parked, timeout).", Counter, []string{"result"}}
	// EnrichErrors counts failed metadata lookups. Source: enrich.
	EnrichErrors = Family{"vigil_enrich_errors_total", "Failed metadata lookups (cgroup, runtime).", Counter, nil}
	// EnrichCacheEntries is the number of cgroups whose metadata is cached.
	// Source: enrich.
	EnrichCacheEntries = Family{"vigil_enrich_cache_entries", "Cgroups whose metadata is cached.", Gauge, nil}
	// RulesLoaded is the number of enabled rules in the running ruleset.
	// Source: agent.
	RulesLoaded = Family{"vigil_rules_loaded", "Enabled rules in the running ruleset.", Gauge, nil}
)

// Families lists every family above, for documentation and tests.
func Families() []Family {
	return []Family{EventsByType, KernelDrops, KernelPrefiltered, QueueDrops, DecodeErrors, RuleEvaluations, RuleMatches,
		OutputAlerts, OutputDrops, OutputQueued, TenantEvents, TenantAlerts, TenantAlertsSuppressed,
		ProcessTableSize, EnrichCacheHits, EnrichCacheMisses, EnrichWaits, EnrichErrors, EnrichCacheEntries,
		RulesLoaded}
}
