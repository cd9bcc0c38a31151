package cri

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// DefaultSockets are the runtime sockets probed when none is configured, in
// order: containerd, k3s/rke2's containerd, CRI-O.
var DefaultSockets = []string{
	"/run/containerd/containerd.sock",
	"/run/k3s/containerd/containerd.sock",
	"/var/run/crio/crio.sock",
	"/run/crio/crio.sock",
}

// ErrNotFound is returned when the runtime does not know the container.
var ErrNotFound = errors.New("cri: container not found")

// ErrNoRuntime is returned by Dial when none of the sockets answers.
var ErrNoRuntime = errors.New("cri: no container runtime socket answers")

// ErrNoSocket is returned by Dial (wrapped with ErrNoRuntime) when none of
// the sockets exists: the node has no runtime, as opposed to one that is
// down.
var ErrNoSocket = errors.New("cri: no runtime socket exists")

// Kubelet labels the runtime stores on every container and sandbox.
const (
	LabelPodName       = "io.kubernetes.pod.name"
	LabelPodNamespace  = "io.kubernetes.pod.namespace"
	LabelPodUID        = "io.kubernetes.pod.uid"
	LabelContainerName = "io.kubernetes.container.name"
)

// Container is what the runtime knows of one container or pod sandbox.
type Container struct {
	// ID is the full container (or sandbox) id.
	ID string
	// Name is the container's name (the kubelet's container name when
	// present).
	Name string
	// Sandbox reports that ID is a pod sandbox (the pause container).
	Sandbox bool
	// Image is the image reference; ImageParts its parts.
	Image      string
	ImageParts Image
	// PodName, PodNamespace and PodUID come from the kubelet's labels.
	PodName, PodNamespace, PodUID string
	// Labels are the container's labels.
	Labels map[string]string
	// Privileged reports a privileged container.
	Privileged bool
	// StartedAt is the start time (Unix ns), or the creation time before
	// the container started.
	StartedAt int64
	// Pid is the container's init process as the runtime reports it.
	Pid int
}

// Client talks to one runtime over its CRI socket. Safe for concurrent use.
type Client struct {
	conn     *grpc.ClientConn
	rt       runtimeapi.RuntimeServiceClient
	endpoint string
	name     string
}

// Dial connects to the first of sockets (DefaultSockets when empty) that
// exists and answers the CRI Version call within timeout.
func Dial(ctx context.Context, sockets []string, timeout time.Duration) (*Client, error) {
	if len(sockets) == 0 {
		sockets = DefaultSockets
	}
	var errs []error
	for _, s := range sockets {
		s = strings.TrimPrefix(s, "unix://")
		if _, err := os.Stat(s); err != nil {
			continue
		}
		c, err := dialOne(ctx, s, timeout)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return c, nil
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrNoRuntime, errors.Join(errs...))
	}
	return nil, fmt.Errorf("%w: %w (tried %s)", ErrNoRuntime, ErrNoSocket, strings.Join(sockets, ", "))
}

func dialOne(ctx context.Context, socket string, timeout time.Duration) (*Client, error) {
	conn, err := grpc.NewClient("unix://"+socket,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
	if err != nil {
		return nil, fmt.Errorf("cri: %s: %w", socket, err)
	}
	c := &Client{conn: conn, rt: runtimeapi.NewRuntimeServiceClient(conn), endpoint: socket}
	vctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := c.rt.Version(vctx, &runtimeapi.VersionRequest{})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("cri: %s: version: %w", socket, err)
	}
	c.name = v.GetRuntimeName() + " " + v.GetRuntimeVersion()
	return c, nil
}

// Endpoint returns the socket the client is connected to.
func (c *Client) Endpoint() string { return c.endpoint }

// Runtime returns the runtime's name and version, such as "containerd 1.6.20".
func (c *Client) Runtime() string { return c.name }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Container returns the metadata of the container or pod sandbox with the
// full id, or ErrNotFound.
func (c *Client) Container(ctx context.Context, id string) (*Container, error) {
	resp, err := c.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err == nil && resp.GetStatus() != nil {
		return containerFrom(resp.GetStatus(), resp.GetInfo()), nil
	}
	if err != nil && status.Code(err) != codes.NotFound {
		return nil, fmt.Errorf("cri: container status %s: %w", id, err)
	}
	sresp, err := c.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id, Verbose: true})
	if status.Code(err) == codes.NotFound || (err == nil && sresp.GetStatus() == nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("cri: sandbox status %s: %w", id, err)
	}
	return sandboxFrom(sresp.GetStatus(), sresp.GetInfo()), nil
}

func containerFrom(s *runtimeapi.ContainerStatus, verbose map[string]string) *Container {
	c := &Container{ID: s.GetId(), Labels: s.GetLabels()}
	c.Name = c.Labels[LabelContainerName]
	if c.Name == "" {
		c.Name = s.GetMetadata().GetName()
	}
	info, err := ParseInfo(verbose)
	if err == nil {
		c.Privileged, c.Pid = info.Privileged, info.Pid
	}
	// The status names the image by one of its tags; the creator's own
	// reference is in the verbose config, or in user_specified_image.
	name := s.GetImage().GetUserSpecifiedImage()
	if name == "" {
		name = info.Image
	}
	if name == "" || ParseImage(name).Repository == "" {
		name = s.GetImage().GetImage()
	}
	c.Image, c.ImageParts = imageOf(name, "", s.GetImageRef())
	c.PodName = c.Labels[LabelPodName]
	c.PodNamespace = c.Labels[LabelPodNamespace]
	c.PodUID = c.Labels[LabelPodUID]
	c.StartedAt = s.GetStartedAt()
	if c.StartedAt == 0 {
		c.StartedAt = s.GetCreatedAt()
	}
	return c
}

func sandboxFrom(s *runtimeapi.PodSandboxStatus, verbose map[string]string) *Container {
	md := s.GetMetadata()
	c := &Container{
		ID:           s.GetId(),
		Sandbox:      true,
		Labels:       s.GetLabels(),
		PodName:      md.GetName(),
		PodNamespace: md.GetNamespace(),
		PodUID:       md.GetUid(),
		StartedAt:    s.GetCreatedAt(),
	}
	if c.PodName == "" {
		c.PodName = c.Labels[LabelPodName]
	}
	if c.PodNamespace == "" {
		c.PodNamespace = c.Labels[LabelPodNamespace]
	}
	if c.PodUID == "" {
		c.PodUID = c.Labels[LabelPodUID]
	}
	if info, err := ParseInfo(verbose); err == nil {
		c.Privileged, c.Pid = info.Privileged, info.Pid
	}
	return c
}

// Unavailable reports whether err means the runtime itself is gone (as
// opposed to a bad request), so the connection should be re-established.
func Unavailable(err error) bool {
	return status.Code(err) == codes.Unavailable
}

// Running returns the running containers and ready pod sandboxes, each with
// its verbose status (so Pid is set).
func (c *Client) Running(ctx context.Context) ([]*Container, error) {
	var out []*Container
	cs, err := c.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
	}})
	if err != nil {
		return nil, fmt.Errorf("cri: list containers: %w", err)
	}
	for _, ct := range cs.GetContainers() {
		if m, err := c.Container(ctx, ct.GetId()); err == nil {
			out = append(out, m)
		}
	}
	ss, err := c.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY},
	}})
	if err != nil {
		return out, fmt.Errorf("cri: list pod sandboxes: %w", err)
	}
	for _, s := range ss.GetItems() {
		if m, err := c.Container(ctx, s.GetId()); err == nil {
			out = append(out, m)
		}
	}
	return out, nil
}
