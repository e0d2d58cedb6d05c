package kube

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// The SandboxPool custom resource (deploy/crds/sandbox.sandboxstack.io_sandboxpools.yaml).
var (
	poolGVR = schema.GroupVersionResource{Group: group, Version: "v1alpha1", Resource: "sandboxpools"}
	crdGVR  = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

const (
	poolKind = "SandboxPool"
	poolCRD  = "sandboxpools." + group
)

func typesUID(s string) types.UID { return types.UID(s) }

// checkCRD fails early, with the fix, when the SandboxPool CRD is not installed.
func (r *Runtime) checkCRD(ctx context.Context) error {
	_, err := r.dyn.Resource(crdGVR).Get(ctx, poolCRD, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("kube runtime: the CustomResourceDefinition %s is not installed: kubectl apply -f deploy/crds/", poolCRD)
	}
	if err != nil {
		return fmt.Errorf("kube runtime: read CustomResourceDefinition %s: %w", poolCRD, err)
	}
	return nil
}

// poolFromObject reads a SandboxPool.
func poolFromObject(u *unstructured.Unstructured) sandbox.Pool {
	p := sandbox.Pool{Name: u.GetName()}
	p.Template, _, _ = unstructured.NestedString(u.Object, "spec", "template")
	size, _, _ := unstructured.NestedInt64(u.Object, "spec", "size")
	p.Size = int(size)
	timeout, _, _ := unstructured.NestedInt64(u.Object, "spec", "timeoutSeconds")
	p.Timeout = time.Duration(timeout) * time.Second
	setPoolResources(&p, u)
	return p
}

// setPoolSpec writes p into a SandboxPool's spec.
func setPoolSpec(u *unstructured.Unstructured, p sandbox.Pool) error {
	spec := map[string]any{
		"template":       p.Template,
		"size":           int64(p.Size),
		"timeoutSeconds": int64(p.Timeout / time.Second),
	}
	putPoolResources(spec, p)
	return unstructured.SetNestedMap(u.Object, spec, "spec")
}

func newPoolObject(namespace string, p sandbox.Pool) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion(poolGVR.GroupVersion().String())
	u.SetKind(poolKind)
	u.SetName(p.Name)
	u.SetNamespace(namespace)
	u.SetLabels(map[string]string{LabelManagedBy: ManagedBy})
	if err := setPoolSpec(u, p); err != nil {
		return nil, err
	}
	return u, nil
}

// poolSelector selects a pool's warm pods (the scale subresource's status.selector).
func poolSelector(name string) string {
	return LabelPool + "=" + name + "," + LabelPhase + "=" + string(sandbox.PhaseWarm)
}
