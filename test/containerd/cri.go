package containerd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/vigilsec/vigil/pkg/enrich/cgroup"
	"github.com/vigilsec/vigil/pkg/enrich/cri"
)

// PodSpec describes a pod sandbox created the way the kubelet does.
type PodSpec struct {
	// Name, Namespace and UID identify the pod as the API server would.
	Name, Namespace, UID string
	// Labels are the pod's own labels (the kubelet labels are added).
	Labels map[string]string
	// QOS is the kubelet QoS cgroup: "besteffort", "burstable" or ""
	// (guaranteed).
	QOS string
	// Privileged allows privileged containers in the pod.
	Privileged bool
}

// Pod is a running pod sandbox.
type Pod struct {
	// Spec is what the pod was created from; ID its sandbox id.
	Spec PodSpec
	ID   string
	// Pid is the sandbox's pause process; CgroupPath and CgroupID its
	// cgroup.
	Pid        int
	CgroupPath string
	CgroupID   uint64
	config     *runtimeapi.PodSandboxConfig
}

// CgroupParent returns the kubelet's cgroupfs parent of the pod.
func (s PodSpec) CgroupParent() string {
	if s.QOS == "" {
		return "/kubepods/pod" + s.UID
	}
	return "/kubepods/" + s.QOS + "/pod" + s.UID
}

// RunPod creates and starts a pod sandbox (host network, so no CNI is
// needed) under the kubelet's cgroupfs layout.
func (d *Daemon) RunPod(ctx context.Context, spec PodSpec) (*Pod, error) {
	labels := map[string]string{
		cri.LabelPodName: spec.Name, cri.LabelPodNamespace: spec.Namespace, cri.LabelPodUID: spec.UID,
	}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	logDir := filepath.Join(d.Dir, "pods", spec.UID)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: spec.Name, Namespace: spec.Namespace, Uid: spec.UID},
		LogDirectory: logDir,
		Labels:       labels,
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			CgroupParent: spec.CgroupParent(),
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				Privileged:       spec.Privileged,
				NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
			},
		},
	}
	d.cgroups = append(d.cgroups, spec.CgroupParent())
	resp, err := d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		return nil, fmt.Errorf("run pod sandbox %s: %w", spec.Name, err)
	}
	pod := &Pod{Spec: spec, ID: resp.GetPodSandboxId(), config: cfg}
	st, err := d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pod.ID, Verbose: true})
	if err != nil {
		return nil, err
	}
	info, err := cri.ParseInfo(st.GetInfo())
	if err != nil || info.Pid == 0 {
		return nil, fmt.Errorf("pod %s: no pid in sandbox status (%v)", pod.ID, err)
	}
	pod.Pid = info.Pid
	if pod.CgroupPath, pod.CgroupID, err = ProcessCgroup(pod.Pid); err != nil {
		return nil, err
	}
	return pod, nil
}

// ContainerSpec describes a container of a pod.
type ContainerSpec struct {
	// Name is the container's name in the pod.
	Name string
	// Args are passed to the sleeper (see test/containerd/sleeper).
	Args []string
	// Privileged runs the container privileged (the pod must allow it).
	Privileged bool
}

// Container is a started container.
type Container struct {
	// ID is the full container id; Pid its init process.
	ID  string
	Pid int
	// CgroupPath is the container's cgroup v2 path (relative to the mount)
	// and CgroupID its id, as the kernel reports it with every event.
	CgroupPath string
	CgroupID   uint64
	// Created and Started bracket StartContainer.
	Created, Started time.Time
}

// RunContainer creates and starts a container of the sleeper image in pod.
func (d *Daemon) RunContainer(ctx context.Context, pod *Pod, spec ContainerSpec) (*Container, error) {
	cfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: spec.Name},
		Image:    &runtimeapi.ImageSpec{Image: SleeperImage},
		Args:     spec.Args,
		Labels: map[string]string{
			cri.LabelPodName: pod.Spec.Name, cri.LabelPodNamespace: pod.Spec.Namespace, cri.LabelPodUID: pod.Spec.UID,
			cri.LabelContainerName: spec.Name,
		},
		LogPath: spec.Name + ".log",
		Linux: &runtimeapi.LinuxContainerConfig{
			SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				Privileged:       spec.Privileged,
				NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
			},
		},
	}
	cr, err := d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod.ID, Config: cfg, SandboxConfig: pod.config})
	if err != nil {
		return nil, fmt.Errorf("create container %s: %w", spec.Name, err)
	}
	c := &Container{ID: cr.GetContainerId(), Created: time.Now()}
	if _, err := d.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: c.ID}); err != nil {
		return nil, fmt.Errorf("start container %s: %w", spec.Name, err)
	}
	c.Started = time.Now()
	st, err := d.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.ID, Verbose: true})
	if err != nil {
		return nil, err
	}
	info, err := cri.ParseInfo(st.GetInfo())
	if err != nil || info.Pid == 0 {
		return nil, fmt.Errorf("container %s: no pid in status (%v)", c.ID, err)
	}
	c.Pid = info.Pid
	if c.CgroupPath, c.CgroupID, err = ProcessCgroup(c.Pid); err != nil {
		return nil, err
	}
	return c, nil
}

// ProcessCgroup returns the cgroup v2 path and id of a process, read from
// /proc/<pid>/cgroup and the cgroup2 mount.
func ProcessCgroup(pid int) (string, uint64, error) {
	p, err := cgroup.ProcPath(pid)
	if err != nil {
		return "", 0, err
	}
	root, err := cgroup.Mount()
	if err != nil {
		return "", 0, err
	}
	id, err := cgroup.DirID(filepath.Join(root, p))
	return p, id, err
}
