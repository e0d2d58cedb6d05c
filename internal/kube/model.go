package kube

import (
	"context"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/sandboxstack/terraform-provider-sandbox/deploy"
)

type deploymentModel struct {
	ID                     types.String   `tfsdk:"id"`
	Kubeconfig             types.String   `tfsdk:"kubeconfig"`
	Host                   types.String   `tfsdk:"host"`
	ClusterCACertificate   types.String   `tfsdk:"cluster_ca_certificate"`
	Token                  types.String   `tfsdk:"token"`
	Namespace              types.String   `tfsdk:"namespace"`
	SandboxNamespace       types.String   `tfsdk:"sandbox_namespace"`
	Image                  types.String   `tfsdk:"image"`
	ImageTag               types.String   `tfsdk:"image_tag"`
	Replicas               types.Int64    `tfsdk:"replicas"`
	Domain                 types.String   `tfsdk:"domain"`
	TLSCertificate         types.String   `tfsdk:"tls_certificate"`
	TLSPrivateKey          types.String   `tfsdk:"tls_private_key"`
	TLSPrivateKeyWO        types.String   `tfsdk:"tls_private_key_wo"`
	TLSPrivateKeyWOVersion types.Int64    `tfsdk:"tls_private_key_wo_version"`
	Service                types.Object   `tfsdk:"service"`
	Resources              types.Object   `tfsdk:"resources"`
	TemplateImages         types.Object   `tfsdk:"template_images"`
	Pools                  types.List     `tfsdk:"pools"`
	WaitForRollout         types.Bool     `tfsdk:"wait_for_rollout"`
	Timeouts               timeouts.Value `tfsdk:"timeouts"`

	E2BDomain            types.String `tfsdk:"e2b_domain"`
	APIURL               types.String `tfsdk:"api_url"`
	ManagerEndpoint      types.String `tfsdk:"manager_endpoint"`
	LoadBalancerIP       types.String `tfsdk:"load_balancer_ip"`
	LoadBalancerHostname types.String `tfsdk:"load_balancer_hostname"`
	LoadBalancerAddress  types.String `tfsdk:"load_balancer_address"`
	DNSRecordType        types.String `tfsdk:"dns_record_type"`
	ManagerAddress       types.String `tfsdk:"manager_address"`
	AdminKey             types.String `tfsdk:"admin_key"`
	Objects              types.List   `tfsdk:"objects"`
}

type serviceModel struct {
	Type                     types.String `tfsdk:"type"`
	Annotations              types.Map    `tfsdk:"annotations"`
	LoadBalancerSourceRanges types.List   `tfsdk:"load_balancer_source_ranges"`
}

type resourcesModel struct {
	CPURequest    types.String `tfsdk:"cpu_request"`
	MemoryRequest types.String `tfsdk:"memory_request"`
	CPULimit      types.String `tfsdk:"cpu_limit"`
	MemoryLimit   types.String `tfsdk:"memory_limit"`
}

type templateImagesModel struct {
	Registry  types.String `tfsdk:"registry"`
	Tag       types.String `tfsdk:"tag"`
	EnvdImage types.String `tfsdk:"envd_image"`
}

type poolModel struct {
	Name     types.String `tfsdk:"name"`
	Template types.String `tfsdk:"template"`
	Size     types.Int64  `tfsdk:"size"`
}

func (m *deploymentModel) connection() Connection {
	return Connection{Kubeconfig: m.Kubeconfig.ValueString(), Host: m.Host.ValueString(),
		CAPEM: m.ClusterCACertificate.ValueString(), Token: m.Token.ValueString()}
}

func (m *deploymentModel) service(ctx context.Context, diags *diag.Diagnostics) serviceModel {
	var s serviceModel
	if !m.Service.IsNull() && !m.Service.IsUnknown() {
		diags.Append(m.Service.As(ctx, &s, basetypes.ObjectAsOptions{})...)
	}
	if s.Type.ValueString() == "" {
		s.Type = types.StringValue(deploy.ServiceLoadBalancer)
	}
	return s
}

func (m *deploymentModel) tls() bool { return m.TLSCertificate.ValueString() != "" }

