package alert

import "sync/atomic"

// DropReason says why an alert did not reach a destination.
type DropReason uint8

// Drop reasons.
const (
	// DropQueueFull: the destination's queue was full when the alert came.
	DropQueueFull DropReason = iota
	// DropRetriesExhausted: every attempt of the retry budget failed.
	DropRetriesExhausted
	// DropRejected: the destination refused the alert for good (a
	// Permanent error, such as an HTTP 4xx answer).
	DropRejected
	// DropShutdown: the alert was still queued or in flight when shutdown
	// ran out of time, came after Close, or was accepted by a sink that
	// lost it at Close (see Lost).
	DropShutdown
	// DropTenantShare: the alert's tenant already held its share of the
	// destination's queue (see Delivery.QueueSize), so that other tenants
	// keep room.
	DropTenantShare
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{"queue_full", "retries_exhausted", "rejected", "shutdown", "tenant_share"}

// String returns the reason as used in metric labels ("queue_full" ...).
func (r DropReason) String() string {
	if r < numDropReasons {
		return dropReasonNames[r]
	}
	return "unknown"
}

// DropReasons lists every reason, for exporting zero-valued series.
func DropReasons() []DropReason {
	return []DropReason{DropQueueFull, DropRetriesExhausted, DropRejected, DropShutdown, DropTenantShare}
}

// Stats is a snapshot of the Dispatcher's counters; all are cumulative
// since it started except Queued.
type Stats struct {
	// Outputs is keyed by destination name.
	Outputs map[string]OutputStats
	// Tenants is keyed by tenant (HostTenant for alerts without one).
	Tenants map[string]TenantStats
}

// OutputStats counts one destination's deliveries.
type OutputStats struct {
	// Queued is the number of alerts waiting now; QueueSize its bound.
	Queued, QueueSize int
	// Sent counts alerts delivered. Alerts a sink reports lost when it
	// closes (see Lost) move from Sent to Dropped[DropShutdown] then.
	Sent uint64
	// Failed counts failed attempts, retried or not.
	Failed uint64
	// Dropped counts alerts given up, by reason.
	Dropped map[DropReason]uint64
}

// TenantStats counts one tenant's alerts.
type TenantStats struct {
	// Alerts counts the alerts the engine raised, suppressed ones included.
	Alerts uint64
	// Suppressed counts alerts the rate limit held back.
	Suppressed uint64
}

// counters are one destination's live counters.
type counters struct {
	sent, failed atomic.Uint64
	dropped      [numDropReasons]atomic.Uint64
}
