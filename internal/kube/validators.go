package kube

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
)

type cidrValidator struct{}

func (cidrValidator) Description(context.Context) string {
	return "must be a CIDR such as 203.0.113.0/24"
}
func (v cidrValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v cidrValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, _, err := net.ParseCIDR(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid CIDR", fmt.Sprintf("%q %s.", req.ConfigValue.ValueString(), v.Description(ctx)))
	}
}

type quantityValidator struct{}

func (quantityValidator) Description(context.Context) string {
	return "must be a positive Kubernetes quantity such as 500m, 1, 256Mi"
}
func (v quantityValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v quantityValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if q, err := k8sresource.ParseQuantity(req.ConfigValue.ValueString()); err != nil || q.Sign() <= 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Quantity", fmt.Sprintf("%q %s.", req.ConfigValue.ValueString(), v.Description(ctx)))
	}
}

// ValidateConfig checks what the attribute validators cannot see alone: the TLS pair goes together
// and matches.
func (r *deploymentResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m deploymentModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	key := m.TLSPrivateKey
	keyAttr := "tls_private_key"
	if !m.TLSPrivateKeyWO.IsNull() {
		key, keyAttr = m.TLSPrivateKeyWO, "tls_private_key_wo"
	}
	switch cert := m.TLSCertificate; {
	case cert.IsUnknown() || key.IsUnknown():
	case cert.IsNull() && !key.IsNull():
		resp.Diagnostics.AddAttributeError(path.Root(keyAttr), "Private Key Without Certificate",
			keyAttr+" is set but tls_certificate is not: set both (HTTPS) or neither (HTTP only).")
	case !cert.IsNull() && key.IsNull():
		resp.Diagnostics.AddAttributeError(path.Root("tls_certificate"), "Certificate Without Private Key",
			"tls_certificate is set without its key: set tls_private_key_wo (or tls_private_key).")
	case !cert.IsNull():
		if _, err := tls.X509KeyPair([]byte(cert.ValueString()), []byte(key.ValueString())); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root(keyAttr), "Invalid TLS Certificate or Key",
				fmt.Sprintf("tls_certificate and %s are not a PEM certificate chain and its private key: %v.", keyAttr, err))
		}
	}
	if ns, sns := m.Namespace, m.SandboxNamespace; !ns.IsUnknown() && !sns.IsUnknown() &&
		ns.ValueString() == sns.ValueString() && !ns.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("sandbox_namespace"), "Sandbox Namespace Is the Manager's",
			"namespace and sandbox_namespace are both "+ns.String()+": the sandboxes need a namespace of their own (its "+
				"NetworkPolicies and Pod Security level are theirs).")
	}
	if !m.TLSPrivateKeyWOVersion.IsNull() && m.TLSPrivateKeyWO.IsNull() {
		resp.Diagnostics.AddAttributeWarning(path.Root("tls_private_key_wo_version"), "Version Without Write-Only Key",
			"tls_private_key_wo_version has an effect only with tls_private_key_wo.")
	}
}