// deployConfig is the deploy.Config of the model. adminKey and privateKey are the Secrets' values;
// with externalSecrets (for the objects' references alone) they are left out.
func (m *deploymentModel) deployConfig(ctx context.Context, adminKey, privateKey string, externalSecrets bool, diags *diag.Diagnostics) deploy.Config {
	svc := m.service(ctx, diags)
	c := deploy.Config{
		Namespace:        m.Namespace.ValueString(),
		SandboxNamespace: m.SandboxNamespace.ValueString(),
		Image:            m.Image.ValueString() + ":" + m.ImageTag.ValueString(),
		Replicas:         int32(m.Replicas.ValueInt64()),
		Domain:           m.Domain.ValueString(),
		Service:          deploy.Service{Type: svc.Type.ValueString()},
		ExternalSecrets:  externalSecrets,
	}
	if !externalSecrets {
		c.AdminKey = adminKey
		if m.tls() {
			c.TLSCertificatePEM, c.TLSPrivateKeyPEM = []byte(m.TLSCertificate.ValueString()), []byte(privateKey)
		}
	}
	diags.Append(svc.Annotations.ElementsAs(ctx, &c.Service.Annotations, false)...)
	diags.Append(svc.LoadBalancerSourceRanges.ElementsAs(ctx, &c.Service.LoadBalancerSourceRanges, false)...)
	if !m.Resources.IsNull() && !m.Resources.IsUnknown() {
		var r resourcesModel
		diags.Append(m.Resources.As(ctx, &r, basetypes.ObjectAsOptions{})...)
		c.Resources = deploy.Resources{CPURequest: r.CPURequest.ValueString(), MemoryRequest: r.MemoryRequest.ValueString(),
			CPULimit: r.CPULimit.ValueString(), MemoryLimit: r.MemoryLimit.ValueString()}
	}
	if !m.TemplateImages.IsNull() && !m.TemplateImages.IsUnknown() {
		var t templateImagesModel
		diags.Append(m.TemplateImages.As(ctx, &t, basetypes.ObjectAsOptions{})...)
		c.TemplateRegistry, c.TemplateTag, c.EnvdImage = t.Registry.ValueString(), t.Tag.ValueString(), t.EnvdImage.ValueString()
	}
	for _, p := range m.pools(ctx, diags) {
		c.Pools = append(c.Pools, deploy.Pool{Name: p.Name.ValueString(), Template: p.Template.ValueString(), Size: int32(p.Size.ValueInt64())})
	}
	return c
}

func (m *deploymentModel) pools(ctx context.Context, diags *diag.Diagnostics) []poolModel {
	var pools []poolModel
	if !m.Pools.IsNull() && !m.Pools.IsUnknown() {
		diags.Append(m.Pools.ElementsAs(ctx, &pools, false)...)
	}
	return pools
}

// refs are the references of every object the model's deployment consists of, in apply order: the
// objects of deploy.Objects and the Secrets.
func (m *deploymentModel) refs(ctx context.Context, diags *diag.Diagnostics) []Ref {
	c := m.deployConfig(ctx, "", "", true, diags)
	if diags.HasError() {
		return nil
	}
	objs, err := deploy.Objects(c)
	if err != nil {
		diags.AddError("Invalid Deployment Settings", err.Error())
		return nil
	}
	refs := RefsOf(objs)
	secrets := []Ref{coreRef("Secret", c.Namespace, deploy.AdminKeySecret)}
	if m.tls() {
		secrets = append(secrets, coreRef("Secret", c.Namespace, deploy.TLSSecret))
	}
	// Before the Deployment, where deploy.Objects puts them.
	i := slices.IndexFunc(refs, func(r Ref) bool { return r.GVK.Kind == "Deployment" })
	return slices.Insert(refs, max(i, 0), secrets...)
}

// refsKnown reports whether the attributes that name the objects (namespaces, the Service, TLS, the
// pools) are known, so that refs lists them all.
func (m *deploymentModel) refsKnown() bool {
	for _, v := range []attr.Value{m.Namespace, m.SandboxNamespace, m.Service, m.TLSCertificate, m.Pools} {
		if v.IsUnknown() {
			return false
		}
	}
	if m.Pools.IsNull() {
		return true
	}
	for _, p := range m.Pools.Elements() {
		o, ok := p.(types.Object)
		if !ok || o.IsUnknown() {
			return false
		}
		for _, name := range []string{"name", "template"} {
			if v, ok := o.Attributes()[name]; !ok || v.IsUnknown() {
				return false
			}
		}
	}
	return true
}

// objectsValue is the objects attribute: refs as "Kind namespace/name".
func objectsValue(refs []Ref) types.List {
	names := make([]attr.Value, len(refs))
	for i, r := range refs {
		names[i] = types.StringValue(r.String())
	}
	return types.ListValueMust(types.StringType, names)
}

// hasObject reports whether the objects attribute lists ref; a state without the attribute (written
// before it existed) lists everything.
func (m *deploymentModel) hasObject(ref Ref) bool {
	if m.Objects.IsNull() || m.Objects.IsUnknown() {
		return true
	}
	return slices.Contains(m.Objects.Elements(), attr.Value(types.StringValue(ref.String())))
}

// coreRef names an object of the core API group (v1).
func coreRef(kind, namespace, name string) Ref {
	r := Ref{Namespace: namespace, Name: name}
	r.GVK.Version, r.GVK.Kind = "v1", kind
	return r
}

func objectValue(attrTypes map[string]attr.Type, values map[string]attr.Value) types.Object {
	return basetypes.NewObjectValueMust(attrTypes, values)
}
