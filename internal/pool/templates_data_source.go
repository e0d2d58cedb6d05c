package pool

import (
	"context"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/sandboxstack/terraform-provider-sandbox/internal/framework"
)

var (
	_ datasource.DataSource              = (*templatesDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*templatesDataSource)(nil)
)

// NewTemplatesDataSource is the sandbox_templates data source.
func NewTemplatesDataSource() datasource.DataSource {
	return &templatesDataSource{DataSourceBase: framework.NewDataSourceBase("templates")}
}

type templatesDataSource struct {
	framework.DataSourceBase
}

type templatesModel struct {
	managerLocation
	Templates []templateModel `tfsdk:"templates"`
	Available []types.String  `tfsdk:"available"`
}

type templateModel struct {
	Name      types.String   `tfsdk:"name"`
	Aliases   []types.String `tfsdk:"aliases"`
	Available types.Bool     `tfsdk:"available"`
	Reason    types.String   `tfsdk:"reason"`
	CPUCount  types.Int64    `tfsdk:"cpu_count"`
	MemoryMB  types.Int64    `tfsdk:"memory_mb"`
}

func (d *templatesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The templates a sandbox manager knows, and whether it can run each of them now (the local " +
			"runtime, for example, needs host programs such as chromium for `browser`).",
		Attributes: withAttributes(map[string]schema.Attribute{
			"available": schema.ListAttribute{
				Computed:            true,
				ElementType:         types.StringType,
				MarkdownDescription: "Names of the templates the manager can run now, sorted.",
			},
			"templates": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "Every template, sorted by name.",
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name": schema.StringAttribute{
							Computed:            true,
							MarkdownDescription: "The template's name (its E2B template ID).",
						},
						"aliases": schema.ListAttribute{
							Computed:            true,
							ElementType:         types.StringType,
							MarkdownDescription: "Other names the template answers to.",
						},
						"available": schema.BoolAttribute{
							Computed:            true,
							MarkdownDescription: "Whether the manager can start sandboxes of this template now.",
						},
						"reason": schema.StringAttribute{
							Computed:            true,
							MarkdownDescription: "Why the template is not available (empty when it is), for example a missing host program.",
						},
						"cpu_count": schema.Int64Attribute{
							Computed:            true,
							MarkdownDescription: "vCPUs a sandbox of this template gets.",
						},
						"memory_mb": schema.Int64Attribute{
							Computed:            true,
							MarkdownDescription: "Memory a sandbox of this template gets, in MiB.",
						},
					},
				},
			},
		}, managerDataSourceAttributes()),
	}
}

func (d *templatesDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg templatesModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	c := cfg.client(d.ProviderData().Manager, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ts, err := c.Templates(ctx)
	if err != nil {
		addClientError(&resp.Diagnostics, c, "listing templates", err)
		return
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].TemplateID < ts[j].TemplateID })
	cfg.Templates = make([]templateModel, 0, len(ts))
	cfg.Available = []types.String{}
	for _, t := range ts {
		aliases := make([]types.String, 0, len(t.Aliases))
		for _, a := range t.Aliases {
			aliases = append(aliases, types.StringValue(a))
		}
		cfg.Templates = append(cfg.Templates, templateModel{
			Name:      types.StringValue(t.TemplateID),
			Aliases:   aliases,
			Available: types.BoolValue(t.Available),
			Reason:    types.StringValue(t.Reason),
			CPUCount:  types.Int64Value(t.CPUCount),
			MemoryMB:  types.Int64Value(t.MemoryMB),
		})
		if t.Available {
			cfg.Available = append(cfg.Available, types.StringValue(t.TemplateID))
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &cfg)...)
}
