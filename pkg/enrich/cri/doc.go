// Package cri reads container and pod-sandbox metadata from a container
// runtime (containerd, CRI-O) through the Kubernetes CRI gRPC API: names,
// image, the kubelet's io.kubernetes.* labels, privileged mode and start time.
package cri
