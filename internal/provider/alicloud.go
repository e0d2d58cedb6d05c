package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/providervalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/alicloud"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
)

// alicloudModel is the alicloud block.
type alicloudModel struct {
	Region    types.String            `tfsdk:"region"`
	AccessKey types.String            `tfsdk:"access_key"`
	SecretKey types.String            `tfsdk:"secret_key"`
	Endpoints *alicloudEndpointsModel `tfsdk:"endpoints"`
}

type alicloudEndpointsModel struct {
	VPC    types.String `tfsdk:"vpc"`
	ECS    types.String `tfsdk:"ecs"`
	CS     types.String `tfsdk:"cs"`
	Alidns types.String `tfsdk:"alidns"`
	CAS    types.String `tfsdk:"cas"`
}

// alicloudBlock is the provider's alicloud block. Every attribute is optional: what is left out comes
// from the ALIBABA_CLOUD_* environment variables when an Alibaba Cloud resource first needs a client.
func alicloudBlock() schema.Block {
	names := map[string]string{"vpc": "VPC (vSwitches too)", "ecs": "ECS (security groups)", "cs": "Container Service (ACS clusters)",
		"alidns": "Alidns", "cas": "Certificate Management Service"}
	endpoints := map[string]schema.Attribute{}
	for _, p := range alicloud.Products {
		endpoints[p] = schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "Endpoint that replaces the region's " + names[p] + " endpoint: a URL such as " +
				"`https://" + p + ".cn-hangzhou.aliyuncs.com` or `http://127.0.0.1:8080` (a local fake), or a host name " +
				"(HTTPS). Defaults to the `" + alicloud.EnvEndpoint(p) + "` environment variable, then the SDK's regional endpoint.",
			Validators: []validator.String{endpointValidator{}},
		}
	}
	return schema.SingleNestedBlock{
		MarkdownDescription: "Alibaba Cloud settings for the `sandbox_alicloud_*` resources and data sources. Every setting " +
			"is optional and falls back to an environment variable: `" + alicloud.EnvRegion + "`, `" + alicloud.EnvAccessKey +
			"`, `" + alicloud.EnvSecretKey + "` and `ALIBABA_CLOUD_ENDPOINT_<PRODUCT>`. Nothing is read and Alibaba Cloud is " +
			"not contacted unless the configuration has an Alibaba Cloud resource or data source. Requests use HTTPS unless " +
			"an endpoint says `http://`.",
		Attributes: map[string]schema.Attribute{
			"region": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Region ID, for example `cn-hangzhou` or `ap-southeast-1`. Defaults to the `" +
					alicloud.EnvRegion + "` environment variable.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"access_key": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "AccessKey ID of a RAM user, set together with `secret_key`. Defaults to the `" +
					alicloud.EnvAccessKey + "` environment variable (prefer it to keeping keys in configuration).",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"secret_key": schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				MarkdownDescription: "AccessKey secret, set together with `access_key`. Defaults to the `" + alicloud.EnvSecretKey +
					"` environment variable.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
		},
		Blocks: map[string]schema.Block{
			"endpoints": schema.SingleNestedBlock{
				MarkdownDescription: "Per-product endpoints that replace Alibaba Cloud's regional ones.",
				Attributes:          endpoints,
			},
		},
	}
}

func alicloudConfigValidators() []provider.ConfigValidator {
	return []provider.ConfigValidator{
		providervalidator.RequiredTogether(
			path.MatchRoot("alicloud").AtName("access_key"),
			path.MatchRoot("alicloud").AtName("secret_key"),
		),
	}
}

// alicloudSettingsOf reads the alicloud block; unknown values are errors, because a provider is
// configured at plan time.
func alicloudSettingsOf(m *alicloudModel, diags *diag.Diagnostics) framework.AlibabaSettings {
	if m == nil {
		return framework.AlibabaSettings{}
	}
	get := func(v types.String, p path.Path, env string) string {
		if v.IsUnknown() {
			diags.AddAttributeError(p, "Unknown Alibaba Cloud Setting",
				p.String()+" depends on a value that is known only after apply, and a provider must be configured at "+
					"plan time. Set it to a static value or with the "+env+" environment variable.")
			return ""
		}
		return v.ValueString()
	}
	root := path.Root("alicloud")
	s := framework.AlibabaSettings{
		Region:    get(m.Region, root.AtName("region"), alicloud.EnvRegion),
		AccessKey: get(m.AccessKey, root.AtName("access_key"), alicloud.EnvAccessKey),
		SecretKey: get(m.SecretKey, root.AtName("secret_key"), alicloud.EnvSecretKey),
	}
	if e := m.Endpoints; e != nil {
		ep := root.AtName("endpoints")
		s.Endpoints = framework.AlibabaEndpoints{
			VPC:    get(e.VPC, ep.AtName("vpc"), alicloud.EnvEndpoint("vpc")),
			ECS:    get(e.ECS, ep.AtName("ecs"), alicloud.EnvEndpoint("ecs")),
			CS:     get(e.CS, ep.AtName("cs"), alicloud.EnvEndpoint("cs")),
			Alidns: get(e.Alidns, ep.AtName("alidns"), alicloud.EnvEndpoint("alidns")),
			CAS:    get(e.CAS, ep.AtName("cas"), alicloud.EnvEndpoint("cas")),
		}
	}
	return s
}

// endpointValidator accepts what alicloud.ParseEndpoint accepts.
type endpointValidator struct{}

func (endpointValidator) Description(context.Context) string {
	return "value must be an https:// or http:// URL with only a host and port, or a host name"
}

func (v endpointValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (endpointValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := alicloud.ParseEndpoint(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Endpoint",
			"Expected a URL such as https://vpc.cn-hangzhou.aliyuncs.com or http://127.0.0.1:8080, or a host name: "+err.Error()+".")
	}
}
