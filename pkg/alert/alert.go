// Package alert defines the Alert that the engine emits and everything
// between the engine and the outputs: rate limiting per tenant and rule,
// routing by priority, tenant, rule and tag, and the bounded per-output
// queues that keep the event path from ever blocking.
package alert

import "time"

// Alert is one rule match, self-contained: it holds copies of everything the
// outputs need, never pointers into the event path's state.
type Alert struct {
	// Time is when the event happened.
	Time time.Time
	// Rule is the rule's name.
	Rule string
	// Priority is the rule's priority.
	Priority Priority
	// Source is the event source ("syscall").
	Source string
	// Output is the rule's output with every %field token substituted
	// (<NA> for missing values), prefixed by nothing: outputs add the time
	// and priority where their format wants them.
	Output string
	// Tags are the rule's tags.
	Tags []string
	// Hostname is the node's hostname.
	Hostname string
	// OutputFields maps each %field token of the rule's output, exactly as
	// written (e.g. "proc.aname[2]"), to its typed value (string, int64,
	// uint64, bool, []string ...), nil when the value is missing.
	OutputFields map[string]any
	// Tenant is the tenant of the workload, empty for host events and
	// namespaces without a tenant.
	Tenant string
	// Namespace, Pod and ContainerID locate the workload (empty on the host).
	Namespace, Pod, ContainerID string
}
