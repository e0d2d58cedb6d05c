package kubenode

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// Node heartbeat settings, the kubelet's defaults.
const (
	leaseDuration  = 40 * time.Second
	leaseRenewal   = 10 * time.Second
	nodeLeaseSpace = corev1.NamespaceNodeLease
)

// nodeLabels are the well-known labels a kubelet puts on its node; pods may select on them.
func (a *Agent) nodeLabels() map[string]string {
	return map[string]string{
		corev1.LabelHostname:             a.cfg.NodeName,
		corev1.LabelOSStable:             runtime.GOOS,
		corev1.LabelArchStable:           runtime.GOARCH,
		"node.sandboxstack.io/test-node": "true",
	}
}

// nodeStatus is what the agent reports about its node: Ready, and room for far more sandboxes than a
// test starts.
func (a *Agent) nodeStatus(now metav1.Time) corev1.NodeStatus {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("1000"),
	}
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity,
		Phase:       corev1.NodeRunning,
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "sandbox test node is posting ready status"),
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "no memory pressure"),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "no disk pressure"),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "no PID pressure"),
		},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: HostIP},
			{Type: corev1.NodeHostName, Address: a.cfg.NodeName},
		},
		NodeInfo: corev1.NodeSystemInfo{
			OperatingSystem:         runtime.GOOS,
			Architecture:            runtime.GOARCH,
			KubeletVersion:          "v0.0.0-sandbox-testnode",
			ContainerRuntimeVersion: "sandboxstack-local://0",
		},
	}
}

// register creates the Node (or takes over an existing one of that name), marks it Ready and removes
// the not-ready taint that the API server's TaintNodesByCondition admission puts on new nodes (the node
// lifecycle controller of kube-controller-manager would, which is not running).
func (a *Agent) register(ctx context.Context) error {
	nodes := a.client.CoreV1().Nodes()
	now := metav1.Now()
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: a.cfg.NodeName, Labels: a.nodeLabels()},
		Status:     a.nodeStatus(now),
	}
	if _, err := nodes.Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create Node %s: %w", a.cfg.NodeName, err)
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := nodes.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Status = a.nodeStatus(now)
		cur, err = nodes.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		taints := slices.DeleteFunc(slices.Clone(cur.Spec.Taints), func(t corev1.Taint) bool {
			return t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable
		})
		for k, v := range a.nodeLabels() {
			if cur.Labels == nil {
				cur.Labels = map[string]string{}
			}
			cur.Labels[k] = v
		}
		cur.Spec.Taints = taints
		cur.Spec.Unschedulable = false
		_, err = nodes.Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("mark Node %s ready: %w", a.cfg.NodeName, err)
	}
	// kube-node-lease is made by a post-start hook of the API server that /readyz does not wait for.
	for {
		err := a.renewLease(ctx)
		if err == nil || !apierrors.IsNotFound(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%w)", err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// renewLease creates or renews the node's Lease in kube-node-lease, the kubelet's heartbeat.
func (a *Agent) renewLease(ctx context.Context) error {
	leases := a.client.CoordinationV1().Leases(nodeLeaseSpace)
	now := metav1.NewMicroTime(time.Now())
	holder := a.cfg.NodeName
	seconds := int32(leaseDuration.Seconds())
	cur, err := leases.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: a.cfg.NodeName, Namespace: nodeLeaseSpace},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &seconds,
				AcquireTime: &now, RenewTime: &now},
		}
		if _, err := leases.Create(ctx, lease, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create node Lease: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get node Lease: %w", err)
	}
	cur.Spec.HolderIdentity, cur.Spec.LeaseDurationSeconds, cur.Spec.RenewTime = &holder, &seconds, &now
	if _, err := leases.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("renew node Lease: %w", err)
	}
	return nil
}

// heartbeat renews the Lease until ctx ends.
func (a *Agent) heartbeat(ctx context.Context) {
	t := time.NewTicker(leaseRenewal)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.renewLease(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("kubenode: heartbeat", "err", err)
			}
		}
	}
}
