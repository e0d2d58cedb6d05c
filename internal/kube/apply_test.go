package kube

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sandboxstack/terraform-provider-sandbox/deploy"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/testing/kubeharness"
)

// TestApplierAppliesTakesBackAndDeletes runs the applier against a real API server (with
// kube-controller-manager, which finishes namespace deletions): the CRD is established before the
// SandboxPools of its kind, a field changed by another manager is taken back by the next apply, and
// Delete waits until every object is gone.
func TestApplierAppliesTakesBackAndDeletes(t *testing.T) {
	c := kubeharness.Start(t, kubeharness.Options{NoManifests: true, ControllerManager: true})
	clients, err := NewClients(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	a := &Applier{Clients: clients, FieldManager: deploy.FieldManager,
		Pacing: retry.Pacing{Interval: 50 * time.Millisecond, MaxInterval: 500 * time.Millisecond},
		Log:    func(msg string, kv ...any) { t.Log(append([]any{msg}, kv...)...) }}
	objs, err := deploy.Objects(deploy.Config{Image: "ghcr.io/sandboxstack/sandbox-manager:1.2.3", Domain: "sbx.example.test",
		AdminKey: strings.Repeat("k", 32), Pools: []deploy.Pool{{Template: "base", Size: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := a.Apply(ctx, objs); err != nil {
		t.Fatalf("apply: %v", err)
	}
	for _, ref := range RefsOf(objs) {
		res, err := a.resource(ctx, ref, 0)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		o, err := res.Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if !appliedByUs(o.GetManagedFields()) {
			t.Errorf("%s was not applied by field manager %s: %+v", ref, deploy.FieldManager, o.GetManagedFields())
		}
	}

	// Someone scales the Deployment by hand; the next apply takes the field back.
	kube := clients.Kube.AppsV1().Deployments(deploy.DefaultNamespace)
	d, err := kube.Get(ctx, deploy.ManagerName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	five := int32(5)
	d.Spec.Replicas = &five
	if _, err := kube.Update(ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Apply(ctx, objs); err != nil {
		t.Fatalf("apply again: %v", err)
	}
	if d, err = kube.Get(ctx, deploy.ManagerName, metav1.GetOptions{}); err != nil || *d.Spec.Replicas != deploy.DefaultReplicas {
		t.Fatalf("after apply: replicas %v, %v; want %d", d.Spec.Replicas, err, deploy.DefaultReplicas)
	}

	if err := a.Delete(ctx, RefsOf(objs)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	for _, ns := range []string{deploy.DefaultNamespace, deploy.DefaultSandboxNamespace} {
		if _, err := clients.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("namespace %s after delete: %v", ns, err)
		}
	}
	crd, err := a.resource(ctx, Ref{GVK: crdGVK}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crd.Get(ctx, "sandboxpools.sandbox.sandboxstack.io", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("CRD after delete: %v", err)
	}
	// Deleting again finds nothing to do.
	if err := a.Delete(ctx, RefsOf(objs)); err != nil {
		t.Fatalf("delete again: %v", err)
	}
}
