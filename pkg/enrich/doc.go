// Package enrich is the pipeline stage that attaches the workload view to
// every event: container (id, name, image, privileged, start time), pod (name,
// uid, labels), namespace (name, labels), tenant, cluster and node, and the
// pods owning the remote and local addresses of socket events.
//
// Life cycle: New(cfg, log) prepares the stage; Start(ctx) runs the lookup
// workers, loads the containers already running and starts the Kubernetes
// watch; the pipeline goroutine then calls Process for every event and Flush
// every few milliseconds; cancelling ctx stops everything.
//
// A cgroup id whose metadata is cached costs one map lookup and no
// allocation. An unknown one starts an asynchronous lookup (cgroup id → path
// → container and pod ids → CRI runtime → Kubernetes snapshot); its events
// wait, in order, in a bounded side queue until the answer or the wait
// timeout, while events of other cgroups flow on. A waiting event keeps its
// own copy of its process (and ancestors) and descriptor, so it goes on as it
// arrived. A pod's container the runtime does not know yet (a sandbox runs
// before containerd records it) is asked again while its events wait, and
// after RetryTTL once they went on. Without a runtime or without Kubernetes
// the fields they would fill stay empty; nothing is logged per event.
//
// Subpackages: cgroup (mount, id → path, path parsing), cri (runtime
// client), kube (namespace and pod informers, immutable snapshots), tenant
// (namespace → tenant).
package enrich
