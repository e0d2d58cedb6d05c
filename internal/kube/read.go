package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/sandboxstack/terraform-provider-sandbox/deploy"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
)

var (
	getOptions      = metav1.GetOptions{}
	objectAsOptions = basetypes.ObjectAsOptions{}
	sandboxPoolGVK  = schema.GroupVersionKind{Group: "sandbox.sandboxstack.io", Version: "v1alpha1", Kind: "SandboxPool"}
)

// Read refreshes the state from the cluster. A deployment whose namespace is gone is removed from the
// state. A deleted Deployment reads as 0 replicas, and a changed replica count, image or Service as
// what the cluster has: the next plan shows the difference and the apply restores the configuration.
// After an import (only the namespace known) it reads every setting back.
func (r *deploymentResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state deploymentModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	s := r.session(ctx, &state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ns := state.Namespace.ValueString()
	op := framework.Op{Verb: "reading", Kind: kind, ID: ns}
	kube := s.clients.Kube
	if _, err := kube.CoreV1().Namespaces().Get(ctx, ns, getOptions); apierrors.IsNotFound(err) {
		resp.Diagnostics.Append(framework.NotFoundWarning(kind, ns))
		resp.State.RemoveResource(ctx)
		return
	} else if err != nil {
		framework.AddError(&resp.Diagnostics, op, err)
		return
	}
	importing := state.Domain.IsNull()

	d, err := kube.AppsV1().Deployments(ns).Get(ctx, deploy.ManagerName, getOptions)
	switch {
	case apierrors.IsNotFound(err):
		if importing {
			resp.Diagnostics.AddError("Cannot Import Sandbox Manager Deployment",
				fmt.Sprintf("Namespace %s has no Deployment %s: there is no sandbox manager to import.", ns, deploy.ManagerName))
			return
		}
		resp.Diagnostics.AddWarning("Sandbox Manager Deployment Missing",
			fmt.Sprintf("The Deployment %s/%s was deleted outside Terraform; it reads as 0 replicas and the next apply creates it again.",
				ns, deploy.ManagerName))
		state.Replicas = types.Int64Value(0)
	case err != nil:
		framework.AddError(&resp.Diagnostics, op, err)
		return
	default:
		readDeployment(ctx, d, &state, &resp.Diagnostics)
	}

	svc, err := kube.CoreV1().Services(ns).Get(ctx, deploy.ManagerName, getOptions)
	switch {
	case apierrors.IsNotFound(err):
		svc = nil
	case err != nil:
		framework.AddError(&resp.Diagnostics, op, err)
		return
	default:
		readService(ctx, svc, &state, &resp.Diagnostics)
	}

	secrets := kube.CoreV1().Secrets(ns)
	if sec, err := secrets.Get(ctx, deploy.AdminKeySecret, getOptions); err == nil {
		state.AdminKey = types.StringValue(string(sec.Data[deploy.AdminKeySecretKey]))
	} else if !apierrors.IsNotFound(err) {
		framework.AddError(&resp.Diagnostics, op, err)
		return
	}
	switch sec, err := secrets.Get(ctx, deploy.TLSSecret, getOptions); {
	case apierrors.IsNotFound(err):
		state.TLSCertificate = types.StringNull()
	case err != nil:
		framework.AddError(&resp.Diagnostics, op, err)
		return
	default:
		state.TLSCertificate = types.StringValue(string(sec.Data[corev1.TLSCertKey]))
	}
	state.setAddress(addressOf(svc))

	r.readPools(ctx, s, &state, importing, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	r.readObjects(ctx, s, &state, importing, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func addressOf(svc *corev1.Service) Address {
	if svc == nil || len(svc.Status.LoadBalancer.Ingress) == 0 {
		return Address{}
	}
	in := svc.Status.LoadBalancer.Ingress[0]
	return Address{IP: in.IP, Hostname: in.Hostname}
}

// readDeployment takes the replicas, the image and the manager's flags from the Deployment.
func readDeployment(ctx context.Context, d *appsv1.Deployment, m *deploymentModel, diags *diag.Diagnostics) {
	if d.Spec.Replicas != nil {
		m.Replicas = types.Int64Value(int64(*d.Spec.Replicas))
	}
	if len(d.Spec.Template.Spec.Containers) == 0 {
		return
	}
	c := d.Spec.Template.Spec.Containers[0]
	repo, tag := splitImage(c.Image)
	m.Image, m.ImageTag = types.StringValue(repo), types.StringValue(tag)
	flags := map[string]string{}
	for _, a := range c.Args {
		if k, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "="); ok {
			flags[k] = v
		}
	}
	m.Domain = types.StringValue(flags["domain"])
	m.SandboxNamespace = types.StringValue(flags["kube-namespace"])
	envd := types.StringNull()
	if v := flags["envd-image"]; v != "" {
		envd = types.StringValue(v)
	}
	m.TemplateImages = objectValue(templateImagesAttrTypes, map[string]attr.Value{
		"registry": types.StringValue(flags["image-registry"]), "tag": types.StringValue(flags["image-tag"]), "envd_image": envd,
	})

	var prior resourcesModel
	if !m.Resources.IsNull() && !m.Resources.IsUnknown() {
		diags.Append(m.Resources.As(ctx, &prior, objectAsOptions)...)
	}
	// The configuration's spelling stays when the cluster means the same ("0.5" is "500m").
	quantity := func(prior types.String, list corev1.ResourceList, name corev1.ResourceName) types.String {
		q, ok := list[name]
		if !ok {
			return types.StringNull()
		}
		if p, err := k8sresource.ParseQuantity(prior.ValueString()); err == nil && p.Cmp(q) == 0 {
			return prior
		}
		return types.StringValue(q.String())
	}
	res := c.Resources
	m.Resources = objectValue(resourcesAttrTypes, map[string]attr.Value{
		"cpu_request":    quantity(prior.CPURequest, res.Requests, corev1.ResourceCPU),
		"memory_request": quantity(prior.MemoryRequest, res.Requests, corev1.ResourceMemory),
		"cpu_limit":      quantity(prior.CPULimit, res.Limits, corev1.ResourceCPU),
		"memory_limit":   quantity(prior.MemoryLimit, res.Limits, corev1.ResourceMemory),
	})
}

// splitImage splits "registry:5000/a/b:tag" into "registry:5000/a/b" and "tag" (a digest stays with
// the repository: it is not a tag).
func splitImage(ref string) (string, string) {
	if strings.Contains(ref, "@") {
		return ref, ""
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}

// readService takes the Service's type, source ranges and the annotations this provider set (others
// belong to the cloud's controllers).
func readService(ctx context.Context, svc *corev1.Service, m *deploymentModel, diags *diag.Diagnostics) {
	owned := ownedAnnotations(svc.ManagedFields)
	annotations := map[string]attr.Value{}
	for k, v := range svc.Annotations {
		if owned[k] {
			annotations[k] = types.StringValue(v)
		}
	}
	prior := m.service(ctx, diags)
	annotationsValue := types.MapNull(types.StringType)
	if len(annotations) > 0 || !prior.Annotations.IsNull() {
		annotationsValue = types.MapValueMust(types.StringType, annotations)
	}
	ranges := types.ListNull(types.StringType)
	if len(svc.Spec.LoadBalancerSourceRanges) > 0 || !prior.LoadBalancerSourceRanges.IsNull() {
		var d diag.Diagnostics
		ranges, d = types.ListValueFrom(ctx, types.StringType, svc.Spec.LoadBalancerSourceRanges)
		diags.Append(d...)
	}
	m.Service = objectValue(serviceAttrTypes, map[string]attr.Value{
		"type": types.StringValue(string(svc.Spec.Type)), "annotations": annotationsValue, "load_balancer_source_ranges": ranges,
	})
}

// ownedAnnotations are the annotation keys the field manager deploy.FieldManager applied, from the
// object's managed fields ({"f:metadata":{"f:annotations":{"f:<key>":{}}}}).
func ownedAnnotations(fields []metav1.ManagedFieldsEntry) map[string]bool {
	owned := map[string]bool{}
	for _, f := range fields {
		if f.Manager != deploy.FieldManager || f.Operation != metav1.ManagedFieldsOperationApply || f.FieldsV1 == nil {
			continue
		}
		var tree struct {
			Metadata struct {
				Annotations map[string]json.RawMessage `json:"f:annotations"`
			} `json:"f:metadata"`
		}
		if json.Unmarshal(f.FieldsV1.GetRawBytes(), &tree) != nil {
			continue
		}
		for k := range tree.Metadata.Annotations {
			if name, ok := strings.CutPrefix(k, "f:"); ok {
				owned[name] = true
			}
		}
	}
	return owned
}

// appliedByUs reports whether deploy.FieldManager applied the object.
func appliedByUs(fields []metav1.ManagedFieldsEntry) bool {
	for _, f := range fields {
		if f.Manager == deploy.FieldManager && f.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

// readObjects sets the objects attribute to those of the deployment's objects the cluster has: the
// next plan shows the others, and the apply creates them again.
func (r *deploymentResource) readObjects(ctx context.Context, s *session, m *deploymentModel, importing bool, diags *diag.Diagnostics) {
	refs := m.refs(ctx, diags)
	if diags.HasError() {
		return
	}
	missing, err := s.applier.Missing(ctx, refs)
	if err != nil {
		framework.AddError(diags, framework.Op{Verb: "reading", Kind: kind, ID: m.Namespace.ValueString()}, err)
		return
	}
	if len(missing) > 0 && !importing {
		names := make([]string, len(missing))
		for i, ref := range missing {
			names[i] = ref.String()
		}
		diags.AddWarning("Sandbox Manager Objects Missing",
			fmt.Sprintf("Deleted outside Terraform: %s. The next apply creates them again.", strings.Join(names, ", ")))
	}
	m.Objects = objectsValue(slices.DeleteFunc(refs, func(ref Ref) bool { return slices.Contains(missing, ref) }))
}

// readPools reads the state's pools back (a deleted one leaves the list; the next apply creates it
// again); an import finds the SandboxPools this provider applied.
func (r *deploymentResource) readPools(ctx context.Context, s *session, m *deploymentModel, importing bool, diags *diag.Diagnostics) {
	ns := m.SandboxNamespace.ValueString()
	res, err := s.applier.resource(ctx, Ref{GVK: sandboxPoolGVK, Namespace: ns}, 0)
	if meta.IsNoMatchError(err) && !importing {
		err = nil // the CRD was deleted, and its pools with it: res stays nil
	}
	if err != nil {
		diags.AddError("Error reading sandbox pools", fmt.Sprintf("While reading the SandboxPools in %s: %v", ns, err))
		return
	}
	var out []poolModel
	if importing {
		list, err := res.List(ctx, metav1.ListOptions{})
		if err != nil {
			diags.AddError("Error reading sandbox pools", fmt.Sprintf("While listing the SandboxPools in %s: %v", ns, err))
			return
		}
		for _, p := range list.Items {
			if !appliedByUs(p.GetManagedFields()) {
				continue // a pool of the manager's admin API (sandbox_pool)
			}
			tmpl, _, _ := unstructuredString(p.Object, "spec", "template")
			size, _, _ := unstructuredInt(p.Object, "spec", "size")
			name := types.StringValue(p.GetName())
			if p.GetName() == tmpl {
				name = types.StringNull()
			}
			out = append(out, poolModel{Name: name, Template: types.StringValue(tmpl), Size: types.Int64Value(size)})
		}
	} else if res != nil {
		for _, p := range m.pools(ctx, diags) {
			name := p.Name.ValueString()
			if name == "" {
				name = p.Template.ValueString()
			}
			obj, err := res.Get(ctx, name, getOptions)
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				diags.AddError("Error reading sandbox pools", fmt.Sprintf("While reading SandboxPool %s/%s: %v", ns, name, err))
				return
			}
			tmpl, _, _ := unstructuredString(obj.Object, "spec", "template")
			size, _, _ := unstructuredInt(obj.Object, "spec", "size")
			out = append(out, poolModel{Name: p.Name, Template: types.StringValue(tmpl), Size: types.Int64Value(size)})
		}
	}
	if len(out) == 0 && m.Pools.IsNull() {
		return // no pools configured, none found
	}
	list, d := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: poolAttrTypes}, out)
	diags.Append(d...)
	m.Pools = list
}

func unstructuredString(obj map[string]any, fields ...string) (string, bool, error) {
	return unstructured.NestedString(obj, fields...)
}

func unstructuredInt(obj map[string]any, fields ...string) (int64, bool, error) {
	return unstructured.NestedInt64(obj, fields...)
}
