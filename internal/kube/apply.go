package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework/retry"
)

// Applier applies objects with server-side apply as one field manager, and deletes them.
type Applier struct {
	Clients      *Clients
	FieldManager string
	// Pacing paces the waits: a CRD until Established, deleted objects until gone.
	Pacing retry.Pacing
	// Log reports progress (the resource sends it to Terraform's log).
	Log func(msg string, keysAndValues ...any)
}

// Ref names one object.
type Ref struct {
	GVK       schema.GroupVersionKind
	Namespace string
	Name      string
}

func (r Ref) String() string {
	s := r.GVK.Kind + " " + r.Name
	if r.Namespace != "" {
		s = r.GVK.Kind + " " + r.Namespace + "/" + r.Name
	}
	return s
}

// RefOf is the reference of an object.
func RefOf(o *unstructured.Unstructured) Ref {
	return Ref{GVK: o.GroupVersionKind(), Namespace: o.GetNamespace(), Name: o.GetName()}
}

// RefsOf are the references of objs, in their order.
func RefsOf(objs []*unstructured.Unstructured) []Ref {
	refs := make([]Ref, len(objs))
	for i, o := range objs {
		refs[i] = RefOf(o)
	}
	return refs
}

var crdGVK = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}

// Apply applies objs in order (force: this field manager takes over fields another manager set).
// After a CustomResourceDefinition it waits until the CRD is Established, so that the objects of
// its kind that follow can be applied.
func (a *Applier) Apply(ctx context.Context, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		ref := RefOf(o)
		res, err := a.resource(ctx, ref, 30*time.Second)
		if err != nil {
			return fmt.Errorf("applying %s: %w", ref, err)
		}
		if _, err := res.Apply(ctx, ref.Name, o, metav1.ApplyOptions{FieldManager: a.FieldManager, Force: true}); err != nil {
			return fmt.Errorf("applying %s: %w", ref, err)
		}
		a.log("applied", "object", ref.String())
		if ref.GVK == crdGVK {
			if err := a.waitEstablished(ctx, res, ref.Name); err != nil {
				return fmt.Errorf("waiting for %s to be established: %w", ref, err)
			}
			// The new kind is in discovery now; the cached mapping does not know it yet.
			a.Clients.Mapper.Reset()
		}
	}
	return nil
}

// resource is the dynamic client of ref's kind, in its namespace when it is namespaced. A kind the
// API server does not know (a CRD applied a moment ago, discovery not caught up) is looked up again
// for up to waitKnown; after that the error is a NoMatch error.
func (a *Applier) resource(ctx context.Context, ref Ref, waitKnown time.Duration) (dynamic.ResourceInterface, error) {
	lookup := func(context.Context) (*meta.RESTMapping, error) {
		m, err := a.Clients.Mapper.RESTMapping(ref.GVK.GroupKind(), ref.GVK.Version)
		if meta.IsNoMatchError(err) {
			// The cache may predate the kind: ask the API server again.
			a.Clients.Mapper.Reset()
			m, err = a.Clients.Mapper.RESTMapping(ref.GVK.GroupKind(), ref.GVK.Version)
		}
		return m, err
	}
	mapping, err := retry.Do(ctx, waitKnown, a.Pacing, meta.IsNoMatchError, lookup)
	if te := (*retry.TimeoutError)(nil); errors.As(err, &te) && meta.IsNoMatchError(te.LastError) {
		err = te.LastError
	}
	if err != nil {
		return nil, err
	}
	nri := a.Clients.Dynamic.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return nri.Namespace(ref.Namespace), nil
	}
	return nri, nil
}

func (a *Applier) waitEstablished(ctx context.Context, res dynamic.ResourceInterface, name string) error {
	return retry.Retry(ctx, 2*time.Minute, a.Pacing, isPending, func(ctx context.Context) error {
		crd, err := res.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if condition(crd, "Established") != "True" {
			return pending("not established yet")
		}
		return nil
	})
}

// condition is the status of the condition of type typ in obj's status.conditions ("" if absent).
func condition(obj *unstructured.Unstructured, typ string) string {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == typ {
			s, _ := m["status"].(string)
			return s
		}
	}
	return ""
}

// Missing are the refs the cluster does not have: never created, deleted, being deleted, or of a kind
// the API server does not serve (its CRD is gone).
func (a *Applier) Missing(ctx context.Context, refs []Ref) ([]Ref, error) {
	var missing []Ref
	for _, ref := range refs {
		obj, err := a.get(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", ref, err)
		}
		if obj == nil || obj.GetDeletionTimestamp() != nil {
			missing = append(missing, ref)
		}
	}
	return missing, nil
}

// get reads ref's object: nil when it does not exist, or when the API server does not serve its kind
// (its CRD is gone, and with it every object of its kind).
func (a *Applier) get(ctx context.Context, ref Ref) (*unstructured.Unstructured, error) {
	res, err := a.resource(ctx, ref, 0)
	if meta.IsNoMatchError(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	obj, err := res.Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return obj, err
}

// Delete deletes refs in reverse order (the reverse of the apply order: what depends on an object
// goes before it, namespaces and CRDs last) and waits until every one of them is gone: a namespace
// is gone once everything in it is, the pods the manager ran included. Objects already gone, and
// kinds the API server no longer serves, are skipped.
func (a *Applier) Delete(ctx context.Context, refs []Ref) error {
	var pending []Ref
	for _, ref := range slices.Backward(refs) {
		res, err := a.resource(ctx, ref, 0)
		if meta.IsNoMatchError(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("deleting %s: %w", ref, err)
		}
		// Background: the garbage collector removes what the object owns (a Deployment's ReplicaSets
		// and pods, a SandboxPool's warm sandboxes); the wait below sees the object itself go.
		policy := metav1.DeletePropagationBackground
		err = res.Delete(ctx, ref.Name, metav1.DeleteOptions{PropagationPolicy: &policy})
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return fmt.Errorf("deleting %s: %w", ref, err)
		}
		a.log("deleting", "object", ref.String())
		pending = append(pending, ref)
	}
	return a.waitGone(ctx, pending)
}

func (a *Applier) waitGone(ctx context.Context, refs []Ref) error {
	deadline, ok := ctx.Deadline()
	timeout := time.Until(deadline)
	if !ok {
		timeout = 10 * time.Minute
	}
	return retry.Retry(ctx, timeout, a.Pacing, isPending, func(ctx context.Context) error {
		var left []string
		for _, ref := range refs {
			obj, err := a.get(ctx, ref)
			if err != nil {
				return err
			}
			if obj != nil {
				left = append(left, ref.String())
			}
		}
		if len(left) > 0 {
			a.log("waiting for deletion", "remaining", strings.Join(left, ", "))
			return pending("still there: " + strings.Join(left, ", "))
		}
		return nil
	})
}

func (a *Applier) log(msg string, kv ...any) {
	if a.Log != nil {
		a.Log(msg, kv...)
	}
}

// pendingError is a wait's "not yet": retried until the wait's timeout.
type pendingError struct{ msg string }

func (e *pendingError) Error() string { return e.msg }

func pending(msg string) error { return &pendingError{msg: msg} }

func isPending(err error) bool {
	var p *pendingError
	return errors.As(err, &p)
}
