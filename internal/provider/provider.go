// Package provider is the `sandbox` Terraform provider: its schema, configuration and the registry of
// resources and data sources.
//
// Provider configuration holds only settings that are known at plan time. Each area has its own
// optional block (`manager`, `aws`, `alicloud`) and resources that might talk to something
// created in the same apply accept the same settings themselves. Configure hands every resource
// one *framework.ProviderData.
package provider

import (
	"context"
	"os"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/acme/acmeresource"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/alicloud"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/aws"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/kube"
	"github.com/sandboxstack/terraform-provider-sandbox/internal/pool"
)

// Address is the provider's registry address.
const Address = "registry.terraform.io/sandboxstack/sandbox"

// Provider is the `sandbox` provider.
type Provider struct {
	version string
	timing  framework.Timing
}

var (
	_ provider.Provider                     = (*Provider)(nil)
	_ provider.ProviderWithConfigValidators = (*Provider)(nil)
)

// Option changes how the provider is built; for tests (nothing user-facing sets one).
type Option func(*Provider)

// WithTiming paces every waiter and retry (tests against fakes shorten the waits).
func WithTiming(t framework.Timing) Option { return func(p *Provider) { p.timing = t } }

// New returns a constructor the plugin server calls once per Terraform operation.
func New(version string, opts ...Option) func() provider.Provider {
	return func() provider.Provider {
		p := &Provider{version: version}
		for _, o := range opts {
			o(p)
		}
		return p
	}
}

// providerModel is the provider block.
type providerModel struct {
	Manager  *managerModel  `tfsdk:"manager"`
	AWS      *awsModel      `tfsdk:"aws"`
	Alicloud *alicloudModel `tfsdk:"alicloud"`
}

// managerModel is the manager block.
type managerModel struct {
	Endpoint       types.String `tfsdk:"endpoint"`
	AdminKey       types.String `tfsdk:"admin_key"`
	ConnectAddress types.String `tfsdk:"connect_address"`
	CACertificate  types.String `tfsdk:"ca_certificate"`
}

// awsModel is the aws block.
type awsModel struct {
	Region    types.String       `tfsdk:"region"`
	Profile   types.String       `tfsdk:"profile"`
	AccessKey types.String       `tfsdk:"access_key"`
	SecretKey types.String       `tfsdk:"secret_key"`
	Endpoints *awsEndpointsModel `tfsdk:"endpoints"`
}

type awsEndpointsModel struct {
	EC2     types.String `tfsdk:"ec2"`
	Route53 types.String `tfsdk:"route53"`
	STS     types.String `tfsdk:"sts"`
}

// Metadata names the provider type `sandbox`.
func (p *Provider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "sandbox"
	resp.Version = p.version
}

// Schema is the provider block.
func (p *Provider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Runs E2B-compatible sandboxes for AI agents on your own infrastructure: sandbox pools and API keys on a sandbox manager, and the cloud resources that host it.",
		MarkdownDescription: "Runs E2B-compatible sandboxes for AI agents on your own infrastructure: sandbox pools and API " +
			"keys on a sandbox manager, and the cloud resources that host it.\n\n" +
			"Every block is optional. Settings must be known at plan time; for a manager created in the same " +
			"configuration, set `endpoint`, `admin_key`, `connect_address` and `ca_certificate` on the resources instead.",
		Blocks: map[string]schema.Block{
			"manager": schema.SingleNestedBlock{
				MarkdownDescription: "Default sandbox manager for `sandbox_pool`, `sandbox_api_key` and `sandbox_templates` " +
					"(each can name its own with `endpoint`, `admin_key`, `connect_address` and `ca_certificate`).",
				Attributes: map[string]schema.Attribute{
					"endpoint": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: "URL of the sandbox manager, for example `http://127.0.0.1:3000` for `make run`. " +
							"Defaults to the `" + pool.EnvEndpoint + "` environment variable.",
						Validators: []validator.String{pool.EndpointValidator()},
					},
					"admin_key": schema.StringAttribute{
						Optional:  true,
						Sensitive: true,
						MarkdownDescription: "Admin key of the sandbox manager: the value of `" + pool.EnvAdminKey + "` the " +
							"manager was started with. Defaults to the `" + pool.EnvAdminKey + "` environment variable.",
						Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
					},
					"connect_address": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: pool.ConnectAddressDescription,
						Validators:          []validator.String{pool.ConnectAddressValidator()},
					},
					"ca_certificate": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: pool.CACertificateDescription,
						Validators:          []validator.String{pool.CACertificateValidator()},
					},
				},
			},
			"aws":      awsBlock(),
			"alicloud": alicloudBlock(),
		},
	}
}

