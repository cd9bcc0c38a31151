// Package kube watches the Kubernetes API server for what enrichment needs:
// every namespace (labels, hence tenant) and the pods of this node (labels
// and IPs). It publishes an immutable Snapshot after every change, so readers
// on the event path load one pointer and never lock.
package kube
