package deploy

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// The static objects, in apply order: the namespaces first, then the CRD, the service account and
// RBAC (rbac/ starts with the ServiceAccount), and the NetworkPolicies.
//
//go:embed namespaces.yaml crds/*.yaml rbac/*.yaml networkpolicies.yaml
var static embed.FS

var staticOrder = []string{"namespaces.yaml", "crds", "rbac", "networkpolicies.yaml"}

// Labels.
const (
	labelName      = "app.kubernetes.io/name"
	labelPartOf    = "app.kubernetes.io/part-of"
	labelManagedBy = "app.kubernetes.io/managed-by"
	partOf         = "sandboxstack"
	managedBy      = "sandboxstack"
)

// Objects returns the deployment's objects in apply order: Namespaces, CRD, ServiceAccount, RBAC,
// NetworkPolicies, Secrets, Deployment, Service, PodDisruptionBudget, SandboxPools. Defaults are
// applied to c first; an invalid Config is an error.
func Objects(c Config) ([]*unstructured.Unstructured, error) {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("deploy: invalid Config: %w", err)
	}
	objs, err := staticObjects(c)
	if err != nil {
		return nil, err
	}
	secrets := secrets(c)
	typed := make([]runtime.Object, 0, len(secrets)+3)
	for _, s := range secrets {
		typed = append(typed, s)
	}
	typed = append(typed, deployment(c, secrets), service(c), podDisruptionBudget(c))
	for _, o := range typed {
		u, err := toUnstructured(o)
		if err != nil {
			return nil, err
		}
		objs = append(objs, u)
	}
	for _, p := range c.Pools {
		objs = append(objs, sandboxPool(c, p))
	}
	return objs, nil
}

// Manifest is Objects as multi-document YAML; without withSecrets the Secrets are left out (the
// manifest then holds no key material).
func Manifest(c Config, withSecrets bool) ([]byte, error) {
	objs, err := Objects(c)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	first := true
	for _, o := range objs {
		if !withSecrets && o.GetAPIVersion() == "v1" && o.GetKind() == "Secret" {
			continue
		}
		doc, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, fmt.Errorf("deploy: %s %s to YAML: %w", o.GetKind(), o.GetName(), err)
		}
		if !first {
			b.WriteString("---\n")
		}
		first = false
		b.Write(doc)
	}
	return b.Bytes(), nil
}

// staticObjects decodes the embedded YAML and moves its objects into c's namespaces.
func staticObjects(c Config) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, entry := range staticOrder {
		files := []string{entry}
		if path.Ext(entry) == "" {
			matches, err := fs.Glob(static, entry+"/*.yaml")
			if err != nil {
				return nil, err
			}
			sort.Strings(matches)
			files = matches
		}
		for _, f := range files {
			decoded, err := decodeYAML(f)
			if err != nil {
				return nil, err
			}
			objs = append(objs, decoded...)
		}
	}
	rename := namespaceRenamer(c)
	for _, o := range objs {
		if err := relocate(o, rename); err != nil {
			return nil, fmt.Errorf("deploy: %s %s: %w", o.GetKind(), o.GetName(), err)
		}
		addLabels(o, map[string]string{labelManagedBy: managedBy})
	}
	return objs, nil
}

func decodeYAML(name string) ([]*unstructured.Unstructured, error) {
	data, err := static.ReadFile(name)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(u); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("deploy: %s: %w", name, err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// namespaceRenamer maps the namespace names the YAML files are written with to c's.
func namespaceRenamer(c Config) func(string) string {
	m := map[string]string{DefaultNamespace: c.Namespace, DefaultSandboxNamespace: c.SandboxNamespace}
	return func(ns string) string {
		if to, ok := m[ns]; ok {
			return to
		}
		return ns
	}
}

// relocate moves a static object into the configured namespaces wherever it names one: its own
// namespace, a Namespace's name, the subjects of a (Cluster)RoleBinding and the namespaceSelectors of
// a NetworkPolicy's peers.
func relocate(o *unstructured.Unstructured, rename func(string) string) error {
	if ns := o.GetNamespace(); ns != "" {
		o.SetNamespace(rename(ns))
	}
	switch o.GroupVersionKind().GroupKind().String() {
	case "Namespace":
		o.SetName(rename(o.GetName()))
	case "RoleBinding.rbac.authorization.k8s.io", "ClusterRoleBinding.rbac.authorization.k8s.io":
		subjects, _, err := unstructured.NestedSlice(o.Object, "subjects")
		if err != nil {
			return err
		}
		for _, s := range subjects {
			if m, ok := s.(map[string]any); ok {
				if ns, ok := m["namespace"].(string); ok {
					m["namespace"] = rename(ns)
				}
			}
		}
		return unstructured.SetNestedSlice(o.Object, subjects, "subjects")
	case "NetworkPolicy.networking.k8s.io":
		for _, dir := range [][2]string{{"ingress", "from"}, {"egress", "to"}} {
			rules, found, err := unstructured.NestedSlice(o.Object, "spec", dir[0])
			if err != nil || !found {
				return err
			}
			for _, r := range rules {
				rule, _ := r.(map[string]any)
				peers, _ := rule[dir[1]].([]any)
				for _, p := range peers {
					peer, _ := p.(map[string]any)
					sel, _ := peer["namespaceSelector"].(map[string]any)
					labels, _ := sel["matchLabels"].(map[string]any)
					if ns, ok := labels["kubernetes.io/metadata.name"].(string); ok {
						labels["kubernetes.io/metadata.name"] = rename(ns)
					}
				}
			}
			if err := unstructured.SetNestedSlice(o.Object, rules, "spec", dir[0]); err != nil {
				return err
			}
		}
	}
	return nil
}

func addLabels(o *unstructured.Unstructured, add map[string]string) {
	labels := o.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	for k, v := range add {
		labels[k] = v
	}
	o.SetLabels(labels)
}

// toUnstructured converts a typed object (with its TypeMeta set) and drops what a typed object
// carries but a manifest should not: null fields (creationTimestamp) and an empty status.
func toUnstructured(o runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, fmt.Errorf("deploy: convert %T: %w", o, err)
	}
	dropNulls(m)
	if s, ok := m["status"].(map[string]any); ok && len(s) == 0 {
		delete(m, "status")
	}
	return &unstructured.Unstructured{Object: m}, nil
}

func dropNulls(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
				continue
			}
			dropNulls(e)
		}
	case []any:
		for _, e := range v {
			dropNulls(e)
		}
	}
}