// ConfigValidators checks the aws and alicloud blocks' key pairs at validation time.
func (p *Provider) ConfigValidators(context.Context) []provider.ConfigValidator {
	return append(awsConfigValidators(), alicloudConfigValidators()...)
}

// Configure resolves the manager block against the environment and keeps the aws and alicloud
// blocks. Nothing is contacted here, and no cloud setting is loaded: a configuration without manager
// resources must not need a manager, one without AWS or Alibaba Cloud resources must not need their
// settings (cloud clients are built on first use).
func (p *Provider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m := cfg.Manager
	if m == nil {
		m = &managerModel{Endpoint: types.StringNull(), AdminKey: types.StringNull(), ConnectAddress: types.StringNull(),
			CACertificate: types.StringNull()}
	}
	unknown := func(v types.String, attr, env string) {
		if !v.IsUnknown() {
			return
		}
		how := "Set it to a static value"
		if env != "" {
			how += " or with the " + env + " environment variable"
		}
		resp.Diagnostics.AddAttributeError(path.Root("manager").AtName(attr), "Unknown Sandbox Manager "+attr,
			"manager."+attr+" depends on a value that is known only after apply, and a provider must be configured at "+
				"plan time. "+how+", or set "+attr+" on each sandbox_pool / sandbox_api_key / sandbox_templates instead.")
	}
	unknown(m.Endpoint, "endpoint", pool.EnvEndpoint)
	unknown(m.AdminKey, "admin_key", pool.EnvAdminKey)
	unknown(m.ConnectAddress, "connect_address", "")
	unknown(m.CACertificate, "ca_certificate", "")
	awsSettings := awsSettingsOf(cfg.AWS, &resp.Diagnostics)
	alicloudSettings := alicloudSettingsOf(cfg.Alicloud, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	userAgent := "terraform-provider-sandbox/" + p.version + " (+https://" + Address + ")"
	data := &framework.ProviderData{
		Version:   p.version,
		UserAgent: userAgent,
		Manager: framework.ManagerDefaults{
			Endpoint:       valueOrEnv(m.Endpoint, pool.EnvEndpoint),
			AdminKey:       valueOrEnv(m.AdminKey, pool.EnvAdminKey),
			UserAgent:      userAgent,
			ConnectAddress: m.ConnectAddress.ValueString(),
			CACertificate:  m.CACertificate.ValueString(),
		},
		AWS:     awsSettings,
		Alibaba: alicloudSettings,
		Timing:  p.timing,
	}
	resp.ResourceData = data
	resp.DataSourceData = data
}

func valueOrEnv(v types.String, env string) string {
	if !v.IsNull() && !v.IsUnknown() {
		return v.ValueString()
	}
	return os.Getenv(env)
}

// Resources lists the provider's resources.
func (p *Provider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		pool.NewPoolResource,
		pool.NewAPIKeyResource,
		aws.NewVPCResource,
		aws.NewSubnetResource,
		aws.NewSecurityGroupResource,
		aws.NewRoute53RecordResource,
		acmeresource.NewCertificateResource,
		alicloud.NewVPCResource,
		alicloud.NewVSwitchResource,
		alicloud.NewSecurityGroupResource,
		alicloud.NewDNSRecordResource,
		alicloud.NewACSClusterResource,
		alicloud.NewCASCertificateResource,
		kube.NewManagerDeploymentResource,
	}
}

// DataSources lists the provider's data sources.
func (p *Provider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		pool.NewTemplatesDataSource,
		aws.NewVPCDataSource,
		aws.NewAMIDataSource,
		aws.NewRoute53ZoneDataSource,
		alicloud.NewVPCDataSource,
	}
}
