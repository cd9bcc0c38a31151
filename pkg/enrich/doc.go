// Package enrich is the pipeline stage that attaches the workload view to
// every event: container (id, name, image, privileged, start time), pod (name,
// uid, labels), namespace (name, labels), tenant, cluster and node, and the
// identity of the remote pod of socket events.
//
// The stage runs on the pipeline's goroutine. A cgroup id whose metadata is
// cached costs one map lookup; an unknown one starts an asynchronous fetch
// (cgroup path → container id → CRI runtime → Kubernetes informers) and its
// events wait in a bounded side queue until the answer or the wait timeout,
// while events of other cgroups flow on.
package enrich
