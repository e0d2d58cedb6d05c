package framework

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// ResourceBase implements Metadata and Configure for a resource that embeds it:
//
//	type vpcResource struct{ framework.ResourceBase }
//	func NewVPCResource() resource.Resource {
//		return &vpcResource{framework.NewResourceBase("aws_vpc")}
//	}
type ResourceBase struct {
	typeSuffix string
	data       *ProviderData
}

// NewResourceBase is the base of the resource <provider>_<typeSuffix>.
func NewResourceBase(typeSuffix string) ResourceBase { return ResourceBase{typeSuffix: typeSuffix} }

// Metadata names the resource type.
func (b *ResourceBase) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + b.typeSuffix
}

// Configure keeps the provider data (nil during validation, when the provider is not configured).
func (b *ResourceBase) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if d := providerData(req.ProviderData, &resp.Diagnostics); d != nil {
		b.data = d
	}
}

// ProviderData is what the provider configured. Before Configure (validation only) it is an
// empty holder, never nil.
func (b *ResourceBase) ProviderData() *ProviderData {
	if b.data == nil {
		b.data = &ProviderData{}
	}
	return b.data
}

// DataSourceBase is ResourceBase for data sources.
type DataSourceBase struct {
	typeSuffix string
	data       *ProviderData
}

// NewDataSourceBase is the base of the data source <provider>_<typeSuffix>.
func NewDataSourceBase(typeSuffix string) DataSourceBase {
	return DataSourceBase{typeSuffix: typeSuffix}
}

// Metadata names the data source type.
func (b *DataSourceBase) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + b.typeSuffix
}

// Configure keeps the provider data.
func (b *DataSourceBase) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	if d := providerData(req.ProviderData, &resp.Diagnostics); d != nil {
		b.data = d
	}
}

// ProviderData is what the provider configured; an empty holder before Configure.
func (b *DataSourceBase) ProviderData() *ProviderData {
	if b.data == nil {
		b.data = &ProviderData{}
	}
	return b.data
}

func providerData(v any, diags *diag.Diagnostics) *ProviderData {
	if v == nil {
		return nil
	}
	d, ok := v.(*ProviderData)
	if !ok {
		diags.AddError("Unexpected Provider Data Type",
			fmt.Sprintf("Expected *framework.ProviderData, got %T. Please report this issue to the provider developers.", v))
		return nil
	}
	return d
}

// WithTimeout bounds ctx by an operation's timeout from the resource's timeouts block. get is the
// block's method for the operation (plan.Timeouts.Create, state.Timeouts.Delete, ...):
//
//	ctx, cancel, timeout := framework.WithTimeout(ctx, plan.Timeouts.Create, 10*time.Minute, &resp.Diagnostics)
//	defer cancel()
func WithTimeout(ctx context.Context, get func(context.Context, time.Duration) (time.Duration, diag.Diagnostics),
	def time.Duration, diags *diag.Diagnostics) (context.Context, context.CancelFunc, time.Duration) {
	timeout, d := get(ctx, def)
	diags.Append(d...)
	if d.HasError() {
		timeout = def
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, cancel, timeout
}
