package kubeharness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// fieldManager owns the fields the harness applies (server-side apply).
const fieldManager = "kubeharness"

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// applier applies manifests with server-side apply, CustomResourceDefinitions first (waiting until
// they are Established and served), then everything else.
type applier struct {
	dynamic   dynamic.Interface
	discovery discovery.DiscoveryInterface
	mapper    *restmapper.DeferredDiscoveryRESTMapper
}

func newApplier(cfg *rest.Config) (*applier, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	return &applier{dynamic: dyn, discovery: disc,
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}, nil
}

// manifestFiles expands paths (files, or directories whose *.yaml, *.yml and *.json files are taken in
// name order) into the files to apply.
func manifestFiles(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("manifests: %w", err)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("manifests: %w", err)
		}
		for _, e := range entries {
			switch filepath.Ext(e.Name()) {
			case ".yaml", ".yml", ".json":
				if !e.IsDir() {
					files = append(files, filepath.Join(p, e.Name()))
				}
			}
		}
	}
	return files, nil
}

// decodeManifests reads every object of every (multi-document) file.
func decodeManifests(files []string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("manifests: %w", err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
		for {
			var obj map[string]any
			if err := dec.Decode(&obj); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, fmt.Errorf("manifest %s: %w", f, err)
			}
			if len(obj) == 0 { // an empty document between ---
				continue
			}
			u := &unstructured.Unstructured{Object: obj}
			if u.GetKind() == "" || u.GetAPIVersion() == "" || u.GetName() == "" {
				return nil, fmt.Errorf("manifest %s: an object without apiVersion, kind or metadata.name", f)
			}
			if u.GetKind() == "List" {
				return nil, fmt.Errorf("manifest %s: kind List is not supported; use --- between objects", f)
			}
			objs = append(objs, u)
		}
	}
	return objs, nil
}

// apply applies the manifests at paths.
func (a *applier) apply(ctx context.Context, paths ...string) error {
	files, err := manifestFiles(paths)
	if err != nil {
		return err
	}
	objs, err := decodeManifests(files)
	if err != nil {
		return err
	}
	isCRD := func(u *unstructured.Unstructured) bool {
		return u.GroupVersionKind().GroupKind() == schema.GroupKind{Group: crdResource.Group, Kind: "CustomResourceDefinition"}
	}
	crds := slices.DeleteFunc(slices.Clone(objs), func(u *unstructured.Unstructured) bool { return !isCRD(u) })
	others := slices.DeleteFunc(slices.Clone(objs), isCRD)
	for _, u := range crds {
		if _, err := a.dynamic.Resource(crdResource).Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: fieldManager, Force: true}); err != nil {
			return fmt.Errorf("apply CustomResourceDefinition %s: %w", u.GetName(), err)
		}
	}
	for _, u := range crds {
		if err := a.waitCRDServed(ctx, u.GetName()); err != nil {
			return err
		}
	}
	if len(crds) > 0 {
		a.mapper.Reset() // the new kinds are in discovery now
	}
	for _, u := range others {
		if err := a.applyObject(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) applyObject(ctx context.Context, u *unstructured.Unstructured) error {
	gvk := u.GroupVersionKind()
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("apply %s %s: %w", gvk.Kind, u.GetName(), err)
	}
	var res dynamic.ResourceInterface = a.dynamic.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if u.GetNamespace() == "" {
			u.SetNamespace(metav1.NamespaceDefault)
		}
		res = a.dynamic.Resource(mapping.Resource).Namespace(u.GetNamespace())
	}
	if _, err := res.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: fieldManager, Force: true}); err != nil {
		return fmt.Errorf("apply %s %s/%s: %w", gvk.Kind, u.GetNamespace(), u.GetName(), err)
	}
	return nil
}

// waitCRDServed waits until the CustomResourceDefinition is Established and its resource appears in
// discovery for every served version (Established alone can precede the first successful request by a
// moment).
func (a *applier) waitCRDServed(ctx context.Context, name string) error {
	var last string
	for delay := 10 * time.Millisecond; ; delay = min(delay*3/2, 200*time.Millisecond) {
		ok, why, err := a.crdServed(ctx, name)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		last = why
		select {
		case <-ctx.Done():
			return fmt.Errorf("CustomResourceDefinition %s not served: %w (%s)", name, ctx.Err(), last)
		case <-time.After(delay):
		}
	}
}

func (a *applier) crdServed(ctx context.Context, name string) (bool, string, error) {
	crd, err := a.dynamic.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, "", fmt.Errorf("get CustomResourceDefinition %s: %w", name, err)
	}
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	established := false
	var why []string
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			established = true
		}
		if m["status"] != "True" {
			why = append(why, fmt.Sprintf("%v=%v: %v", m["type"], m["status"], m["message"]))
		}
	}
	if !established {
		return false, "not Established: " + strings.Join(why, "; "), nil
	}
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		m, _ := v.(map[string]any)
		if served, _ := m["served"].(bool); !served {
			continue
		}
		gv := group + "/" + fmt.Sprint(m["name"])
		list, err := a.discovery.ServerResourcesForGroupVersion(gv)
		if apierrors.IsNotFound(err) {
			return false, gv + " not in discovery yet", nil
		}
		if err != nil {
			return false, "", fmt.Errorf("discovery of %s: %w", gv, err)
		}
		if !slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == plural }) {
			return false, fmt.Sprintf("%s/%s not in discovery yet", gv, plural), nil
		}
	}
	return true, "", nil
}
