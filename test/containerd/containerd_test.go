package containerd

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

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

// TestHoldCreates checks the premise of HoldCreates: while held, a sandbox's
// cgroup and process exist and the CRI runtime does not list it.
func TestHoldCreates(t *testing.T) {
	d := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	spec := PodSpec{Name: "held-0", Namespace: "shop", UID: "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d", QOS: "besteffort"}
	release := d.HoldCreates()
	done := make(chan error, 1)
	var pod *Pod
	go func() {
		var err error
		pod, err = d.RunPod(ctx, spec)
		done <- err
	}()
	t.Cleanup(func() { release(); <-done })
	root, err := cgroup.Mount()
	if err != nil {
		t.Fatal(err)
	}
	var procs []byte
	for end := time.Now().Add(30 * time.Second); len(procs) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("no process in a cgroup of the held sandbox")
		}
		ents, _ := os.ReadDir(filepath.Join(root, spec.CgroupParent()))
		for _, de := range ents {
			if de.IsDir() {
				procs, _ = os.ReadFile(filepath.Join(root, spec.CgroupParent(), de.Name(), "cgroup.procs"))
			}
		}
	}
	list := func() int {
		resp, err := d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return len(resp.GetItems())
	}
	if n := list(); n != 0 {
		t.Fatalf("the runtime lists %d sandboxes while the create is held", n)
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("%v\n%s", err, d.Log())
	}
	done <- nil // for the cleanup
	if n := list(); n != 1 || pod.ID == "" {
		t.Fatalf("the runtime lists %d sandboxes after the release", n)
	}
}
