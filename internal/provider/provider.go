// Package provider is the `sandbox` Terraform provider: its schema, configuration and the registry of
// resources and data sources. Resources arrive with their issues (pools, keys, clouds, clusters).
package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// Address is the provider's registry address.
const Address = "registry.terraform.io/sandboxstack/sandbox"

// Provider is the `sandbox` provider.
type Provider struct {
	version string
}

var _ provider.Provider = (*Provider)(nil)

// New returns a constructor the plugin server calls once per Terraform operation.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &Provider{version: version} }
}

// Metadata names the provider type `sandbox`.
func (p *Provider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "sandbox"
	resp.Version = p.version
}

// Schema has no attributes yet; per-cloud and manager blocks arrive with their resources.
func (p *Provider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Runs E2B-compatible sandboxes for AI agents on your own infrastructure: sandbox pools and API keys on a sandbox manager, and the cloud resources that host it.",
	}
}

// Configure has nothing to configure yet.
func (p *Provider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}

// Resources lists the provider's resources.
func (p *Provider) Resources(context.Context) []func() resource.Resource { return nil }

// DataSources lists the provider's data sources.
func (p *Provider) DataSources(context.Context) []func() datasource.DataSource { return nil }
