package kube

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilsec/vigil/pkg/enrich/tenant"
	"github.com/vigilsec/vigil/pkg/event"
)

// ErrNotConfigured is returned by RESTConfig when there is neither a
// kubeconfig nor an in-cluster service account.
var ErrNotConfigured = errors.New("kube: no kubeconfig and not running in a cluster")

// RESTConfig returns the client configuration from the kubeconfig file at
// path, or the in-cluster configuration when path is empty.
func RESTConfig(path string) (*rest.Config, error) {
	if path != "" {
		return clientcmd.BuildConfigFromFlags("", path)
	}
	if os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		return nil, ErrNotConfigured
	}
	return rest.InClusterConfig()
}

// Watcher keeps a Snapshot of namespaces and this node's pods up to date.
type Watcher struct {
	client  kubernetes.Interface
	node    string
	tenants *tenant.Resolver
	log     *zap.Logger
	resync  time.Duration

	nsInf, podInf cache.SharedIndexInformer
	dirty         chan struct{}
	snap          atomic.Pointer[Snapshot]
	gen           uint64
}

// NewWatcher returns a Watcher for the API server of cfg. Only pods with
// spec.nodeName == node are watched (all pods when node is empty, for tests
// and single-node tools). tenants decides the tenant of each namespace.
func NewWatcher(cfg *rest.Config, node string, tenants *tenant.Resolver, log *zap.Logger) (*Watcher, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.UserAgent == "" {
		cfg.UserAgent = "vigil"
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: client: %w", err)
	}
	w := &Watcher{client: client, node: node, tenants: tenants, log: log, resync: 10 * time.Minute, dirty: make(chan struct{}, 1)}
	w.snap.Store(&Snapshot{})
	w.nsInf = coreinformers.NewNamespaceInformer(client, w.resync, cache.Indexers{})
	w.podInf = coreinformers.NewFilteredPodInformer(client, metav1.NamespaceAll, w.resync, cache.Indexers{}, func(o *metav1.ListOptions) {
		if node != "" {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", node).String()
		}
	})
	for _, inf := range []cache.SharedIndexInformer{w.nsInf, w.podInf} {
		if err := inf.SetTransform(trim); err != nil {
			return nil, fmt.Errorf("kube: transform: %w", err)
		}
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { w.markDirty() },
			UpdateFunc: func(any, any) { w.markDirty() },
			DeleteFunc: func(any) { w.markDirty() },
		}); err != nil {
			return nil, fmt.Errorf("kube: handler: %w", err)
		}
	}
	return w, nil
}

// trim drops what enrichment never reads, to keep the informer caches small.
func trim(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, UID: o.UID, Labels: o.Labels, ResourceVersion: o.ResourceVersion},
			Spec:       corev1.PodSpec{NodeName: o.Spec.NodeName, HostNetwork: o.Spec.HostNetwork},
			Status:     corev1.PodStatus{PodIP: o.Status.PodIP, PodIPs: o.Status.PodIPs},
		}, nil
	case *corev1.Namespace:
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.Name, UID: o.UID, Labels: o.Labels, ResourceVersion: o.ResourceVersion}}, nil
	}
	return obj, nil
}

func (w *Watcher) markDirty() {
	select {
	case w.dirty <- struct{}{}:
	default:
	}
}

// NewStaticWatcher returns a Watcher that serves s and never changes: for
// replaying captures with recorded metadata, and for benchmarks.
func NewStaticWatcher(s *Snapshot) *Watcher {
	w := &Watcher{log: zap.NewNop(), dirty: make(chan struct{}, 1)}
	w.snap.Store(s)
	return w
}

// Snapshot returns the latest snapshot (never nil; empty before the first
// list).
func (w *Watcher) Snapshot() *Snapshot { return w.snap.Load() }

// Run watches until ctx ends, publishing a new snapshot after each batch of
// changes.
func (w *Watcher) Run(ctx context.Context) {
	if w.nsInf == nil {
		<-ctx.Done()
		return
	}
	go w.nsInf.Run(ctx.Done())
	go w.podInf.Run(ctx.Done())
	synced := false
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.dirty:
		case <-tick.C:
			if synced {
				continue
			}
		}
		if !synced && w.nsInf.HasSynced() && w.podInf.HasSynced() {
			synced = true
			w.log.Info("kubernetes caches synced", zap.String("node", w.node),
				zap.Int("namespaces", len(w.nsInf.GetStore().ListKeys())), zap.Int("pods", len(w.podInf.GetStore().ListKeys())))
		}
		w.publish(synced)
	}
}

// WaitSynced blocks until both informers have listed once or ctx ends.
func (w *Watcher) WaitSynced(ctx context.Context) bool {
	if w.nsInf == nil {
		return true
	}
	return cache.WaitForCacheSync(ctx.Done(), w.nsInf.HasSynced, w.podInf.HasSynced)
}

func (w *Watcher) publish(synced bool) {
	w.gen++
	s := &Snapshot{Gen: w.gen, Synced: synced, Namespaces: map[string]*Namespace{}, Pods: map[string]*Pod{}, Peers: map[netip.Addr]*event.Peer{}}
	for _, o := range w.nsInf.GetStore().List() {
		ns, ok := o.(*corev1.Namespace)
		if !ok {
			continue
		}
		s.Namespaces[ns.Name] = &Namespace{Labels: ns.Labels, Tenant: w.tenants.Tenant(ns.Name, ns.Labels)}
	}
	for _, o := range w.podInf.GetStore().List() {
		pod, ok := o.(*corev1.Pod)
		if !ok {
			continue
		}
		s.Pods[string(pod.UID)] = &Pod{Name: pod.Name, Namespace: pod.Namespace, Labels: pod.Labels}
		if pod.Spec.HostNetwork {
			continue
		}
		peer := &event.Peer{PodName: pod.Name, Namespace: pod.Namespace}
		if ns := s.Namespaces[pod.Namespace]; ns != nil {
			peer.Tenant = ns.Tenant
		} else {
			peer.Tenant = w.tenants.Tenant(pod.Namespace, nil)
		}
		ips := pod.Status.PodIPs
		if len(ips) == 0 && pod.Status.PodIP != "" {
			ips = []corev1.PodIP{{IP: pod.Status.PodIP}}
		}
		for _, ip := range ips {
			if a, err := netip.ParseAddr(ip.IP); err == nil {
				s.Peers[a.Unmap()] = peer
			}
		}
	}
	w.snap.Store(s)
}
