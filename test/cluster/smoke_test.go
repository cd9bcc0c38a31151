package cluster

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSmoke(t *testing.T) {
	images := BuildImages(t, filepath.Join(t.TempDir(), "images"))
	c := Start(t, images...)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "w", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "w", Image: WorkloadImage, ImagePullPolicy: corev1.PullNever}}},
	}
	if _, err := c.Client.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitFor("pod running", 90*time.Second, func() error {
		p, err := c.Client.CoreV1().Pods("default").Get(context.Background(), "w", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
			return &waitErr{p.Status.Phase}
		}
		if err := httpOK("http://" + p.Status.PodIP + ":8080/healthz"); err != nil {
			return err
		}
		return nil
	})
	t.Log(c.Kubectl("", "get", "pods", "-A", "-o", "wide"))
}

type waitErr struct{ phase corev1.PodPhase }

func (e *waitErr) Error() string { return string(e.phase) }
