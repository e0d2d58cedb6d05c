package kube

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

const (
	housekeepingInterval = 2 * time.Second
	// claimGrace is how long a pod may stay in phase claiming: a claim takes one envd /init; a pod
	// left claiming longer belongs to a replica that died mid-claim.
	claimGrace = 2 * time.Minute
	// orphanGrace is how long a token Secret may exist without its pod (it is created just before).
	orphanGrace = time.Minute
)

func metaObject(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name}
}

// housekeeping is the leader's clean-up of what dead replicas leave behind, and the pools' status.
func (r *Runtime) housekeeping(ctx context.Context) {
	t := time.NewTicker(housekeepingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !r.IsLeader() {
			continue
		}
		r.removeDebris(ctx, time.Now())
		r.updatePoolStatus(ctx)
	}
}

// removeDebris deletes pods whose start or claim was abandoned by a replica that died, and token
// Secrets whose pod is gone.
func (r *Runtime) removeDebris(ctx context.Context, now time.Time) {
	pods, err := r.pods.Pods(r.ns).List(labels.Everything())
	if err != nil {
		return
	}
	have := map[string]bool{}
	for _, p := range pods {
		have[p.Name] = true
		if p.DeletionTimestamp != nil {
			continue
		}
		since := parseTime(p.Annotations[AnnotationPhaseSince])
		if since.IsZero() {
			since = p.CreationTimestamp.Time
		}
		var grace time.Duration
		switch p.Labels[LabelPhase] {
		case PhaseStarting:
			grace = r.cfg.StartTimeout + time.Minute
		case string(sandbox.PhaseClaiming):
			grace = claimGrace
		default:
			continue
		}
		if now.Sub(since) < grace {
			continue
		}
		r.deleteStale(ctx, p)
	}
	secrets, err := r.secrets.Secrets(r.ns).List(labels.Everything())
	if err != nil {
		return
	}
	for _, s := range secrets {
		if s.Labels[LabelID] == "" || have[s.Name] || now.Sub(s.CreationTimestamp.Time) < orphanGrace {
			continue
		}
		err := r.client.CoreV1().Secrets(r.ns).Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &s.UID}})
		if err == nil {
			r.log.Info("token secret without a pod deleted", "secret", s.Name)
		}
	}
}

// deleteStale deletes an abandoned pod if it has not changed since it was looked at.
func (r *Runtime) deleteStale(ctx context.Context, p *corev1.Pod) {
	err := r.client.CoreV1().Pods(r.ns).Delete(ctx, p.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &p.UID, ResourceVersion: &p.ResourceVersion},
	})
	switch {
	case err == nil:
		r.log.Warn("abandoned sandbox pod deleted", "pod", p.Name, "phase", p.Labels[LabelPhase])
		r.deleteSecret(p.Labels[LabelID])
	case apierrors.IsConflict(err), apierrors.IsNotFound(err):
	default:
		r.log.Error("delete abandoned sandbox pod", "pod", p.Name, "err", err)
	}
}

// updatePoolStatus writes each SandboxPool's status (warm pods, ready ones, their selector) where
// it changed: what kubectl's printer columns and the scale subresource show.
func (r *Runtime) updatePoolStatus(ctx context.Context) {
	pods, err := r.pods.Pods(r.ns).List(labels.Everything())
	if err != nil {
		return
	}
	replicas, ready := map[string]int64{}, map[string]int64{}
	for _, p := range pods {
		pool := p.Labels[LabelPool]
		if pool == "" || p.DeletionTimestamp != nil || p.Labels[LabelPhase] != string(sandbox.PhaseWarm) && p.Labels[LabelPhase] != PhaseStarting {
			continue
		}
		replicas[pool]++
		if ok, _ := podReady(p); ok && p.Labels[LabelPhase] == string(sandbox.PhaseWarm) {
			ready[pool]++
		}
	}
	for _, o := range r.poolInformer.GetStore().List() {
		u, ok := o.(*unstructured.Unstructured)
		if !ok || u.GetDeletionTimestamp() != nil {
			continue
		}
		name := u.GetName()
		want := map[string]any{
			"replicas":           replicas[name],
			"ready":              ready[name],
			"selector":           poolSelector(name),
			"observedGeneration": u.GetGeneration(),
		}
		have, _, _ := unstructured.NestedMap(u.Object, "status")
		if sameStatus(have, want) {
			continue
		}
		obj := u.DeepCopy()
		if err := unstructured.SetNestedMap(obj.Object, want, "status"); err != nil {
			continue
		}
		_, err := r.dyn.Resource(poolGVR).Namespace(r.ns).UpdateStatus(ctx, obj, metav1.UpdateOptions{})
		if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			r.log.Warn("update pool status", "pool", name, "err", err)
		}
	}
}

func sameStatus(have, want map[string]any) bool {
	for k, v := range want {
		hv, ok := have[k]
		if !ok {
			return false
		}
		switch x := hv.(type) {
		case int64:
			if w, ok := v.(int64); !ok || w != x {
				return false
			}
		case float64:
			if w, ok := v.(int64); !ok || float64(w) != x {
				return false
			}
		case string:
			if w, ok := v.(string); !ok || w != x {
				return false
			}
		default:
			return false
		}
	}
	return true
}
