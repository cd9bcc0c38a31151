// Package cgroup maps a cgroup v2 id (as the kernel reports it with each
// event) to the cgroup's path, and a path to the container and pod it belongs
// to, for every common runtime layout: kubelet's cgroupfs and systemd drivers
// (containerd, CRI-O, Docker), containerd's own /<namespace>/<id> and plain
// runc.
package cgroup
