package provider

import (
	"context"
	"net/url"

	"github.com/hashicorp/terraform-plugin-framework-validators/providervalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/aws"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
)

// awsBlock is the provider's aws block. Every attribute is optional: what is left out comes from the
// standard AWS chain, when an AWS resource first needs a client.
func awsBlock() schema.Block {
	endpoint := func(service, env string) schema.StringAttribute {
		return schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "URL that replaces the " + service + " endpoint (a VPC endpoint, a proxy, or a local fake). " +
				"Defaults to the `" + env + "` environment variable, then `AWS_ENDPOINT_URL`, then the region's AWS endpoint.",
			Validators: []validator.String{urlValidator{}},
		}
	}
	return schema.SingleNestedBlock{
		MarkdownDescription: "AWS settings for the `sandbox_aws_*` resources and data sources. Every setting is optional " +
			"and falls back to the standard AWS chain: `AWS_REGION`, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/" +
			"`AWS_SESSION_TOKEN`, `AWS_PROFILE`, the shared config and credentials files, `AWS_ENDPOINT_URL_*`, and " +
			"instance or container roles. Nothing is loaded and AWS is not contacted unless the configuration has an " +
			"AWS resource or data source.",
		Attributes: map[string]schema.Attribute{
			"region": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "AWS region, for example `eu-west-1`. Defaults to the `" + aws.EnvRegion + "` environment " +
					"variable, then the profile's region in the shared config file.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"profile": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Named profile of the shared config and credentials files (`~/.aws/config`, " +
					"`~/.aws/credentials`). Defaults to the `" + aws.EnvProfile + "` environment variable.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"access_key": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Access key ID, set together with `secret_key`. Defaults to the `" + aws.EnvAccessKey +
					"` environment variable (prefer it, or a profile, to keeping keys in configuration).",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"secret_key": schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				MarkdownDescription: "Secret access key, set together with `access_key`. Defaults to the `" + aws.EnvSecretKey +
					"` environment variable.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
		},
		Blocks: map[string]schema.Block{
			"endpoints": schema.SingleNestedBlock{
				MarkdownDescription: "Per-service endpoint URLs that replace AWS's.",
				Attributes: map[string]schema.Attribute{
					"ec2":     endpoint("EC2", "AWS_ENDPOINT_URL_EC2"),
					"route53": endpoint("Route 53", "AWS_ENDPOINT_URL_ROUTE_53"),
					"sts":     endpoint("STS", "AWS_ENDPOINT_URL_STS"),
				},
			},
		},
	}
}

func awsConfigValidators() []provider.ConfigValidator {
	return []provider.ConfigValidator{
		providervalidator.RequiredTogether(
			path.MatchRoot("aws").AtName("access_key"),
			path.MatchRoot("aws").AtName("secret_key"),
		),
	}
}

// awsSettingsOf reads the aws block; unknown values are errors, because a provider is configured
// at plan time.
func awsSettingsOf(m *awsModel, diags *diag.Diagnostics) framework.AWSSettings {
	if m == nil {
		return framework.AWSSettings{}
	}
	get := func(v types.String, p path.Path, env string) string {
		if v.IsUnknown() {
			hint := ""
			if env != "" {
				hint = " or with the " + env + " environment variable"
			}
			diags.AddAttributeError(p, "Unknown AWS Setting",
				p.String()+" depends on a value that is known only after apply, and a provider must be "+
					"configured at plan time. Set it to a static value"+hint+".")
			return ""
		}
		return v.ValueString()
	}
	root := path.Root("aws")
	s := framework.AWSSettings{
		Region:    get(m.Region, root.AtName("region"), aws.EnvRegion),
		Profile:   get(m.Profile, root.AtName("profile"), aws.EnvProfile),
		AccessKey: get(m.AccessKey, root.AtName("access_key"), aws.EnvAccessKey),
		SecretKey: get(m.SecretKey, root.AtName("secret_key"), aws.EnvSecretKey),
	}
	if e := m.Endpoints; e != nil {
		ep := root.AtName("endpoints")
		s.Endpoints = framework.AWSEndpoints{
			EC2:     get(e.EC2, ep.AtName("ec2"), "AWS_ENDPOINT_URL_EC2"),
			Route53: get(e.Route53, ep.AtName("route53"), "AWS_ENDPOINT_URL_ROUTE_53"),
			STS:     get(e.STS, ep.AtName("sts"), "AWS_ENDPOINT_URL_STS"),
		}
	}
	return s
}

// urlValidator accepts absolute http(s) URLs.
type urlValidator struct{}

func (urlValidator) Description(context.Context) string {
	return "value must be an http:// or https:// URL"
}

func (v urlValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (urlValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	u, err := url.Parse(req.ConfigValue.ValueString())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Endpoint URL",
			"Expected an absolute http:// or https:// URL such as https://ec2.eu-west-1.amazonaws.com or "+
				"http://127.0.0.1:4566, got "+req.ConfigValue.String()+".")
	}
}
