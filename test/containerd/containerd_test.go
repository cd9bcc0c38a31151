package containerd

import (
	"context"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/enrich/cgroup"
)

func TestPodAndContainer(t *testing.T) {
	d := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pod, err := d.RunPod(ctx, PodSpec{Name: "web-0", Namespace: "shop", UID: "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", QOS: "besteffort"})
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Log())
	}
	c, err := d.RunContainer(ctx, pod, ContainerSpec{Name: "app"})
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Log())
	}
	info := cgroup.Parse(c.CgroupPath)
	if info.ContainerID != c.ID || info.PodUID != pod.Spec.UID {
		t.Fatalf("cgroup %s parsed as %+v; want container %s pod %s", c.CgroupPath, info, c.ID, pod.Spec.UID)
	}
	t.Logf("container %s pid %d cgroup %s id %d", c.ID, c.Pid, c.CgroupPath, c.CgroupID)
}
